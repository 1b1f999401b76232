package classify

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAUROC(t *testing.T) {
	tests := []struct {
		name           string
		known, unknown []float64
		want           float64
	}{
		{"separated", []float64{3, 4, 5}, []float64{0, 1, 2}, 1},
		{"reversed", []float64{0, 1}, []float64{2, 3}, 0},
		{"all tied", []float64{1, 1}, []float64{1, 1, 1}, 0.5},
		{"one swap", []float64{1, 3}, []float64{2, 0}, 0.75},
		{"tie counts half", []float64{2}, []float64{2, 1}, 0.75},
	}
	for _, tc := range tests {
		if got := AUROC(tc.known, tc.unknown); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: AUROC %v, want %v", tc.name, got, tc.want)
		}
	}
	if !math.IsNaN(AUROC(nil, []float64{1})) {
		t.Error("AUROC without known flows is not NaN")
	}
}

func TestInvertSPD(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 7
	// A = B B' + I is symmetric positive definite.
	b := make([]float64, n*n)
	for i := range b {
		b[i] = r.NormFloat64()
	}
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			for k := 0; k < n; k++ {
				a[i*n+j] += b[i*n+k] * b[j*n+k]
			}
		}
		a[i*n+i]++
	}
	inv, err := invertSPD(a, n)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for k := 0; k < n; k++ {
				s += a[i*n+k] * inv[k*n+j]
			}
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(s-want) > 1e-9 {
				t.Fatalf("(A inv(A))[%d][%d] = %v, want %v", i, j, s, want)
			}
		}
	}
	if _, err := invertSPD([]float64{1, 2, 2, 1}, 2); err == nil {
		t.Error("an indefinite matrix was inverted")
	}
}

// TestMahalanobisRule: features of two Gaussian classes; points far from
// both score lower than points of either, the threshold rejects about FRR
// of the valid points, and the fast score equals the definition.
func TestMahalanobisRule(t *testing.T) {
	c := randomClassifier(t, 16)
	K, C := c.Model.Config.Classes, c.Model.Config.Width
	r := rand.New(rand.NewPCG(3, 4))
	centre := func(k int) float64 { return 4 * float64(k) }
	sample := func(n int, far bool) *SplitScores {
		s := &SplitScores{}
		for i := 0; i < n; i++ {
			y := i % K
			s.Labels = append(s.Labels, y)
			for j := 0; j < K; j++ {
				s.Probs = append(s.Probs, 1/float32(K))
			}
			for j := 0; j < C; j++ {
				x := centre(y) + r.NormFloat64()
				if far {
					x = 30 + 3*r.NormFloat64()
				}
				s.Feats = append(s.Feats, float32(x))
			}
		}
		return s
	}
	train, valid, test, unknown := sample(600, false), sample(300, false), sample(300, false), sample(100, true)
	o, err := c.FitOpenSet(OpenMahalanobis, train, valid, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if a := AUROC(o.Scores(test), o.Scores(unknown)); a < 0.99 {
		t.Errorf("AUROC %v on well separated unknowns", a)
	}
	rej := 0
	for _, s := range o.Scores(valid) {
		if !o.Known(s) {
			rej++
		}
	}
	if rej < 10 || rej > 20 {
		t.Errorf("%d of 300 valid flows rejected at FRR 0.05, want 15", rej)
	}
	// The definition: -min_k (f-mu)' P (f-mu).
	f := test.Feats[:C]
	best := math.Inf(1)
	for k := 0; k < K; k++ {
		d := 0.0
		for i := 0; i < C; i++ {
			for j := 0; j < C; j++ {
				d += (float64(f[i]) - float64(o.Means[k*C+i])) * float64(o.Precision[i*C+j]) * (float64(f[j]) - float64(o.Means[k*C+j]))
			}
		}
		best = min(best, d)
	}
	if got := o.Score(test.Probs[:K], f); math.Abs(got+best) > 1e-3*math.Abs(best)+1e-6 {
		t.Errorf("score %v, definition %v", got, -best)
	}
}
