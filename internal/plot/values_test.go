package plot

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/metric"
)

// TestMacroF1MatchesMetric: the macro-F1 a confusion plot prints is the one
// metric.Report computes (classes seen as true or predicted labels only).
func TestMacroF1MatchesMetric(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 50 {
		k := 2 + trial%5
		var labels, preds []int
		for range 20 + r.IntN(100) {
			c := r.IntN(k - trial%2) // odd trials: the last class never true
			p := c
			if r.IntN(3) == 0 {
				p = r.IntN(k)
			}
			labels, preds = append(labels, c), append(preds, p)
		}
		rep, err := metric.Report(labels, preds, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := make([][]int, k)
		for i := range m {
			m[i] = make([]int, k)
		}
		correct := 0
		for i := range labels {
			m[labels[i]][preds[i]]++
			if labels[i] == preds[i] {
				correct++
			}
		}
		f1, acc := MacroF1(m)
		if math.Abs(f1-rep.MacroF1) > 1e-12 || math.Abs(acc-float64(correct)/float64(len(labels))) > 1e-12 {
			t.Fatalf("trial %d: macro-F1 %v accuracy %v, metric %v", trial, f1, acc, rep.MacroF1)
		}
	}
	if f1, _ := MacroF1([][]int{{0, 0}, {0, 0}}); !math.IsNaN(f1) {
		t.Errorf("empty matrix: %v, want NaN", f1)
	}
}

// TestFiguresWithValues draws each kind of figure with its headline value
// (kept as files in $PLOT_DIR when set, to look at them).
func TestFiguresWithValues(t *testing.T) {
	dir := os.Getenv("PLOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	h := Hist2{Title: "header field length", XLabel: "packet length (bytes)", Of: "packets", Value: "JSD 0.0123 bits",
		Cells: []string{"0-32", "32-64", "64-96"}, A: []float64{1, 5, 2}, B: []float64{2, 4, 2}, NameA: "real", NameB: "generated"}
	if err := Histograms(filepath.Join(dir, "hist.png"), h); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "hist.png"))
	if err := Confusion(filepath.Join(dir, "confusion.png"), "classifier (test)", [][]int{{8, 2}, {1, 9}}, []string{"dns", "http"}); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "confusion.png"))
	if err := Lines(filepath.Join(dir, "lines.png"), "pre-training loss", "step", "loss (nats/token)",
		[]Series{{Name: "train", X: []float64{1, 2, 3}, Y: []float64{3, 2, 1.5}}}, false); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "lines.png"))
	if withValue("t", "") != "t" || withValue("t", "v") != "t: v" || lastValue([]float64{1, math.NaN()}) != " (last 1)" {
		t.Error("title and legend values")
	}
}
