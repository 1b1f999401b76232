package sample

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func logitsOf(ps ...float64) []float32 {
	l := make([]float32, len(ps))
	for i, p := range ps {
		l[i] = float32(math.Log(p))
	}
	return l
}

func TestDist(t *testing.T) {
	// Probabilities 0.1, 0.5, 0.05, 0.2, 0.15 (ids 0..4): sorted 1, 3, 4, 0, 2.
	lg := logitsOf(0.1, 0.5, 0.05, 0.2, 0.15)
	for _, tc := range []struct {
		name    string
		s       Sampling
		allowed []bool
		ids     []int
		probs   []float64
	}{
		{"all", Sampling{Temperature: 1}, nil, []int{1, 3, 4, 0, 2}, []float64{0.5, 0.2, 0.15, 0.1, 0.05}},
		{"greedy", Sampling{}, nil, []int{1}, []float64{1}},
		{"top-k 2", Sampling{Temperature: 1, TopK: 2}, nil, []int{1, 3}, []float64{0.5 / 0.7, 0.2 / 0.7}},
		{"top-k above size", Sampling{Temperature: 1, TopK: 9}, nil, []int{1, 3, 4, 0, 2}, []float64{0.5, 0.2, 0.15, 0.1, 0.05}},
		// 0.5+0.2 = 0.7 < 0.8 <= 0.85: three tokens.
		{"top-p 0.8", Sampling{Temperature: 1, TopP: 0.8}, nil, []int{1, 3, 4}, []float64{0.5 / 0.85, 0.2 / 0.85, 0.15 / 0.85}},
		{"top-p 0.5", Sampling{Temperature: 1, TopP: 0.5}, nil, []int{1}, []float64{1}},
		{"top-k 4 then top-p 0.85", Sampling{Temperature: 1, TopK: 4, TopP: 0.85}, nil, []int{1, 3, 4},
			[]float64{0.5 / 0.85, 0.2 / 0.85, 0.15 / 0.85}},
		{"masked", Sampling{Temperature: 1}, []bool{true, false, true, false, true}, []int{4, 0, 2},
			[]float64{0.5, 1.0 / 3, 1.0 / 6}},
		{"masked greedy", Sampling{}, []bool{true, false, true, false, false}, []int{0}, []float64{1}},
		{"nothing allowed", Sampling{Temperature: 1}, []bool{false, false, false, false, false}, []int{}, []float64{}},
		// Temperature 2 takes square roots: sqrt(.5), sqrt(.2), ... renormalised.
		{"temperature 2", Sampling{Temperature: 2, TopK: 2}, nil, []int{1, 3},
			[]float64{math.Sqrt(.5) / (math.Sqrt(.5) + math.Sqrt(.2)), math.Sqrt(.2) / (math.Sqrt(.5) + math.Sqrt(.2))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Picker{S: tc.s}
			ids, probs := p.Dist(lg, tc.allowed)
			if !slices.Equal(ids, tc.ids) {
				t.Fatalf("ids %v, want %v", ids, tc.ids)
			}
			for i := range probs {
				if math.Abs(probs[i]-tc.probs[i]) > 1e-6 {
					t.Fatalf("probs %v, want %v", probs, tc.probs)
				}
			}
		})
	}
}

func TestPickFrequencies(t *testing.T) {
	lg := logitsOf(0.1, 0.5, 0.05, 0.2, 0.15)
	p := Picker{S: Sampling{Temperature: 1, TopP: 0.8}}
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 200000
	var count [5]int
	for i := 0; i < n; i++ {
		count[p.Pick(lg, nil, rng)]++
	}
	want := [5]float64{0, 0.5 / 0.85, 0, 0.2 / 0.85, 0.15 / 0.85}
	for i, c := range count {
		if f := float64(c) / n; math.Abs(f-want[i]) > 0.005 {
			t.Errorf("token %d: frequency %.4f, want %.4f", i, f, want[i])
		}
	}
	inf := float32(math.Inf(-1))
	if ids, probs := p.Dist([]float32{inf, inf, 0}, []bool{true, true, false}); len(ids) != 2 || probs[0] != 0.5 {
		t.Errorf("all -inf: %v %v", ids, probs)
	}
	if p.Pick(lg, []bool{false, false, false, false, false}, rng) != -1 {
		t.Error("nothing allowed must give -1")
	}
}

func TestSamplingValidate(t *testing.T) {
	for _, s := range []Sampling{{Temperature: -1}, {TopK: -1}, {TopP: 1.5}, {TopP: -0.1}, {Temperature: math.Inf(1)}} {
		if s.Validate() == nil {
			t.Errorf("%+v: no error", s)
		}
	}
	if (Sampling{Temperature: 0.7, TopK: 40, TopP: 0.95}).Validate() != nil {
		t.Error("valid options rejected")
	}
}

// TestDistSelection: the one-pass top-k selection gives the ids a full
// stable sort by descending logit would (ties to the lowest id), on random
// logits with many ties and random masks.
func TestDistSelection(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 300; trial++ {
		V := 1 + rng.IntN(300)
		lg := make([]float32, V)
		allowed := make([]bool, V)
		for i := range lg {
			lg[i] = float32(rng.IntN(20)) // many ties
			allowed[i] = rng.IntN(4) != 0
		}
		var want []int
		for i := range lg {
			if allowed[i] {
				want = append(want, i)
			}
		}
		slices.SortStableFunc(want, func(a, b int) int {
			switch {
			case lg[a] > lg[b]:
				return -1
			case lg[a] < lg[b]:
				return 1
			}
			return 0
		})
		for _, k := range []int{0, 1, 7, 40, 500} {
			p := Picker{S: Sampling{Temperature: 1, TopK: k}}
			ids, _ := p.Dist(lg, allowed)
			w := want
			if k > 0 && len(w) > k {
				w = w[:k]
			}
			if !slices.Equal(ids, w) {
				t.Fatalf("trial %d V %d k %d: ids %v, want %v", trial, V, k, ids, w)
			}
		}
	}
}
