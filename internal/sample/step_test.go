package sample

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/model"
)

// TestStepMatchesForward: recurrent generation (model.Step, one position
// at a time) gives the logits of the full forward pass over the same
// tokens, for every attention kind, over enough positions to cross several
// local windows (8) and linear-attention chunks (8, 5).
func TestStepMatchesForward(t *testing.T) {
	base, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(*model.Config)
	}{
		{"linear+local", func(c *model.Config) {}},
		{"linear-only", func(c *model.Config) { c.LocalHeads, c.GlobalHeads = 0, 3 }},
		{"local-only", func(c *model.Config) { c.LocalHeads, c.GlobalHeads, c.Window = 3, 0, 5 }},
		{"quadratic", func(c *model.Config) { c.Attention = model.AttentionQuadratic; c.MaxContext = 64 }},
		{"odd-chunk-reversible", func(c *model.Config) { c.Chunk, c.Window, c.Reversible = 5, 7, true }},
		{"no-token-shift", func(c *model.Config) { c.TokenShift = false }},
	}
	const B, T = 2, 37
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			m, err := model.New(cfg, 11)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			toks := make([]int32, B*T)
			for i := range toks {
				toks[i] = int32(rng.IntN(cfg.Vocab))
			}
			if _, err := m.Forward(toks, nil, B, T); err != nil {
				t.Fatal(err)
			}
			want := append([]float32(nil), m.Logits()...)
			st, err := m.NewState(B)
			if err != nil {
				t.Fatal(err)
			}
			V := cfg.Vocab
			in := make([]int32, B)
			var worst float64
			for p := 0; p < T; p++ {
				for b := 0; b < B; b++ {
					in[b] = toks[b*T+p]
				}
				got, err := m.Step(st, in)
				if err != nil {
					t.Fatal(err)
				}
				for b := 0; b < B; b++ {
					w := want[(b*T+p)*V : (b*T+p+1)*V]
					g := got[b*V : (b+1)*V]
					var scale float64
					for _, x := range w {
						scale = max(scale, math.Abs(float64(x)))
					}
					for i := range w {
						d := math.Abs(float64(g[i]-w[i])) / max(scale, 1e-3)
						worst = max(worst, d)
						if d > 1e-4 {
							t.Fatalf("b %d pos %d token %d: step %g, forward %g (relative %.2g)", b, p, i, g[i], w[i], d)
						}
					}
				}
			}
			t.Logf("max relative difference %.2g", worst)
		})
	}
}
