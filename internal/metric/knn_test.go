package metric

import (
	"math"
	"testing"
)

func TestKNNPredict(t *testing.T) {
	tests := []struct {
		name  string
		X     [][]float64
		y     []int
		opts  KNNOptions
		query []float64
		want  int
	}{
		{"a training point is its own nearest neighbour", [][]float64{{0, 0}, {5, 5}, {9, 1}}, []int{0, 1, 2}, KNNOptions{}, []float64{9, 1}, 2},
		// Raw distance would pick (600, 0): feature 0 spans hundreds. After
		// standardising, the informative feature 1 decides.
		{"standardised features", [][]float64{{0, 0}, {600, 0}, {300, 1}, {900, 1}}, []int{0, 0, 1, 1}, KNNOptions{}, []float64{590, 1}, 1},
		{"three neighbours outvote the nearest", [][]float64{{0}, {1.1}, {1.2}, {10}}, []int{0, 1, 1, 0}, KNNOptions{K: 3}, []float64{0.2}, 1},
		{"a tied vote goes to the nearest", [][]float64{{0}, {1}, {10}}, []int{1, 0, 0}, KNNOptions{K: 2}, []float64{0.4}, 1},
		{"tied distances go to training order", [][]float64{{-1}, {1}}, []int{1, 0}, KNNOptions{}, []float64{0}, 1},
		{"K larger than the training set votes with all", [][]float64{{0}, {1}, {2}}, []int{0, 1, 1}, KNNOptions{K: 9}, []float64{0}, 1},
		{"without the log map a heavy tail dominates", [][]float64{{1}, {1e6}}, []int{0, 1}, KNNOptions{}, []float64{1e4}, 0},
		{"the log map compares orders of magnitude", [][]float64{{1}, {1e6}}, []int{0, 1}, KNNOptions{Log: true}, []float64{1e4}, 1},
		{"a constant feature changes nothing", [][]float64{{7, 0}, {7, 1}}, []int{0, 1}, KNNOptions{}, []float64{1e9, 0.9}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := FitKNN(tc.X, tc.y, 3, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Predict(tc.query); got != tc.want {
				t.Fatalf("Predict(%v) = %d, want %d", tc.query, got, tc.want)
			}
			if got := m.PredictAll([][]float64{tc.query, tc.query}); got[0] != tc.want || got[1] != tc.want {
				t.Fatalf("PredictAll = %v, want %d twice", got, tc.want)
			}
		})
	}
}

func TestKNNRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		X    [][]float64
		y    []int
	}{
		{"empty", nil, nil},
		{"labels and samples differ", [][]float64{{1}, {2}}, []int{0}},
		{"ragged rows", [][]float64{{1, 2}, {2}}, []int{0, 1}},
		{"NaN", [][]float64{{math.NaN()}}, []int{0}},
		{"class out of range", [][]float64{{1}}, []int{2}},
	}
	for _, tc := range tests {
		if _, err := FitKNN(tc.X, tc.y, 2, KNNOptions{}); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
