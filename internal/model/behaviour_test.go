package model

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func maxRelDiff(a, b []float32) float64 {
	var worst float64
	for i := range a {
		d := math.Abs(float64(a[i]-b[i])) / math.Max(1, math.Abs(float64(b[i])))
		worst = math.Max(worst, d)
	}
	return worst
}

// TestStepMatchesForward checks that recurrent generation reproduces the
// parallel forward position by position, beyond the window and several
// chunks.
func TestStepMatchesForward(t *testing.T) {
	cases := []struct {
		name string
		mut  func(*Config)
	}{
		{"linear", nil},
		{"reversible", func(c *Config) { c.Reversible = true }},
		{"noshift", func(c *Config) { c.TokenShift = false }},
		{"quadratic", func(c *Config) { c.Attention = AttentionQuadratic; c.MaxContext = 64 }},
	}
	const B, T = 2, 37 // W=8, chunk=8: more than 4 windows and chunks
	for _, tc := range cases {
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
				step := []int32{tok[pos], tok[T+pos]}
				got, err := m.Step(st, step)
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

// stepFamilies are the configurations the recurrent-state tests cover:
// every attention family and the reversible trunk.
var stepFamilies = []struct {
	name string
	mut  func(*Config)
}{
	{"linear", nil},
	{"reversible", func(c *Config) { c.Reversible = true }},
	{"quadratic", func(c *Config) { c.Attention = AttentionQuadratic; c.MaxContext = 64 }},
	{"retention", func(c *Config) { c.Attention = AttentionRetention }},
	{"rwkv", func(c *Config) { c.Attention = AttentionRWKV }},
}

// TestStepPerRowPositions: rows of one State reset at different times
// (ResetRow) each reproduce Forward over their own sequence since their
// last reset, so a row can start a new sequence while the others go on.
// Row 0 never resets, row 1 resets every 11 steps, row 2 after 5 and 30
// steps (beyond the window W=8 and across chunks of 8).
func TestStepPerRowPositions(t *testing.T) {
	cases := stepFamilies
	const B, steps = 3, 45
	resets := func(b, s int) bool {
		switch b {
		case 1:
			return s > 0 && s%11 == 0
		case 2:
			return s == 5 || s == 30
		}
		return false
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tinyCfg(t, tc.mut)
			m := newModel(t, c, 5)
			scaleParams(m, 5)
			tok := randTokens(B*steps, c.Vocab, 3)
			st, err := m.NewState(B)
			if err != nil {
				t.Fatal(err)
			}
			V := c.Vocab
			got := make([][]float32, B) // per row: logits since the last reset
			start := make([]int, B)
			check := func(b, end int) {
				T := end - start[b]
				if T == 0 {
					return
				}
				seq := make([]int32, T)
				for i := range seq {
					seq[i] = tok[(start[b]+i)*B+b]
				}
				if _, err := m.Forward(seq, nil, 1, T); err != nil {
					t.Fatal(err)
				}
				if d := maxRelDiff(got[b], m.Logits()[:T*V]); d > 1e-4 {
					t.Fatalf("row %d, steps %d..%d: step differs from forward by %.3g", b, start[b], end, d)
				}
			}
			in := make([]int32, B)
			for s := 0; s < steps; s++ {
				for b := 0; b < B; b++ {
					if resets(b, s) {
						check(b, s)
						if err := m.ResetRow(st, b); err != nil {
							t.Fatal(err)
						}
						got[b], start[b] = got[b][:0], s
					}
					if st.Pos(b) != s-start[b] {
						t.Fatalf("row %d step %d: Pos %d, want %d", b, s, st.Pos(b), s-start[b])
					}
					in[b] = tok[s*B+b]
				}
				lg, err := m.Step(st, in)
				if err != nil {
					t.Fatal(err)
				}
				for b := 0; b < B; b++ {
					got[b] = append(got[b], lg[b*V:(b+1)*V]...)
				}
			}
			for b := 0; b < B; b++ {
				check(b, steps)
			}
			if err := m.ResetRow(st, B); !errors.Is(err, ErrShape) {
				t.Fatalf("ResetRow(%d) of batch %d: %v, want ErrShape", B, B, err)
			}
		})
	}
}

