package suite

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/plot"
)

// ReportFormat names the layout of suite.json.
const ReportFormat = "trafficgpt-suite-1"

// Report is suite.json.
type Report struct {
	Format        string        `json:"format"`
	Spec          Spec          `json:"spec"` // with defaults filled (and Quick applied)
	Base          string        `json:"base,omitempty"`
	BaseSHA256    string        `json:"base_sha256,omitempty"` // of the base's model file
	Quick         bool          `json:"quick"`
	Methods       []string      `json:"methods"` // the methods run
	ScratchConfig model.Config  `json:"scratch_config"`
	Notes         []string      `json:"notes,omitempty"`
	Tasks         []*TaskReport `json:"tasks"`
	Runs          []Run1        `json:"runs"`
	// Other holds the runs of the earlier OUT/suite.json not (yet) in
	// Runs: while running, every earlier run not taken again, so that an
	// interrupted invocation loses none; once complete, those outside this
	// invocation (other tasks, budgets or seeds, from --tasks, --budgets,
	// --seeds). Not in the tables; an invocation that covers them reuses
	// them.
	Other    []Run1  `json:"other_runs,omitempty"`
	Summary  []Cell  `json:"summary"`
	Started  string  `json:"started"`
	Seconds  float64 `json:"seconds"`
	Complete bool    `json:"complete"` // false while running or after an error
}

// TaskReport describes one task's dataset.
type TaskReport struct {
	Name           string                    `json:"name"`
	Note           string                    `json:"note,omitempty"`
	Dataset        string                    `json:"dataset"`
	DatasetHash    string                    `json:"dataset_hash"`
	Classes        []string                  `json:"classes"`
	Dropped        []string                  `json:"dropped_classes,omitempty"`
	Splits         map[string]map[string]int `json:"splits"` // split -> class -> flows
	AuditClean     bool                      `json:"audit_clean"`
	BuildWarnings  []string                  `json:"build_warnings,omitempty"` // dataset.Build's (split shares off target, skipped files)
	Features       []string                  `json:"features"`
	BuildSeconds   float64                   `json:"build_seconds"`
	FeatureSeconds float64                   `json:"feature_seconds"`
}

// Run1 is one method on one task, budget and seed; scores are on test,
// except ValidF1.
type Run1 struct {
	Task          string  `json:"task"`
	Budget        Budget  `json:"budget"`
	Seed          uint64  `json:"seed"`
	Method        string  `json:"method"`
	TrainFlows    int     `json:"train_flows"`
	FlowsPerClass float64 `json:"flows_per_class"` // mean over the classes with train flows
	ValidF1       float64 `json:"valid_macro_f1"`
	TestF1        float64 `json:"test_macro_f1"`
	TestAcc       float64 `json:"test_accuracy"`
	Param         string  `json:"param,omitempty"`   // what valid chose: k, best epoch
	SameAs        string  `json:"same_as,omitempty"` // budget whose train flows (and runs) these are
	Seconds       float64 `json:"seconds"`
	DatasetHash   string  `json:"dataset_hash"`     // the task dataset's manifest hash
	Settings      string  `json:"settings"`         // what else decides the result (see taskRun.settings)
	Reused        bool    `json:"reused,omitempty"` // taken from an earlier report in OUT
}

// Cell is the mean and sample standard deviation over seeds of one
// (task, method, budget).
type Cell struct {
	Task          string  `json:"task"`
	Method        string  `json:"method"`
	Budget        Budget  `json:"budget"`
	Seeds         int     `json:"seeds"`
	FlowsPerClass float64 `json:"flows_per_class"`
	F1Mean        float64 `json:"test_macro_f1_mean"`
	F1Std         float64 `json:"test_macro_f1_std"`
	AccMean       float64 `json:"test_accuracy_mean"`
	AccStd        float64 `json:"test_accuracy_std"`
}

// summarize recomputes r.Summary from r.Runs.
func (r *Report) summarize() {
	r.Summary = nil
	for _, t := range r.Tasks {
		for _, m := range r.Methods {
			for _, b := range r.Spec.Budgets {
				var f1, acc, fpc []float64
				for _, run := range r.Runs {
					if run.Task == t.Name && run.Method == m && run.Budget == b {
						f1, acc, fpc = append(f1, run.TestF1), append(acc, run.TestAcc), append(fpc, run.FlowsPerClass)
					}
				}
				if len(f1) == 0 {
					continue
				}
				c := Cell{Task: t.Name, Method: m, Budget: b, Seeds: len(f1)}
				c.F1Mean, c.F1Std = meanStd(f1)
				c.AccMean, c.AccStd = meanStd(acc)
				c.FlowsPerClass, _ = meanStd(fpc)
				r.Summary = append(r.Summary, c)
			}
		}
	}
}

// meanStd is the mean and the sample (n-1) standard deviation, 0 for one value.
func meanStd(x []float64) (float64, float64) {
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	ss := 0.0
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(x)-1))
}

