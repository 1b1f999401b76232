package optim

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// refAdamW is a float64 AdamW (PyTorch semantics) for comparison.
type refAdamW struct {
	h     Hyper
	m, v  []float64
	t     int
	decay []bool
}

func (r *refAdamW) update(p, g []float64, lr float64) {
	r.t++
	for i := range p {
		if r.decay[i] {
			p[i] -= lr * r.h.WeightDecay * p[i]
		}
		r.m[i] = r.h.Beta1*r.m[i] + (1-r.h.Beta1)*g[i]
		r.v[i] = r.h.Beta2*r.v[i] + (1-r.h.Beta2)*g[i]*g[i]
		mh := r.m[i] / (1 - math.Pow(r.h.Beta1, float64(r.t)))
		vh := r.v[i] / (1 - math.Pow(r.h.Beta2, float64(r.t)))
		p[i] -= lr * mh / (math.Sqrt(vh) + r.h.Eps)
	}
}

func TestAdamWMatchesFloat64Reference(t *testing.T) {
	tests := []struct {
		name string
		h    Hyper
		segs []Segment
	}{
		{"default, decay on first segment", DefaultHyper(), []Segment{{0, 5, true}, {5, 3, false}}},
		{"no decay", Hyper{0.9, 0.999, 1e-8, 0}, []Segment{{0, 8, true}}},
		{"strong decay, middle segment", Hyper{0.8, 0.95, 1e-6, 0.5}, []Segment{{2, 4, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const n = 8
			o, err := NewAdamW(n, tc.segs, tc.h)
			if err != nil {
				t.Fatal(err)
			}
			ref := &refAdamW{h: tc.h, m: make([]float64, n), v: make([]float64, n), decay: make([]bool, n)}
			for _, s := range tc.segs {
				for i := s.Offset; i < s.Offset+s.Size; i++ {
					ref.decay[i] = s.Decay
				}
			}
			r := rand.New(rand.NewPCG(1, 2))
			p32, g32 := make([]float32, n), make([]float32, n)
			p64, g64 := make([]float64, n), make([]float64, n)
			for i := range p32 {
				p32[i] = float32(r.NormFloat64())
				p64[i] = float64(p32[i])
			}
			for step := 0; step < 50; step++ {
				for i := range g32 {
					g32[i] = float32(r.NormFloat64() * 0.1)
					g64[i] = float64(g32[i])
				}
				lr := 1e-2 * (1 + float64(step%3))
				o.Update(p32, g32, lr)
				ref.update(p64, g64, lr)
			}
			for i := range p32 {
				if d := math.Abs(float64(p32[i]) - p64[i]); d > 1e-5*(1+math.Abs(p64[i])) {
					t.Errorf("param %d: float32 %g, float64 reference %g (diff %g)", i, p32[i], p64[i], d)
				}
			}
			if o.Steps() != 50 {
				t.Errorf("Steps = %d, want 50", o.Steps())
			}
		})
	}
}

func TestAdamWStateRoundTripIsExact(t *testing.T) {
	const n = 100
	segs := []Segment{{0, 60, true}, {60, 40, false}}
	mk := func() *AdamW {
		o, err := NewAdamW(n, segs, DefaultHyper())
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	grads := func(step int) []float32 {
		r := rand.New(rand.NewPCG(uint64(step), 7))
		g := make([]float32, n)
		for i := range g {
			g[i] = float32(r.NormFloat64())
		}
		return g
	}
	pa, pb := make([]float32, n), make([]float32, n)
	for i := range pa {
		pa[i] = float32(i) / n
		pb[i] = pa[i]
	}
	a := mk()
	for s := 0; s < 20; s++ {
		a.Update(pa, grads(s), 1e-3)
	}
	b := mk()
	for s := 0; s < 10; s++ {
		b.Update(pb, grads(s), 1e-3)
	}
	blob, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c := mk()
	if err := c.UnmarshalBinary(blob); err != nil {
		t.Fatal(err)
	}
	for s := 10; s < 20; s++ {
		c.Update(pb, grads(s), 1e-3)
	}
	for i := range pa {
		if math.Float32bits(pa[i]) != math.Float32bits(pb[i]) {
			t.Fatalf("param %d: uninterrupted %g, restored %g", i, pa[i], pb[i])
		}
	}
	// Bad states are errors, not panics.
	small, _ := NewAdamW(n-1, nil, DefaultHyper())
	for name, bad := range map[string][]byte{
		"other size": blob,
		"truncated":  blob[:len(blob)-1],
		"garbage":    []byte("hello"),
	} {
		o := small
		if name != "other size" {
			o = mk()
		}
		if err := o.UnmarshalBinary(bad); !errors.Is(err, ErrState) {
			t.Errorf("%s: err = %v, want ErrState", name, err)
		}
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Peak: 1e-3, Min: 1e-4, Warmup: 10, Total: 110}
	tests := []struct {
		step int
		want float64
	}{
		{0, 1e-4},
		{4, 5e-4},
		{9, 1e-3},
		{10, 1e-3},
		{60, 5.5e-4}, // half-way through the cosine: mean of peak and floor
		{110, 1e-4},
		{1000, 1e-4},
	}
	for _, tc := range tests {
		if got := s.LR(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("LR(%d) = %g, want %g", tc.step, got, tc.want)
		}
	}
	prev := s.LR(10)
	for step := 11; step < 110; step++ {
		lr := s.LR(step)
		if lr > prev || lr < s.Min {
			t.Fatalf("LR(%d) = %g after %g: not decreasing to the floor", step, lr, prev)
		}
		prev = lr
	}
}

func TestClipGlobalNorm(t *testing.T) {
	tests := []struct {
		name    string
		g       []float32
		max     float64
		norm    float64
		clipped []float32
	}{
		{"below", []float32{0.3, 0.4}, 1, 0.5, []float32{0.3, 0.4}},
		{"above", []float32{3, 4}, 1, 5, []float32{0.6, 0.8}},
		{"no clipping", []float32{3, 4}, 0, 5, []float32{3, 4}},
		{"non-finite", []float32{float32(math.Inf(1)), 1}, 1, math.Inf(1), []float32{float32(math.Inf(1)), 1}},
	}
	for _, tc := range tests {
		norm := ClipGlobalNorm(tc.g, tc.max)
		if !(math.Abs(norm-tc.norm) < 1e-6 || norm == tc.norm) {
			t.Errorf("%s: norm %g, want %g", tc.name, norm, tc.norm)
		}
		for i := range tc.g {
			if math.Abs(float64(tc.g[i]-tc.clipped[i])) > 1e-6 {
				t.Errorf("%s: g = %v, want %v", tc.name, tc.g, tc.clipped)
				break
			}
		}
	}
}

func BenchmarkAdamWUpdate(b *testing.B) {
	const n = 4 << 20
	o, _ := NewAdamW(n, []Segment{{0, n, true}}, DefaultHyper())
	p, g := make([]float32, n), make([]float32, n)
	for i := range g {
		g[i] = float32(i%13) * 1e-3
	}
	b.SetBytes(4 * n)
	for b.Loop() {
		o.Update(p, g, 1e-3)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mparams/s")
}
