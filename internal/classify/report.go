package classify

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/metric"
)

// ReportOptions configure EvalReport (`trafficgpt eval classify`).
type ReportOptions struct {
	Model, Data, Split string
	NoBaseline         bool // skip the forest and k-NN baselines
	Batch              int  // flows per forward pass
	Baseline           BaselineOptions
	Unknown            string  // dataset of classes the classifier was not trained on ("": no open-set check)
	FRR                float64 // false-rejection rate the open-set rules are fitted at
	Warn               func(string)
	Progress           func(done, total int) // flows of the split classified so far
}

// Report is the JSON report of eval classify: the classifier's scores at
// the top level (accuracy, macro_precision, macro_recall, macro_f1,
// per_class, confusion, labels), then the context and the baselines.
type Report struct {
	metric.ClassReport
	Model    string          `json:"model"`
	Dataset  string          `json:"dataset"`
	Split    string          `json:"split"`
	Flows    int             `json:"flows"`
	Mode     string          `json:"mode"`
	Context  int             `json:"context"`
	Seconds  float64         `json:"seconds"`
	Baseline *BaselineReport `json:"baseline,omitempty"`
	OpenSet  *OpenSetReport  `json:"open_set,omitempty"`
	KNN      *BaselineReport `json:"knn_baseline,omitempty"`
}

// BaselineReport is a baseline's scores on the same flows.
type BaselineReport struct {
	metric.ClassReport
	Name        string   `json:"name"`
	Packets     int      `json:"packets"`
	Trees       int      `json:"trees"`
	TrainFlows  int      `json:"train_flows"`
	Features    []string `json:"features"`
	Seconds     float64  `json:"seconds"`
	Explanation string   `json:"explanation"`
}

