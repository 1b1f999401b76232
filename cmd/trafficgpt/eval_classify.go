package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/trafficgpt/trafficgpt/internal/classify"
	"github.com/trafficgpt/trafficgpt/internal/plot"
)

func init() {
	register(command{name: "eval classify", summary: "score a classifier on a dataset split, next to a random-forest baseline", run: cmdEvalClassify})
}

type evalClassifyOptions struct {
	classify.ReportOptions
	json, plots string
}

func cmdEvalClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o evalClassifyOptions
	fs := newFlagSet("eval classify", "eval classify --model CLF --data DIR [--split test] [--json OUT] [--plots DIR]",
		"trafficgpt eval classify --model clf --data ds --json report.json --plots plots/", stderr)
	fs.StringVar(&o.Model, "model", "", "classifier directory or .safetensors file")
	fs.StringVar(&o.Data, "data", "", "labelled dataset directory built with the classifier's view")
	fs.StringVar(&o.Split, "split", "test", "split to score")
	fs.StringVar(&o.json, "json", "", "write the JSON report to `file` (- for stdout)")
	fs.StringVar(&o.plots, "plots", "", "write confusion-matrix heat maps (PNG) into `dir`")
	fs.BoolVar(&o.NoBaseline, "no-baseline", false, "skip the random-forest baseline (it re-reads the dataset's captures)")
	fs.IntVar(&o.Batch, "batch", 32, "flows per forward pass")
	fs.IntVar(&o.Baseline.Packets, "baseline-packets", 20, "packets per flow the baseline's features look at")
	fs.IntVar(&o.Baseline.Trees, "trees", 100, "trees of the baseline's random forest")
	fs.Uint64Var(&o.Baseline.Seed, "seed", 1, "seed of the baseline's forest")
	fs.StringVar(&o.Unknown, "unknown", "", "open-set check: a dataset (the classifier's view) of classes it was not trained on; reports AUROC and rejection rates")
	fs.Float64Var(&o.FRR, "frr", 0.01, "with --unknown: false-rejection rate on the valid split at which each open-set score is thresholded")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("unexpected arguments %v", pos)
	}
	if o.Model == "" || o.Data == "" {
		return usageError("need --model CLF and --data DIR")
	}
	if o.Batch < 1 {
		return usageError("--batch must be >= 1")
	}
	if o.FRR < 0 || o.FRR >= 1 {
		return usageError("--frr %v: want a rate in [0, 1)", o.FRR)
	}
	return runEvalClassify(ctx, o, stdout, stderr)
}

func runEvalClassify(ctx context.Context, o evalClassifyOptions, stdout, stderr io.Writer) error {
	var pr *progress
	o.Warn = func(w string) { fmt.Fprintf(stderr, "warning: %s\n", w) }
	o.Progress = func(done, total int) {
		if pr == nil {
			pr = newProgress(stderr, "eval classify", "flows", float64(total))
		}
		pr.add(float64(done)-pr.done, "")
	}
	r, err := classify.EvalReport(ctx, o.ReportOptions)
	pr.finish()
	if err != nil {
		return err
	}
	if o.plots != "" {
		if err := os.MkdirAll(o.plots, 0o755); err != nil {
			return err
		}
		if err := plot.Confusion(filepath.Join(o.plots, "confusion.png"), "classifier ("+r.Split+")", r.Confusion, r.Labels); err != nil {
			return err
		}
		if r.Baseline != nil {
			if err := plot.Confusion(filepath.Join(o.plots, "confusion_baseline.png"), "baseline: random forest ("+r.Split+")",
				r.Baseline.Confusion, r.Baseline.Labels); err != nil {
				return err
			}
		}
	}
	if o.json != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if o.json == "-" {
			_, err = stdout.Write(b)
			return err
		}
		if err := atomicfile.WriteFile(o.json, b); err != nil {
			return err
		}
	}
	printClassReport(stdout, r)
	return nil
}

func printClassReport(w io.Writer, r *classify.Report) {
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
