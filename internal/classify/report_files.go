package classify

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/trafficgpt/trafficgpt/internal/plot"
)

// WritePlots writes the confusion matrices as heat maps into dir (created):
// confusion.png, and confusion_baseline.png with the forest baseline.
func (r *Report) WritePlots(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := plot.Confusion(filepath.Join(dir, "confusion.png"), "classifier ("+r.Split+")", r.Confusion, r.Labels); err != nil {
		return err
	}
	if b := r.Baseline; b != nil {
		return plot.Confusion(filepath.Join(dir, "confusion_baseline.png"), "baseline: random forest ("+r.Split+")", b.Confusion, b.Labels)
	}
	return nil
}

// ReadReport reads a JSON report (eval classify --json) back.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// WriteSummary prints the report in one line (the demo's summary): macro-F1
// and accuracy of the classifier (from says what it was trained from), the
// forest's and k-NN's macro-F1 ("-": not run).
func (r *Report) WriteSummary(w io.Writer, from string) {
	f1 := func(b *BaselineReport) string {
		if b == nil {
			return "-"
		}
		return fmt.Sprintf("%.3f", b.MacroF1)
	}
	fmt.Fprintf(w, "classification (test split)   macro-F1 %.3f (accuracy %.3f, %s)   random forest %s   k-NN %s\n",
		r.MacroF1, r.Accuracy, from, f1(r.Baseline), f1(r.KNN))
}
