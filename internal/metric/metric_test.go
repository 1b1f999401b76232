package metric

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestConfusion(t *testing.T) {
	got := Confusion([]int{0, 0, 1, 1, 2, 2, 5}, []int{0, 1, 1, 1, 0, 2, 0}, 3)
	want := [][]int{{1, 1, 0}, {0, 2, 0}, {1, 0, 1}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Confusion = %v, want %v", got, want)
	}
}

func TestReport(t *testing.T) {
	tests := []struct {
		name           string
		labels, preds  []int
		k              int
		acc, mp, mr, f float64
		per            []ClassStats
	}{
		{
			// Worked by hand: class 0 P=1/2 R=1/2; class 1 P=2/3 R=1 F1=0.8;
			// class 2 P=1 R=1/2 F1=2/3; class 3 never occurs: excluded.
			name: "three classes", labels: []int{0, 0, 1, 1, 2, 2}, preds: []int{0, 1, 1, 1, 0, 2}, k: 4,
			acc: 4.0 / 6, mp: (0.5 + 2.0/3 + 1) / 3, mr: (0.5 + 1 + 0.5) / 3, f: (0.5 + 0.8 + 2.0/3) / 3,
			per: []ClassStats{{"a", 0.5, 0.5, 0.5, 2}, {"b", 2.0 / 3, 1, 0.8, 2}, {"c", 1, 0.5, 2.0 / 3, 2}, {"3", 0, 0, 0, 0}},
		},
		{
			// Class 1 is predicted but has no support: recall 0, precision 0,
			// and it counts in the macro average (scikit-learn's label set).
			name: "predicted without support", labels: []int{0, 0}, preds: []int{0, 1}, k: 2,
			acc: 0.5, mp: 0.5, mr: 0.25, f: 1.0 / 3,
			per: []ClassStats{{"a", 1, 0.5, 2.0 / 3, 2}, {"b", 0, 0, 0, 0}},
		},
		{
			// Class 1 has support but is never predicted: precision 0.
			name: "never predicted", labels: []int{0, 1}, preds: []int{0, 0}, k: 2,
			acc: 0.5, mp: 0.25, mr: 0.5, f: 1.0 / 3,
			per: []ClassStats{{"a", 0.5, 1, 2.0 / 3, 1}, {"b", 0, 0, 0, 1}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Report(tc.labels, tc.preds, tc.k, []string{"a", "b", "c"})
			if err != nil {
				t.Fatal(err)
			}
			if !near(r.Accuracy, tc.acc) || !near(r.MacroPrecision, tc.mp) || !near(r.MacroRecall, tc.mr) || !near(r.MacroF1, tc.f) {
				t.Errorf("acc %v P %v R %v F1 %v, want %v %v %v %v", r.Accuracy, r.MacroPrecision, r.MacroRecall, r.MacroF1, tc.acc, tc.mp, tc.mr, tc.f)
			}
			for i, w := range tc.per {
				g := r.PerClass[i]
				if g.Label != w.Label || g.Support != w.Support || !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F1, w.F1) {
					t.Errorf("class %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestReportJSONAndErrors(t *testing.T) {
	r, err := Report([]int{0, 1}, []int{0, 1}, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"accuracy"`, `"macro_precision"`, `"macro_recall"`, `"macro_f1"`, `"per_class"`, `"confusion"`, `"labels":["0","1"]`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
	if _, err := Report([]int{0}, []int{0, 1}, 2, nil); err == nil {
		t.Error("length mismatch: no error")
	}
	if _, err := Report([]int{0}, []int{2}, 2, nil); err == nil {
		t.Error("class out of range: no error")
	}
}

func TestJSD(t *testing.T) {
	// p=[1,0], q=[1/2,1/2], m=[3/4,1/4]:
	// KL(p|m) = log2(4/3); KL(q|m) = 1/2 log2(2/3) + 1/2 log2(2);
	// JSD = (log2(4/3) + 1/2 log2(2/3) + 1/2)/2 = 0.3112781244591328.
	known := (math.Log2(4.0/3) + 0.5*math.Log2(2.0/3) + 0.5) / 2
	if math.Abs(known-0.3112781244591328) > 1e-15 {
		t.Fatalf("hand value %v", known)
	}
	tests := []struct {
		name string
		p, q []float64
		want float64
	}{
		{"identical", []float64{1, 2, 3}, []float64{1, 2, 3}, 0},
		{"identical after normalising", []float64{1, 2, 3}, []float64{10, 20, 30}, 0},
		{"disjoint", []float64{1, 0}, []float64{0, 5}, 1},
		{"disjoint, padded", []float64{3}, []float64{0, 0, 2}, 1},
		{"known pair", []float64{1, 0}, []float64{1, 1}, known},
		{"symmetric", []float64{1, 1}, []float64{1, 0}, known},
		{"empty side", []float64{0, 0}, []float64{1}, math.NaN()},
	}
	for _, tc := range tests {
		got := JSD(tc.p, tc.q)
		if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-12) {
			t.Errorf("%s: JSD = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCategoricalJSD(t *testing.T) {
	if got := CategoricalJSD(map[string]float64{"a": 2, "b": 2}, map[string]float64{"b": 1, "a": 1}); got != 0 {
		t.Errorf("identical: %v", got)
	}
	if got := CategoricalJSD(map[int]float64{80: 5}, map[int]float64{443: 1, 22: 1}); got != 1 {
		t.Errorf("disjoint: %v", got)
	}
	// Union of keys: p = {x:1}, q = {x:1, y:1} is the known pair.
	want := (math.Log2(4.0/3) + 0.5*math.Log2(2.0/3) + 0.5) / 2
	if got := CategoricalJSD(map[int]float64{7: 3}, map[int]float64{7: 1, 9: 1}); !near(got, want) {
		t.Errorf("known pair: %v, want %v", got, want)
	}
}

func TestBins(t *testing.T) {
	b := Bins{Edges: []float64{0, 10, 20}}
	for _, tc := range []struct {
		x    float64
		cell int
	}{{-1, 0}, {math.NaN(), 0}, {0, 1}, {9.99, 1}, {10, 2}, {19, 2}, {20, 3}, {1e300, 3}, {math.Inf(1), 3}, {math.Inf(-1), 0}} {
		if got := b.Index(tc.x); got != tc.cell {
			t.Errorf("Index(%v) = %d, want %d", tc.x, got, tc.cell)
		}
	}
	h := b.Hist([]float64{-5, 1, 2, 15, 99, 99})
	if want := []float64{1, 2, 1, 2}; !reflect.DeepEqual(h, want) {
		t.Errorf("Hist = %v, want %v (nothing dropped)", h, want)
	}
	if b.Label(0) != "<0" || b.Label(2) != "[10,20)" || b.Label(3) != ">=20" {
		t.Errorf("labels %q %q %q", b.Label(0), b.Label(2), b.Label(3))
	}
	// Out-of-range values keep their mass: real in range, generated far above.
	if got := NumericJSD(b, []float64{1, 2, 3}, []float64{1e6, 2e6}); got != 1 {
		t.Errorf("overflow-only side: JSD %v, want 1", got)
	}
}

func TestPublishedBins(t *testing.T) {
	for _, b := range append([]Bins{lengthBins, windowBins, timeBins, countBins, fractionBins, concentrationBins, byteBins}, flowFeatureBins[:]...) {
		for i := 1; i < len(b.Edges); i++ {
			if !(b.Edges[i] > b.Edges[i-1]) {
				t.Errorf("%s: edges not increasing at %d: %v", b.Name, i, b.Edges)
			}
		}
	}
	if fractionBins.Index(1) != fractionBins.Cells()-2 {
		t.Errorf("fraction 1 should fall in the last regular cell")
	}
	if lengthBins.Edges[len(lengthBins.Edges)-1] != 1536 || timeBins.Edges[1] != 1e-6 || timeBins.Edges[len(timeBins.Edges)-1] != 100 {
		t.Errorf("published edges changed: length %v time %v", lengthBins.Edges, timeBins.Edges)
	}
}

func TestFlowFeatures(t *testing.T) {
	s := int64(1e9)
	pk := []Pkt{{0, true, 100}, {1 * s, false, 200}, {2 * s, true, 300}, {3 * s, true, 400}, {5 * s, false, 500}}
	got := FlowFeatures(nil, pk)
	// Outgoing positions 0, 2, 3: mean 5/3, variance 13/3 - 25/9 = 14/9.
	want := [NumFlowFeatures]float64{2, 0.6, 0.4, math.Sqrt(14.0 / 9), 3, 3, 5, 800, 700, 1.25}
	for i := range want {
		if !near(got[i], want[i]) {
			t.Errorf("%s = %v, want %v", FlowFeatureNames[i], got[i], want[i])
		}
	}
	// 25 outgoing packets: two chunks of 20, so 12.5 per chunk.
	long := make([]Pkt, 25)
	for i := range long {
		long[i] = Pkt{int64(i), true, 1}
	}
	if g := FlowFeatures(nil, long); g[FeatAltConc] != 12.5 || g[FeatIn] != 0 || g[FeatFracOut] != 1 {
		t.Errorf("long flow: %v", g)
	}
	if g := FlowFeatures([]float64{7}, nil); len(g) != 1+NumFlowFeatures || g[0] != 7 || g[1] != 0 {
		t.Errorf("empty flow: %v", g)
	}
}

func TestFirstN(t *testing.T) {
	s := int64(1e9)
	got := FirstN(nil, []Pkt{{s, true, 60}, {3 * s, false, 1500}}, 3)
	want := []float64{60, 1500, 0, 1, -1, 0, 0, 2, 0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FirstN = %v, want %v", got, want)
	}
	if n := FirstNNames(3); len(n) != 9 || n[0] != "size_0" || n[4] != "dir_1" || n[8] != "iat_2" {
		t.Errorf("names %v", n)
	}
}

// blobs draws n samples per class around class-specific centres in d
// dimensions; labelNoise flips that share of labels to a random class.
func blobs(r *rand.Rand, n, k, d int, spread, labelNoise float64) ([][]float64, []int) {
	var X [][]float64
	var y []int
	for c := 0; c < k; c++ {
		for i := 0; i < n; i++ {
			x := make([]float64, d)
			for j := range x {
				x[j] = r.NormFloat64() * spread
			}
			x[c%d] += 5 * float64(1+c/d)
			lab := c
			if r.Float64() < labelNoise {
				lab = r.IntN(k)
			}
			X = append(X, x)
			y = append(y, lab)
		}
	}
	return X, y
}

func accuracy(f *Forest, X [][]float64, y []int) float64 {
	ok := 0
	for i, p := range f.PredictAll(X) {
		if p == y[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(y))
}

func TestForest(t *testing.T) {
	tests := []struct {
		name          string
		spread, noise float64
		minAcc        float64
		maxAcc        float64
	}{
		{"separable", 0.5, 0, 0.99, 1},
		{"label noise 30%", 0.5, 0.3, 0.9, 1}, // the test set is clean: the forest must see through the noise
		{"overlapping", 4, 0, 0.45, 0.9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			X, y := blobs(r, 150, 3, 4, tc.spread, tc.noise)
			Xt, yt := blobs(r, 100, 3, 4, tc.spread, 0)
			f, err := Fit(X, y, 3, ForestOptions{Trees: 40, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			acc := accuracy(f, Xt, yt)
			if acc < tc.minAcc || acc > tc.maxAcc {
				t.Errorf("held-out accuracy %.3f outside [%v, %v]", acc, tc.minAcc, tc.maxAcc)
			}
			p := f.PredictProba(Xt[0])
			if s := p[0] + p[1] + p[2]; !near(s, 1) {
				t.Errorf("probabilities sum to %v", s)
			}
		})
	}
}

func TestForestXORAndDeterminism(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var X [][]float64
	var y []int
	for i := 0; i < 400; i++ {
		a, b := r.Float64()*2-1, r.Float64()*2-1
		X = append(X, []float64{a, b, r.Float64()})
		if (a > 0) != (b > 0) {
			y = append(y, 1)
		} else {
			y = append(y, 0)
		}
	}
	f1, err := Fit(X[:300], y[:300], 2, ForestOptions{Trees: 30, Seed: 11, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	f2, _ := Fit(X[:300], y[:300], 2, ForestOptions{Trees: 30, Seed: 11, Workers: 2})
	if acc := accuracy(f1, X[300:], y[300:]); acc < 0.9 {
		t.Errorf("XOR accuracy %.3f", acc)
	}
	for _, x := range X[300:] {
		if !reflect.DeepEqual(f1.PredictProba(x), f2.PredictProba(x)) {
			t.Fatal("results depend on the number of workers")
		}
	}
	f3, _ := Fit(X[:300], y[:300], 2, ForestOptions{Trees: 30, Seed: 12})
	same := true
	for _, x := range X[300:] {
		if !reflect.DeepEqual(f1.PredictProba(x), f3.PredictProba(x)) {
			same = false
		}
	}
	if same {
		t.Error("a different seed gave the same forest")
	}
}

func TestForestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		X    [][]float64
		y    []int
		k    int
	}{
		{"empty", nil, nil, 2},
		{"label count", [][]float64{{1}}, []int{0, 1}, 2},
		{"ragged", [][]float64{{1}, {1, 2}}, []int{0, 1}, 2},
		{"class range", [][]float64{{1}, {2}}, []int{0, 2}, 2},
	} {
		if _, err := Fit(tc.X, tc.y, tc.k, ForestOptions{}); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	// One class only, or constant features: a single leaf, no panic.
	f, err := Fit([][]float64{{1}, {1}, {1}}, []int{0, 1, 0}, 2, ForestOptions{Trees: 3})
	if err != nil || f.Predict([]float64{1}) != 0 {
		t.Errorf("constant features: %v", err)
	}
}

func BenchmarkForestFit(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	X, y := blobs(r, 2500, 2, 10, 3, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Fit(X, y, 2, ForestOptions{Trees: 50, Seed: uint64(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(X)*50*b.N)/b.Elapsed().Seconds(), "sample-trees/s")
}