// TestCausal changes the tokens after position t and checks logits 0..t.
func TestCausal(t *testing.T) {
	for _, rev := range []bool{false, true} {
		c := tinyCfg(t, func(c *Config) { c.Reversible = rev })
		m := newModel(t, c, 2)
		scaleParams(m, 5)
		const T = 41
		tok := randTokens(T, c.Vocab, 1)
		m.Forward(tok, nil, 1, T)
		base := append([]float32(nil), m.Logits()...)
		for _, cut := range []int{0, 7, 8, 9, 16, 23, 39} {
			alt := append([]int32(nil), tok...)
			for i := cut + 1; i < T; i++ {
				alt[i] = (alt[i] + 1 + int32(i)) % int32(c.Vocab)
			}
			m.Forward(alt, nil, 1, T)
			got := m.Logits()
			V := c.Vocab
			if d := maxRelDiff(got[:(cut+1)*V], base[:(cut+1)*V]); d != 0 {
				t.Errorf("reversible=%v cut %d: logits up to the cut changed by %g", rev, cut, d)
			}
			if cut < T-2 && maxRelDiff(got[(cut+1)*V:], base[(cut+1)*V:]) == 0 {
				t.Errorf("reversible=%v cut %d: later logits did not change", rev, cut)
			}
		}
	}
}

// TestReversibleRecompute compares recomputed reversible backward with one
// that stores every layer's activations, with dropout on.
func TestReversibleRecompute(t *testing.T) {
	c := tinyCfg(t, func(c *Config) { c.Reversible = true; c.Dropout = 0.2; c.Layers = 3 })
	const B, T = 2, 21
	tok := randTokens(B*T, c.Vocab, 1)
	tgt := randTokens(B*T, c.Vocab, 2)
	run := func(store bool) (float32, []float32) {
		m := newModel(t, c, 3)
		m.storeAll = store
		m.Train, m.Seed = true, 77
		l, err := m.Forward(tok, tgt, B, T)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
		return l, m.Grads()
	}
	l1, g1 := run(false)
	l2, g2 := run(true)
	if l1 != l2 {
		t.Fatalf("loss %v (recompute) != %v (stored)", l1, l2)
	}
	var num, den float64
	for i := range g1 {
		d := float64(g1[i] - g2[i])
		num += d * d
		den += float64(g2[i]) * float64(g2[i])
	}
	if r := math.Sqrt(num / den); r > 1e-4 {
		t.Fatalf("gradients differ: relative L2 %.3g", r)
	}
}

func TestDeterministic(t *testing.T) {
	c := tinyCfg(t, func(c *Config) { c.Dropout = 0.1 })
	const B, T = 2, 13
	tok := randTokens(B*T, c.Vocab, 1)
	var first []float32
	for i := 0; i < 2; i++ {
		m := newModel(t, c, 42)
		m.Train, m.Seed = true, 9
		m.Forward(tok, tok, B, T)
		m.Backward()
		if i == 0 {
			first = append([]float32(nil), m.Grads()...)
		} else if maxRelDiff(m.Grads(), first) != 0 {
			t.Fatal("same seed, different gradients")
		}
	}
	a, b := newModel(t, c, 1), newModel(t, c, 2)
	if maxRelDiff(a.Params(), b.Params()) == 0 {
		t.Fatal("different seeds, same parameters")
	}
}

// adam is a minimal Adam for the overfitting test.
type adam struct{ m, v []float32 }

func (o *adam) step(p, g []float32, lr float32, it int) {
	if o.m == nil {
		o.m, o.v = make([]float32, len(p)), make([]float32, len(p))
	}
	b1, b2 := float32(0.9), float32(0.999)
	c1 := 1 - float32(math.Pow(0.9, float64(it)))
	c2 := 1 - float32(math.Pow(0.999, float64(it)))
	for i := range p {
		o.m[i] = b1*o.m[i] + (1-b1)*g[i]
		o.v[i] = b2*o.v[i] + (1-b2)*g[i]*g[i]
		p[i] -= lr * (o.m[i] / c1) / (float32(math.Sqrt(float64(o.v[i]/c2))) + 1e-8)
	}
}

func TestOverfit(t *testing.T) {
	for _, rev := range []bool{false, true} {
		c := tinyCfg(t, func(c *Config) { c.Reversible = rev })
		m := newModel(t, c, 1)
		const B, T = 2, 24
		seq := randTokens(B*(T+1), 50, 3)
		tok, tgt := make([]int32, 0, B*T), make([]int32, 0, B*T)
		for b := 0; b < B; b++ {
			tok = append(tok, seq[b*(T+1):b*(T+1)+T]...)
			tgt = append(tgt, seq[b*(T+1)+1:(b+1)*(T+1)]...)
		}
		var o adam
		var loss float32
		for it := 1; it <= 150; it++ {
			m.ZeroGrad()
			loss, _ = m.Forward(tok, tgt, B, T)
			m.Backward()
			o.step(m.Params(), m.Grads(), 1e-2, it)
		}
		t.Logf("reversible=%v: final loss %.4f", rev, loss)
		if loss > 0.05 {
			t.Errorf("reversible=%v: loss %.4f after 150 Adam steps", rev, loss)
		}
	}
}

