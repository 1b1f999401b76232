package classify

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestReportFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	os.WriteFile(path, []byte(`{"macro_f1": 0.9, "accuracy": 0.95, "split": "test", "labels": ["a", "b"], "confusion": [[3, 1], [0, 4]],
		"baseline": {"macro_f1": 0.8, "labels": ["a", "b"], "confusion": [[2, 2], [0, 4]]}}`), 0o644)
	r, err := ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	r.WriteSummary(&b, "fine-tuned from x")
	if want := "classification (test split)   macro-F1 0.900 (accuracy 0.950, fine-tuned from x)   random forest 0.800   k-NN -\n"; b.String() != want {
		t.Errorf("summary %q, want %q", b.String(), want)
	}
	plots := filepath.Join(dir, "plots")
	if err := r.WritePlots(plots); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"confusion.png", "confusion_baseline.png"} {
		if fi, err := os.Stat(filepath.Join(plots, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := ReadReport(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing report read")
	}
}
