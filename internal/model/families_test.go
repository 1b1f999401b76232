package model

import (
	"errors"
	"path/filepath"
	"testing"
)

// familyCases are the retention and rwkv variants the model tests run:
// with local heads (the default split), global heads only, reversible.
var familyCases = []struct {
	name string
	mut  func(*Config)
}{
	{"retention", func(c *Config) { c.Attention = AttentionRetention }},
	{"retention-global-only", func(c *Config) { c.Attention = AttentionRetention; c.LocalHeads = 0 }},
	{"retention-reversible", func(c *Config) { c.Attention = AttentionRetention; c.Reversible = true }},
	{"rwkv", func(c *Config) { c.Attention = AttentionRWKV }},
	{"rwkv-global-only", func(c *Config) { c.Attention = AttentionRWKV; c.LocalHeads = 0; c.GlobalHeads = 3 }},
	{"rwkv-reversible", func(c *Config) { c.Attention = AttentionRWKV; c.Reversible = true }},
}

func TestFamiliesGradCheck(t *testing.T) {
	for _, tc := range familyCases {
		for _, drop := range []float32{0, 0.3} {
			t.Run(tc.name+map[bool]string{false: "", true: "-dropout"}[drop > 0], func(t *testing.T) {
				c := tinyCfg(t, tc.mut)
				c.Vocab, c.Dropout = 37, drop
				m := newModel(t, c, 1)
				m.Train, m.Seed = true, 5
				scaleParams(m, 10)
				const B, T = 2, 19 // several chunks of 8
				tok := randTokens(B*T, c.Vocab, 3)
				tgt := randTokens(B*T, c.Vocab, 4)
				tgt[0] = -1
				gradCheck(t, m, func() float64 { return lossOf(t, m, tok, tgt, B, T) }, 2e-2)
			})
		}
	}
}

func TestFamiliesStepMatchesForward(t *testing.T) {
	const B, T = 2, 37 // W=8, chunk=8: more than 4 windows and chunks
	for _, tc := range familyCases {
		t.Run(tc.name, func(t *testing.T) {
			c := tinyCfg(t, tc.mut)
			m := newModel(t, c, 5)
			scaleParams(m, 5)
			tok := randTokens(B*T, c.Vocab, 9)
			if _, err := m.Forward(tok, nil, B, T); err != nil {
				t.Fatal(err)
			}
			want := append([]float32(nil), m.Logits()...)
			st, err := m.NewState(B)
			if err != nil {
				t.Fatal(err)
			}
			V := c.Vocab
			for pos := 0; pos < T; pos++ {
				got, err := m.Step(st, []int32{tok[pos], tok[T+pos]})
				if err != nil {
					t.Fatal(err)
				}
				for b := 0; b < B; b++ {
					w := want[(b*T+pos)*V : (b*T+pos+1)*V]
					if d := maxRelDiff(got[b*V:(b+1)*V], w); d > 1e-4 {
						t.Fatalf("pos %d batch %d: step differs from forward by %.3g", pos, b, d)
					}
				}
			}
		})
	}
}

func TestFamiliesCausal(t *testing.T) {
	for _, tc := range familyCases {
		c := tinyCfg(t, tc.mut)
		m := newModel(t, c, 2)
		scaleParams(m, 5)
		const T = 41
		tok := randTokens(T, c.Vocab, 1)
		m.Forward(tok, nil, 1, T)
		base := append([]float32(nil), m.Logits()...)
		V := c.Vocab
		for _, cut := range []int{0, 7, 8, 9, 23, 39} {
			alt := append([]int32(nil), tok...)
			for i := cut + 1; i < T; i++ {
				alt[i] = (alt[i] + 1 + int32(i)) % int32(V)
			}
			m.Forward(alt, nil, 1, T)
			got := m.Logits()
			if d := maxRelDiff(got[:(cut+1)*V], base[:(cut+1)*V]); d != 0 {
				t.Errorf("%s cut %d: logits up to the cut changed by %g", tc.name, cut, d)
			}
			if maxRelDiff(got[(cut+1)*V:], base[(cut+1)*V:]) == 0 {
				t.Errorf("%s cut %d: later logits did not change", tc.name, cut)
			}
		}
	}
}

// TestFamiliesCheckpoint round-trips each family's checkpoint (its extra
// tensors included) and refuses to load one family's weights into another.
func TestFamiliesCheckpoint(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, tc := range familyCases[:4] {
		c := tinyCfg(t, tc.mut)
		m := newModel(t, c, uint64(10+i))
		path := filepath.Join(dir, tc.name+".safetensors")
		if err := m.Save(path, nil); err != nil {
			t.Fatal(err)
		}
		m2, _, err := Load(path)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if m2.Config != m.Config || maxRelDiff(m2.Params(), m.Params()) != 0 {
			t.Fatalf("%s: config %+v or parameters differ after round trip", tc.name, m2.Config)
		}
		paths = append(paths, path)
	}
	lin := newModel(t, tinyCfg(t, nil), 1)
	rwkv := newModel(t, tinyCfg(t, familyCases[3].mut), 1)
	for _, x := range []struct {
		into *Model
		path string
	}{{lin, paths[0]}, {rwkv, paths[0]}, {lin, paths[3]}} {
		if _, err := x.into.LoadWeights(x.path); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("%s into %s: err %v, want ErrCheckpoint", x.path, x.into.Config.Attention, err)
		}
	}
}

func TestFamiliesConfig(t *testing.T) {
	for _, mut := range []func(*Config){
		func(c *Config) { c.Attention = AttentionRetention; c.Chunk = 0 },
		func(c *Config) { c.Attention = AttentionRetention; c.LocalHeads = 0; c.RopeBase = 1 },
		func(c *Config) { c.Attention = AttentionRWKV; c.HeadDim = 2 },
		func(c *Config) { c.Attention = AttentionRWKV; c.Window = 0 },
	} {
		if err := tinyCfg(t, mut).Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", tinyCfg(t, mut), err)
		}
	}
	ok := tinyCfg(t, func(c *Config) { c.Attention = AttentionRWKV; c.Chunk = 0; c.LocalHeads = 0; c.RopeBase = 0 })
	if err := ok.Validate(); err != nil {
		t.Errorf("rwkv without chunk or RoPE: %v", err)
	}
}

// TestFamiliesLinearMemory: activation bytes grow linearly with T (O(T)
// memory, no (T, T) buffer) for every family of the paper shape.
func TestFamiliesLinearMemory(t *testing.T) {
	for _, kind := range AttentionKinds {
		if kind == AttentionQuadratic {
			continue // O(T) memory too, but its kernel scratch is per 64 queries
		}
		c, _ := Preset("paper")
		c.Attention = kind
		m := &Model{Config: c, layout: paramLayout(c)}
		a1, a2, a3 := m.ActivationBytes(1, 4096), m.ActivationBytes(1, 8192), m.ActivationBytes(1, 12288)
		if a3-a2 != a2-a1 {
			t.Errorf("%s: activation bytes %d, %d, %d at T = 4096, 8192, 12288 are not linear", kind, a1, a2, a3)
		}
		t.Logf("%s: %.0f MB of activations at T=12288", kind, float64(a3)/(1<<20))
	}
}