// EvalReport scores the classifier o.Model on split o.Split of dataset
// o.Data, next to the random-forest and k-NN baselines on the same flows
// (unless NoBaseline) and, with o.Unknown, the open-set check.
func EvalReport(ctx context.Context, o ReportOptions) (*Report, error) {
	c, err := Load(o.Model)
	if err != nil {
		return nil, err
	}
	ds, err := dataset.Open(o.Data)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	mapping, err := c.CheckDataset(ds)
	if err != nil {
		return nil, err
	}
	s, err := ds.Split(o.Split)
	if err != nil {
		return nil, err
	}
	if o.Warn != nil {
		for _, w := range ds.Warnings() {
			o.Warn(w)
		}
	}
	t0 := time.Now()
	done := 0
	p, err := c.Evaluate(ctx, s, mapping, o.Batch, func(n int) {
		done += n
		if o.Progress != nil {
			o.Progress(done, s.Len())
		}
	})
	if err != nil {
		return nil, err
	}
	rep, err := metric.Report(p.Labels, p.Preds, len(c.Labels), c.Labels)
	if err != nil {
		return nil, err
	}
	r := &Report{ClassReport: rep, Model: o.Model, Dataset: o.Data, Split: o.Split, Flows: len(p.Labels),
		Mode: c.Meta[MetaMode], Context: c.Context, Seconds: time.Since(t0).Seconds()}
	if !o.NoBaseline {
		t1 := time.Now()
		b, err := Baseline(ctx, ds, o.Split, mapping, len(c.Labels), o.Baseline)
		if err != nil {
			if IsInputError(err) {
				return nil, fmt.Errorf("%w\n(the baseline needs the dataset's captures; --no-baseline skips it)", err)
			}
			return nil, err
		}
		brep, err := metric.Report(b.Pred.Labels, b.Pred.Preds, len(c.Labels), c.Labels)
		if err != nil {
			return nil, err
		}
		r.Baseline = &BaselineReport{ClassReport: brep, Name: b.Name, Packets: b.Packets, Trees: b.Trees, TrainFlows: b.Train,
			Features: b.Features, Seconds: time.Since(t1).Seconds(),
			Explanation: fmt.Sprintf("random forest (%d trees) on sizes, directions and inter-arrival times of the first %d packets plus k-fingerprinting flow features over them; trained on the train split, scored on the same %s flows", b.Trees, b.Packets, o.Split)}
		krep, err := metric.Report(b.KNNPred.Labels, b.KNNPred.Preds, len(c.Labels), c.Labels)
		if err != nil {
			return nil, err
		}
		r.KNN = &BaselineReport{ClassReport: krep, Name: fmt.Sprintf("%d-NN on flow features", b.K), Packets: b.Packets,
			TrainFlows: b.Train, Features: b.Features, Seconds: r.Baseline.Seconds,
			Explanation: fmt.Sprintf("%d nearest neighbours (Euclidean, log-mapped and standardised on the train split) on the random forest's features", b.K)}
	}
	if o.Unknown != "" {
		unk, err := dataset.Open(o.Unknown)
		if err != nil {
			return nil, err
		}
		defer unk.Close()
		if r.OpenSet, err = c.EvaluateOpenSet(ctx, ds, o.Split, mapping, unk, o.FRR, o.Batch); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// WriteText writes the report as the tables eval classify prints: scores
// beside the baselines', per class, the confusion matrix, the open set.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%s on %s (split %s, %d flows, %s, len %d)\n", r.Model, r.Dataset, r.Split, r.Flows, r.Mode, r.Context)
	fmt.Fprintf(w, "\n%-20s %9s %9s %9s %9s\n", "", "accuracy", "macro-P", "macro-R", "macro-F1")
	fmt.Fprintf(w, "%-20s %9.4f %9.4f %9.4f %9.4f\n", "classifier", r.Accuracy, r.MacroPrecision, r.MacroRecall, r.MacroF1)
	if b := r.Baseline; b != nil {
		fmt.Fprintf(w, "%-20s %9.4f %9.4f %9.4f %9.4f\n", "baseline (forest)", b.Accuracy, b.MacroPrecision, b.MacroRecall, b.MacroF1)
	}
	if b := r.KNN; b != nil {
		fmt.Fprintf(w, "%-20s %9.4f %9.4f %9.4f %9.4f\n", "baseline (k-NN)", b.Accuracy, b.MacroPrecision, b.MacroRecall, b.MacroF1)
	}
	fmt.Fprintf(w, "\nper class (classifier%s):\n", map[bool]string{true: " | baseline F1", false: ""}[r.Baseline != nil])
	fmt.Fprintf(w, "  %-22s %9s %9s %9s %8s", "class", "precision", "recall", "F1", "support")
	if r.Baseline != nil {
		fmt.Fprintf(w, " %11s", "baseline F1")
	}
	fmt.Fprintln(w)
	for i, s := range r.PerClass {
		if s.Support == 0 && columnSum(r.Confusion, i) == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-22s %9.4f %9.4f %9.4f %8d", s.Label, s.Precision, s.Recall, s.F1, s.Support)
		if r.Baseline != nil {
			fmt.Fprintf(w, " %11.4f", r.Baseline.PerClass[i].F1)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nconfusion (rows: true, columns: predicted):\n")
	var idx []int
	for i := range r.Labels {
		if r.PerClass[i].Support > 0 || columnSum(r.Confusion, i) > 0 {
			idx = append(idx, i)
		}
	}
	fmt.Fprintf(w, "  %-14s", "")
	for _, j := range idx {
		fmt.Fprintf(w, " %7s", abbrev(r.Labels[j], 7))
	}
	fmt.Fprintln(w)
	for _, i := range idx {
		fmt.Fprintf(w, "  %-14s", abbrev(r.Labels[i], 14))
		for _, j := range idx {
			fmt.Fprintf(w, " %7d", r.Confusion[i][j])
		}
		fmt.Fprintln(w)
	}
	if os := r.OpenSet; os != nil {
		fmt.Fprintf(w, "\nopen set: %d known %s flows vs %d flows of classes never trained on (%s)\n", os.KnownFlows, r.Split, os.UnknownFlows, os.Unknown)
		fmt.Fprintf(w, "  %-12s %-13s %7s %11s %11s %9s %9s\n", "score", "rule", "AUROC", "unknown rej", "known rej", "macro-F1", "closed F1")
		for _, x := range os.Results {
			fmt.Fprintf(w, "  %-12s %-13s %7.4f %10.1f%% %10.1f%% %9.4f %9.4f\n", x.Method, x.Source, x.AUROC, 100*x.RejectedUnknown,
				100*x.RejectedKnown, x.MacroF1, x.ClosedMacroF1)
		}
		fmt.Fprintf(w, "  (fit: threshold at %.1f%% false rejections on the valid split; macro-F1 counts rejected known flows as wrong)\n", 100*os.Results[0].FRR)
	}
	fmt.Fprintf(w, "\n(%.1fs for the classifier", r.Seconds)
	if r.Baseline != nil {
		fmt.Fprintf(w, ", %.1fs for the baseline: %d train flows, %d features", r.Baseline.Seconds, r.Baseline.TrainFlows, len(r.Baseline.Features))
	}
	fmt.Fprintln(w, ")")
}

func columnSum(m [][]int, j int) int {
	s := 0
	for _, row := range m {
		s += row[j]
	}
	return s
}

func abbrev(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.TrimSpace(s[:n-1]) + "~"
}