func (r *Report) cell(task, method string, b Budget) *Cell {
	for i := range r.Summary {
		c := &r.Summary[i]
		if c.Task == task && c.Method == method && c.Budget == b {
			return c
		}
	}
	return nil
}

// write writes suite.json atomically.
func (r *Report) write(dir string) error {
	r.summarize()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "suite.json"), append(b, '\n'))
}

// TaskMarkdown is a task's section: its classes and split sizes, then
// test macro-F1 and accuracy tables (mean +- std over seeds), one row per
// method and one column per budget.
func (r *Report) TaskMarkdown(t *TaskReport) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "### %s\n\n", t.Name)
	if t.Note != "" {
		fmt.Fprintf(&sb, "%s\n\n", t.Note)
	}
	n := map[string]int{}
	for split, pc := range t.Splits {
		for _, c := range pc {
			n[split] += c
		}
	}
	fmt.Fprintf(&sb, "%d classes; flows train %d, valid %d, test %d; audit %s.\n", len(t.Classes), n["train"], n["valid"], n["test"],
		map[bool]string{true: "clean", false: "LEAKS"}[t.AuditClean])
	if len(t.Dropped) > 0 {
		const show = 12 // suite.json lists them all
		more := ""
		if len(t.Dropped) > show {
			more = fmt.Sprintf(" and %d more (suite.json lists them)", len(t.Dropped)-show)
		}
		fmt.Fprintf(&sb, "%d classes dropped (excluded, or too few flows in some split): %s%s.\n",
			len(t.Dropped), strings.Join(t.Dropped[:min(show, len(t.Dropped))], ", "), more)
	}
	for _, w := range t.BuildWarnings {
		fmt.Fprintf(&sb, "Build warning: %s.\n", w)
	}
	sb.WriteString("\n")
	for _, metricName := range []string{"test macro-F1", "test accuracy"} {
		fmt.Fprintf(&sb, "| %s | ", metricName)
		var cols []string
		for _, b := range r.Spec.Budgets {
			fpc := ""
			for _, m := range r.Methods {
				if c := r.cell(t.Name, m, b); c != nil {
					fpc = fmt.Sprintf(" (%.0f)", c.FlowsPerClass)
					break
				}
			}
			cols = append(cols, b.String()+"/class"+fpc)
		}
		sb.WriteString(strings.Join(cols, " | ") + " |\n|---|" + strings.Repeat("---|", len(cols)) + "\n")
		for _, m := range r.Methods {
			fmt.Fprintf(&sb, "| %s |", MethodTitle[m])
			for _, b := range r.Spec.Budgets {
				c := r.cell(t.Name, m, b)
				switch {
				case c == nil:
					sb.WriteString(" - |")
				case metricName == "test accuracy":
					fmt.Fprintf(&sb, " %s |", meanStdText(c.AccMean, c.AccStd, c.Seeds))
				default:
					fmt.Fprintf(&sb, " %s |", meanStdText(c.F1Mean, c.F1Std, c.Seeds))
				}
			}
			sb.WriteString("\n")
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

func meanStdText(mean, std float64, n int) string {
	if n < 2 {
		return fmt.Sprintf("%.3f", mean)
	}
	return fmt.Sprintf("%.3f ± %.3f", mean, std)
}

// average is the mean over tasks of the per-task mean test macro-F1 of
// (method, budget); ok is false unless every task has that cell.
func (r *Report) average(method string, b Budget) (float64, bool) {
	sum := 0.0
	for _, t := range r.Tasks {
		c := r.cell(t.Name, method, b)
		if c == nil {
			return 0, false
		}
		sum += c.F1Mean
	}
	return sum / float64(max(len(r.Tasks), 1)), len(r.Tasks) > 0
}

// AverageMarkdown is the table of test macro-F1 averaged over tasks (each
// task's mean over seeds, then the mean over tasks) and, with fine-tune
// rows, the checks of issue 20 at 20 flows per class and with all labels:
// fine-tuned >= from scratch + 0.05 on average, fine-tuned >= forest and
// k-NN (both) on every task, linear probe >= forest on average.
func (r *Report) AverageMarkdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "## Average over %d tasks (test macro-F1, mean of the task means)\n\n| method |", len(r.Tasks))
	for _, b := range r.Spec.Budgets {
		fmt.Fprintf(&sb, " %s/class |", b)
	}
	sb.WriteString("\n|---|" + strings.Repeat("---|", len(r.Spec.Budgets)) + "\n")
	for _, m := range r.Methods {
		fmt.Fprintf(&sb, "| %s |", MethodTitle[m])
		for _, b := range r.Spec.Budgets {
			if v, ok := r.average(m, b); ok {
				fmt.Fprintf(&sb, " %.3f |", v)
			} else {
				sb.WriteString(" - |")
			}
		}
		sb.WriteString("\n")
	}
	sb.WriteString("\n")
	if !slices.Contains(r.Methods, Finetune) {
		return sb.String()
	}
	sb.WriteString("Checks (issue 20):\n\n")
	mark := map[bool]string{true: "yes", false: "**no**"}
	for _, b := range []Budget{20, All} {
		if !slices.Contains(r.Spec.Budgets, b) {
			continue
		}
		ft, ok1 := r.average(Finetune, b)
		sc, ok2 := r.average(Scratch, b)
		if ok1 && ok2 {
			fmt.Fprintf(&sb, "- %s/class: fine-tuned %.3f >= from scratch %.3f + 0.05: %s\n", b, ft, sc, mark[ft >= sc+0.05])
		}
		var losses []string
		for _, t := range r.Tasks {
			f := r.cell(t.Name, Finetune, b)
			for _, other := range []string{Forest, NN1, KNN} {
				if c := r.cell(t.Name, other, b); f != nil && c != nil && f.F1Mean < c.F1Mean {
					losses = append(losses, fmt.Sprintf("%s: %s %.3f > %.3f", t.Name, MethodTitle[other], c.F1Mean, f.F1Mean))
				}
			}
		}
		fmt.Fprintf(&sb, "- %s/class: fine-tuned >= forest, 1-NN and k-NN on every task: %s", b, mark[len(losses) == 0])
		if len(losses) > 0 {
			fmt.Fprintf(&sb, " (%s)", strings.Join(losses, "; "))
		}
		sb.WriteString("\n")
		pr, ok1 := r.average(Probe, b)
		fo, ok2 := r.average(Forest, b)
		if ok1 && ok2 {
			fmt.Fprintf(&sb, "- %s/class: linear probe %.3f >= forest %.3f on average: %s\n", b, pr, fo, mark[pr >= fo])
		}
	}
	sb.WriteString("\n")
	return sb.String()
}