func TestClassifier(t *testing.T) {
	for _, pool := range []string{"", PoolLast, PoolMean} {
		t.Run("pool="+pool, func(t *testing.T) {
			c := tinyCfg(t, nil)
			c.Vocab = 29
			c.Pool = pool
			m := newModel(t, c, 1)
			trunk := append([]float32(nil), m.Params()...)
			if err := m.AddClassifier(5, 3); err != nil {
				t.Fatal(err)
			}
			if maxRelDiff(m.Params()[:len(trunk)], trunk) != 0 {
				t.Fatal("AddClassifier changed the trunk")
			}
			scaleParams(m, 10)
			const B, T = 3, 12
			tok := randTokens(B*T, c.Vocab, 4)
			pos := []int32{11, 5, 0}
			labels := []int32{4, -1, 2}
			loss := func() float64 {
				l, probs, err := m.ForwardClassify(tok, B, T, pos, labels)
				if err != nil {
					t.Fatal(err)
				}
				if len(probs) != B*5 {
					t.Fatalf("probs %d", len(probs))
				}
				return float64(l)
			}
			gradCheck(t, m, loss, 2e-2)
			if _, _, err := m.ForwardClassify(tok, B, T, []int32{12, 0, 0}, labels); !errors.Is(err, ErrShape) {
				t.Fatalf("bad position: err %v", err)
			}
			// Tokens after a row's <cls> position never change its prediction
			// (causal trunk; the mean stops at <cls>).
			_, p1, _ := m.ForwardClassify(tok, B, T, pos, nil)
			want := append([]float32(nil), p1...)
			tok2 := append([]int32(nil), tok...)
			for i := 6; i < T; i++ {
				tok2[T+i] = (tok2[T+i] + 1) % int32(c.Vocab) // row 1 after its position 5
			}
			_, p2, _ := m.ForwardClassify(tok2, B, T, pos, nil)
			if d := maxRelDiff(p2, want); d != 0 {
				t.Fatalf("tokens after <cls> changed the probabilities by %g", d)
			}
			// Tokens before it do, under either pooling.
			tok2[T+2] = (tok2[T+2] + 1) % int32(c.Vocab)
			_, p3, _ := m.ForwardClassify(tok2, B, T, pos, nil)
			if maxRelDiff(p3[5:10], want[5:10]) == 0 {
				t.Fatal("a token before <cls> did not change the prediction")
			}
		})
	}
}

