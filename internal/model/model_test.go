package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tinyCfg is the test configuration with the given switches.
func tinyCfg(t testing.TB, mut func(*Config)) Config {
	t.Helper()
	c, err := Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	if mut != nil {
		mut(&c)
	}
	return c
}

func newModel(t testing.TB, c Config, seed uint64) *Model {
	t.Helper()
	m, err := New(c, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randTokens returns n tokens below V from seed.
func randTokens(n, V int, seed uint64) []int32 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(r.IntN(V))
	}
	return out
}

// lossOf runs a forward pass and fails the test on error.
func lossOf(t testing.TB, m *Model, tok, tgt []int32, B, T int) float64 {
	t.Helper()
	l, err := m.Forward(tok, tgt, B, T)
	if err != nil {
		t.Fatal(err)
	}
	return float64(l)
}

// scaleParams multiplies every weight matrix so that gradients are large
// enough for a float32 finite-difference check.
func scaleParams(m *Model, s float32) {
	for _, p := range m.ParamInfos() {
		if p.Decay {
			for i := p.Offset; i < p.Offset+p.Size; i++ {
				m.params[i] *= s
			}
		}
	}
}

// gradCheck compares, per tensor, the directional derivative along a random
// direction restricted to that tensor with the analytic gradient, using a
// central difference of step eps. Directional derivatives below ~1e-3 are
// judged on an absolute scale: float32 loss noise (~1e-6) over 2*eps gives
// numeric errors of a few 1e-5.
func gradCheck(t *testing.T, m *Model, loss func() float64, tol float64) {
	t.Helper()
	m.ZeroGrad()
	loss()
	if err := m.Backward(); err != nil {
		t.Fatal(err)
	}
	g := append([]float32(nil), m.grads...)
	r := rand.New(rand.NewPCG(1, 2))
	const eps = 1e-2
	for _, p := range m.ParamInfos() {
		d := make([]float64, p.Size)
		var norm float64
		for i := range d {
			d[i] = r.NormFloat64()
			norm += d[i] * d[i]
		}
		norm = math.Sqrt(norm)
		var analytic float64
		for i := range d {
			d[i] /= norm
			analytic += d[i] * float64(g[p.Offset+i])
		}
		orig := append([]float32(nil), m.params[p.Offset:p.Offset+p.Size]...)
		set := func(s float64) {
			for i := range d {
				m.params[p.Offset+i] = orig[i] + float32(s*d[i])
			}
		}
		set(eps)
		lp := loss()
		set(-eps)
		lm := loss()
		copy(m.params[p.Offset:], orig)
		numeric := (lp - lm) / (2 * eps)
		err := math.Abs(numeric-analytic) / math.Max(math.Abs(numeric)+math.Abs(analytic), 3e-3)
		if err > tol {
			t.Errorf("%s: analytic %.6g numeric %.6g (rel err %.3g)", p.Name, analytic, numeric, err)
		} else if testing.Verbose() {
			t.Logf("%s: analytic %.6g numeric %.6g (rel err %.3g)", p.Name, analytic, numeric, err)
		}
	}
}

func TestGradCheck(t *testing.T) {
	cases := []struct {
		name string
		mut  func(*Config)
		B, T int
	}{
		{"plain", func(c *Config) {}, 2, 19},
		{"plain-noshift-untied", func(c *Config) { c.TokenShift = false; c.TiedEmbedding = false }, 1, 13},
		{"reversible", func(c *Config) { c.Reversible = true }, 2, 19},
		{"quadratic", func(c *Config) { c.Attention = AttentionQuadratic }, 1, 11},
		{"local-only", func(c *Config) { c.GlobalHeads = 0 }, 1, 17},
		{"global-only", func(c *Config) { c.LocalHeads = 0 }, 1, 17},
		{"T=1", func(c *Config) {}, 3, 1},
		{"reversible-dropout", func(c *Config) { c.Reversible = true; c.Dropout = 0.3 }, 2, 19},
		{"plain-dropout", func(c *Config) { c.Dropout = 0.3 }, 2, 19},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tinyCfg(t, tc.mut)
			c.Vocab = 37
			m := newModel(t, c, 1)
			m.Train, m.Seed = true, 5 // dropout masks are fixed by the seed
			scaleParams(m, 10)
			tok := randTokens(tc.B*tc.T, c.Vocab, 3)
			tgt := randTokens(tc.B*tc.T, c.Vocab, 4)
			tgt[0] = -1
			gradCheck(t, m, func() float64 { return lossOf(t, m, tok, tgt, tc.B, tc.T) }, 2e-2)
		})
	}
}
