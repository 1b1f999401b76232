package plot

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// checkPNG decodes path as a PNG of a plausible size and checks that no
// temporary file was left beside it.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
		t.Errorf("%s: %v is too small", path, b)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestHistograms(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		h    Hist2
	}{
		{"few cells", Hist2{Title: "dport", Cells: []string{"80", "443", "53"}, A: []float64{5, 3, 1}, B: []float64{4, 4, 0}, NameA: "real", NameB: "generated"}},
		{"many cells and odd values", Hist2{Title: "length", XLabel: "bytes", Cells: make([]string, 300), A: make([]float64, 300), B: append(make([]float64, 299), math.NaN())}},
	}
	for _, tc := range tests {
		for i := range tc.h.Cells {
			if tc.h.Cells[i] == "" {
				tc.h.Cells[i] = "c"
				tc.h.A[i] = float64(i % 7)
			}
		}
		path := filepath.Join(dir, tc.name+".png")
		if err := Histograms(path, tc.h); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		checkPNG(t, path)
	}
	if err := Histograms(filepath.Join(dir, "bad.png"), Hist2{Cells: []string{"a"}, A: []float64{1}}); !errors.Is(err, ErrBadInput) {
		t.Errorf("mismatched lengths: %v", err)
	}
}

func TestLines(t *testing.T) {
	dir := t.TempDir()
	x := []float64{0, 1, 2, 3}
	s := []Series{{"train", x, []float64{5, 3, 2, 1.5}}, {"valid", x, []float64{5.5, 3.5, 2.6, 0}}}
	for _, logY := range []bool{false, true} {
		path := filepath.Join(dir, "loss.png")
		if err := Lines(path, "loss", "step", "nats/token", s, logY); err != nil {
			t.Fatal(err)
		}
		checkPNG(t, path)
	}
	if err := Lines(filepath.Join(dir, "x.png"), "t", "x", "y", []Series{{"a", x, x[:2]}}, false); !errors.Is(err, ErrBadInput) {
		t.Errorf("ragged series: %v", err)
	}
}

func TestConfusion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cm.png")
	if err := Confusion(path, "classes", [][]int{{5, 1, 0}, {0, 7, 2}, {0, 0, 0}}, []string{"http", "tls", "dns"}); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, path)
	if err := Confusion(path, "bad", [][]int{{1, 2}}, []string{"a"}); !errors.Is(err, ErrBadInput) {
		t.Errorf("ragged matrix: %v", err)
	}
}

func TestWriteFileAtomicError(t *testing.T) {
	if err := Lines(filepath.Join(t.TempDir(), "missing", "x.png"), "t", "x", "y", nil, false); err == nil {
		t.Error("no error for a missing folder")
	}
}

func TestErrorLines(t *testing.T) {
	dir := t.TempDir()
	series := []ErrSeries{
		{Name: "forest", X: []float64{5, 20, 100}, Y: []float64{0.5, 0.7, 0.8}, Err: []float64{0.1, 0.05, 0}},
		{Name: "k-NN", X: []float64{5, 20, 100}, Y: []float64{0.4, 0.6, 0.75}, Err: []float64{0.1, 0.05, 0.01}},
	}
	tests := []struct {
		name   string
		series []ErrSeries
		logX   bool
		ok     bool
	}{
		{"linear", series, false, true},
		{"log", series, true, true},
		{"no series", nil, false, false},
		{"ragged", []ErrSeries{{Name: "x", X: []float64{1}, Y: []float64{1}, Err: nil}}, false, false},
		{"nothing positive on a log axis", []ErrSeries{{Name: "x", X: []float64{0}, Y: []float64{1}, Err: []float64{0}}}, true, false},
	}
	for _, tc := range tests {
		path := filepath.Join(dir, tc.name+".png")
		err := ErrorLines(path, "curve", "flows per class", "macro-F1", tc.series, tc.logX, nil)
		if (err == nil) != tc.ok {
			t.Fatalf("%s: err = %v, want ok %v", tc.name, err, tc.ok)
		}
		if tc.ok {
			checkPNG(t, path)
		} else if !errors.Is(err, ErrBadInput) {
			t.Fatalf("%s: %v does not wrap ErrBadInput", tc.name, err)
		}
	}
}