func TestCheckpoint(t *testing.T) {
	c := tinyCfg(t, func(c *Config) { c.TiedEmbedding = false; c.Classes = 3 })
	m := newModel(t, c, 8)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := m.Save(path, map[string]string{"step": "12"}); err != nil {
		t.Fatal(err)
	}
	m2, meta, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["step"] != "12" || m2.Config != m.Config {
		t.Fatalf("meta %v config %+v", meta, m2.Config)
	}
	if maxRelDiff(m2.Params(), m.Params()) != 0 {
		t.Fatal("parameters differ after round trip")
	}
	m3 := newModel(t, c, 9)
	if _, err := m3.LoadWeights(path); err != nil || maxRelDiff(m3.Params(), m.Params()) != 0 {
		t.Fatalf("LoadWeights: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}

	raw, _ := os.ReadFile(path)
	hl := binary.LittleEndian.Uint64(raw)
	other := newModel(t, tinyCfg(t, nil), 1)
	cases := []struct {
		name string
		data []byte
		into *Model
	}{
		{"empty", nil, nil},
		{"huge header", append([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, raw[8:]...), nil},
		{"truncated header", raw[:8+hl/2], nil},
		{"truncated data", raw[:len(raw)-5], nil},
		{"bad json", append(append([]byte(nil), raw[:8]...), bytes.Repeat([]byte{'{'}, int(hl))...), nil},
		{"other layout", raw, other},
		{"other architecture", raw, newModel(t, tinyCfg(t, func(c *Config) {
			c.TiedEmbedding, c.Classes, c.Reversible = false, 3, true
		}), 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.into != nil {
				p := filepath.Join(dir, "x")
				os.WriteFile(p, tc.data, 0o644)
				_, err = tc.into.LoadWeights(p)
				os.Remove(p)
			} else {
				_, _, err = ReadFrom(bytes.NewReader(tc.data))
			}
			if !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("err %v, want ErrCheckpoint", err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, name := range PresetNames() {
		c, _ := Preset(name)
		if err := c.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	bad := []func(*Config){
		func(c *Config) { c.Width = 31 },
		func(c *Config) { c.HeadDim = 7 },
		func(c *Config) { c.LocalHeads, c.GlobalHeads = 0, 0 },
		func(c *Config) { c.Window = 0 },
		func(c *Config) { c.Chunk = 0 },
		func(c *Config) { c.Dropout = 1 },
		func(c *Config) { c.Attention = "cosine" },
		func(c *Config) { c.Vocab = 1 },
		func(c *Config) { c.Pool = "max" },
	}
	for i, mut := range bad {
		c := tinyCfg(t, mut)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("case %d: err %v", i, err)
		}
	}
	if _, err := Preset("huge"); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown preset: %v", err)
	}
	m := newModel(t, tinyCfg(t, nil), 1)
	if _, err := m.Forward([]int32{1, 2, 512}, nil, 1, 3); !errors.Is(err, ErrToken) {
		t.Errorf("token 512: %v", err)
	}
	if err := m.Backward(); !errors.Is(err, ErrNoForward) {
		t.Errorf("backward without forward: %v", err)
	}
}

// TestMemoryBudget checks the slab sizes of the paper model at 12,032 tokens
// (reversible): parameters, gradients and activations stay well below 4 GB,
// and activations grow linearly with T, not with depth.
func TestMemoryBudget(t *testing.T) {
	c, _ := Preset("paper")
	m := &Model{Config: c, layout: paramLayout(c)}
	params := int64(m.ParamCount()) * 4
	acts := m.ActivationBytes(1, 12032)
	total := 2*params + acts
	t.Logf("paper: %d params (%.0f MB), activations at 12032: %.0f MB, at 32768: %.0f MB",
		m.ParamCount(), float64(params)/(1<<20), float64(acts)/(1<<20), float64(m.ActivationBytes(1, 32768))/(1<<20))
	if total > 3<<30 {
		t.Errorf("params+grads+activations %d MB > 3 GB", total>>20)
	}
	deep := c
	deep.Layers = 48
	md := &Model{Config: deep, layout: paramLayout(deep)}
	if md.ActivationBytes(1, 12032) != acts {
		t.Errorf("reversible activations depend on depth")
	}
}

// TestSaveRestoreRow: a row saved after a prefix, fed other tokens and
// restored continues exactly as a row that never left the prefix (same
// logits bit for bit, same position), while the other row goes on
// untouched; for every attention family.
func TestSaveRestoreRow(t *testing.T) {
	cases := stepFamilies
	const B, prefix, detour, after = 2, 13, 17, 12
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tinyCfg(t, tc.mut)
			m := newModel(t, c, 5)
			scaleParams(m, 5)
			tok := randTokens(B*(prefix+detour+after), c.Vocab, 3)
			V := c.Vocab
			// ref: both rows get prefix then after; st: row 1 takes a detour
			// after the prefix and is restored.
			ref, _ := m.NewState(B)
			st, _ := m.NewState(B)
			in := make([]int32, B)
			feed := func(s *State, i0, i1 int) []float32 {
				in[0], in[1] = tok[2*i0], tok[2*i1+1]
				lg, err := m.Step(s, in)
				if err != nil {
					t.Fatal(err)
				}
				return lg
			}
			var refLogits, stLogits []float32
			for i := 0; i < prefix; i++ {
				feed(ref, i, i)
				feed(st, i, i)
			}
			var rs RowState
			if err := m.SaveRow(st, 1, &rs); err != nil {
				t.Fatal(err)
			}
			if len(rs.f)+len(rs.Logits) != m.RowStateFloats(st) {
				t.Fatalf("row state %d floats, RowStateFloats %d", len(rs.f)+len(rs.Logits), m.RowStateFloats(st))
			}
			for i := 0; i < detour; i++ {
				feed(st, prefix+i, prefix+after+i) // row 0 goes on, row 1 wanders
			}
			if err := m.RestoreRow(st, 1, &rs); err != nil {
				t.Fatal(err)
			}
			if st.Pos(1) != prefix {
				t.Fatalf("restored position %d, want %d", st.Pos(1), prefix)
			}
			for i := 0; i < after; i++ {
				refLogits = feed(ref, prefix+i, prefix+i)
				// row 0 of st is detour steps ahead: compare row 1 only.
				stLogits = feed(st, prefix+detour+i, prefix+i)
				for k := 0; k < V; k++ {
					if refLogits[V+k] != stLogits[V+k] {
						t.Fatalf("step %d after restore, token %d: %g, never detoured %g", i, k, stLogits[V+k], refLogits[V+k])
					}
				}
			}
			var other RowState
			if err := m.SaveRow(st, B, &other); !errors.Is(err, ErrShape) {
				t.Errorf("SaveRow(%d): %v, want ErrShape", B, err)
			}
			if err := m.RestoreRow(st, 0, &other); !errors.Is(err, ErrShape) {
				t.Errorf("RestoreRow of an empty RowState: %v, want ErrShape", err)
			}
		})
	}
}

// TestStepPrefixAndMoveRow: a sampler packs its busy rows first (MoveRow)
// and steps only them (Step with fewer tokens than Batch). Each sequence's
// logits are bitwise those of the same sequence stepped alone in a State of
// batch 1, whichever row it sits in and however many rows step with it;
// rows past the prefix keep their state and position, and a moved row's
// old place starts over. Four sequences: row 1 ends after 10 steps and row
// 3's sequence moves into it; row 2 sits out steps 25 to 31 past the
// prefix and then goes on.
func TestStepPrefixAndMoveRow(t *testing.T) {
	for _, tc := range stepFamilies {
		t.Run(tc.name, func(t *testing.T) {
			c := tinyCfg(t, tc.mut)
			m := newModel(t, c, 5)
			scaleParams(m, 5)
			const seqs, steps = 4, 40
			V := c.Vocab
			tok := randTokens(seqs*steps, c.Vocab, 9)
			// want[q]: sequence q's logits, stepped alone.
			want := make([][]float32, seqs)
			for q := range seqs {
				one, err := m.NewState(1)
				if err != nil {
					t.Fatal(err)
				}
				for s := range steps {
					lg, err := m.Step(one, []int32{tok[q*steps+s]})
					if err != nil {
						t.Fatal(err)
					}
					want[q] = append(want[q], lg...)
				}
			}
			st, err := m.NewState(seqs)
			if err != nil {
				t.Fatal(err)
			}
			at := []int{0, 1, 2, 3} // row -> sequence
			fed := make([]int, seqs)
			for s := 0; ; s++ {
				switch s {
				case 10: // sequence 1 ends; sequence 3 moves from row 3 to row 1
					if err := m.MoveRow(st, 1, 3); err != nil {
						t.Fatal(err)
					}
					if st.Pos(3) != 0 || st.Pos(1) != fed[3] {
						t.Fatalf("after MoveRow: Pos(3) %d, Pos(1) %d, want 0 and %d", st.Pos(3), st.Pos(1), fed[3])
					}
					at = []int{0, 3, 2}
				case 25: // sequence 2 pauses past the prefix
					at = []int{0, 3}
				case 32: // and goes on from its state
					at = []int{0, 3, 2}
				}
				if fed[at[0]] == steps {
					break
				}
				in := make([]int32, len(at))
				for b, q := range at {
					in[b] = tok[q*steps+fed[q]]
				}
				idlePos := st.Pos(len(at) % seqs)
				lg, err := m.Step(st, in)
				if err != nil {
					t.Fatal(err)
				}
				if len(lg) != len(at)*V {
					t.Fatalf("step %d: %d logits for %d rows", s, len(lg), len(at))
				}
				if len(at) < seqs && st.Pos(len(at)) != idlePos {
					t.Fatalf("step %d: idle row %d moved from position %d to %d", s, len(at), idlePos, st.Pos(len(at)))
				}
				for b, q := range at {
					w := want[q][fed[q]*V : (fed[q]+1)*V]
					for i, x := range lg[b*V : (b+1)*V] {
						if x != w[i] {
							t.Fatalf("step %d, row %d (sequence %d, token %d): logit %d %v, alone %v", s, b, q, fed[q], i, x, w[i])
						}
					}
					fed[q]++
				}
			}
			if _, err := m.Step(st, nil); !errors.Is(err, ErrShape) {
				t.Errorf("Step with no tokens: %v, want ErrShape", err)
			}
		})
	}
}

// TestBenchStepBatch: the batch-1 and batch-8 step rates are positive and
// finite, and a canceled context stops the measurement.
func TestBenchStepBatch(t *testing.T) {
	c := tinyCfg(t, nil)
	one, eight, err := BenchStepBatch(context.Background(), c, 1, 2)
	if err != nil || !(one > 0 && eight > 0) || math.IsInf(one, 0) || math.IsInf(eight, 0) {
		t.Fatalf("rates %v, %v, err %v", one, eight, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := BenchStepBatch(ctx, c, 1, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}