// writeTask writes OUT/TASK/table.md and OUT/TASK/curve.png.
func writeTask(out string, r *Report, t *TaskReport) error {
	r.summarize()
	dir := filepath.Join(out, t.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "table.md"), []byte(r.TaskMarkdown(t))); err != nil {
		return err
	}
	var series []plot.ErrSeries
	names := map[float64]string{}
	for _, m := range r.Methods {
		s := plot.ErrSeries{Name: MethodTitle[m]}
		for _, b := range r.Spec.Budgets {
			c := r.cell(t.Name, m, b)
			if c == nil {
				continue
			}
			s.X, s.Y, s.Err = append(s.X, c.FlowsPerClass), append(s.Y, c.F1Mean), append(s.Err, c.F1Std)
			if _, ok := names[c.FlowsPerClass]; !ok {
				names[c.FlowsPerClass] = fmt.Sprintf("%.0f", c.FlowsPerClass)
				if b == All {
					names[c.FlowsPerClass] = fmt.Sprintf("all (%.0f)", c.FlowsPerClass)
				}
			}
		}
		if len(s.X) > 0 {
			series = append(series, s)
		}
	}
	if len(series) == 0 {
		return nil
	}
	seeds := len(r.Spec.Seeds)
	title := fmt.Sprintf("%s: label efficiency (mean ± std over %d seeds)", t.Name, seeds)
	return plot.ErrorLines(filepath.Join(dir, "curve.png"), title,
		"labelled train flows per class (log scale; mean over classes)", "test macro-F1 (0-1)",
		series, true, func(x float64) string { return names[x] })
}

// writeMarkdown writes suite.md: the settings, then every task's section.
func writeMarkdown(path string, r *Report) error {
	var sb strings.Builder
	s := r.Spec
	fmt.Fprintf(&sb, "# Task suite %s\n\n", s.Name)
	base := "none"
	if r.Base != "" {
		base = r.Base
	}
	fmt.Fprintf(&sb, "Base model: %s. From scratch: %d layers, width %d. --len %d, up to %d epochs (patience %d, batch %d), "+
		"seeds %v, forest %d trees, k-NN k in %v (chosen on valid), flow features of the first %d packets. "+
		"Scores on the test split; mean ± std over seeds; the column header gives the budget and (in brackets) the mean train flows per class it gave.%s\n\n",
		base, r.ScratchConfig.Layers, r.ScratchConfig.Width, s.Len, s.Epochs, s.Patience, s.Batch, s.Seeds, s.Trees, s.KValues, s.Packets,
		map[bool]string{true: " Quick mode.", false: ""}[r.Quick])
	for _, n := range r.Notes {
		fmt.Fprintf(&sb, "Note: %s.\n\n", n)
	}
	sb.WriteString(r.AverageMarkdown())
	for _, t := range r.Tasks {
		sb.WriteString(r.TaskMarkdown(t))
	}
	fmt.Fprintf(&sb, "Total %.0f s.\n", r.Seconds)
	return atomicfile.WriteFile(path, []byte(sb.String()))
}
