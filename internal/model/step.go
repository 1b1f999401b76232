package model

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/trafficgpt/trafficgpt/internal/kernel"
)

// State is the recurrent inference state of Batch independent sequences
// (rows) that advance together, one token per row per Step: per layer and
// row the previous position's normed hidden states (token shift), the ring
// buffers of the last W+1 rotated keys and values of the softmax heads, and
// S (D, D), z (D) of each linear head. Each row has its own position
// (Pos(b)): ResetRow starts row b over at position 0 while the others go
// on, so a batch can take a new sequence in a row as soon as the row's
// sequence ends. Memory and time per Step do not depend on the positions.
// All of it lives in one slab.
//
// A State also holds the step's weight matrices in the panel layout
// (kernel.PackPanels; one allocation, as large as the model's matrices),
// copied at NewState: Step multiplies with kernel.MatmulPanels, which at
// a batch of 8 runs at about twice the few-row product's rate on the
// model's own layout (BenchmarkMatmulSmall). Step therefore uses the
// weights as they were at NewState; a model changed after that needs a new
// State.
type State struct {
	Batch int

	rows int // rows the current Step computes: [0, rows)

	pos []int // per row: the position the next Step computes

	ring     int         // ring length W+1 (local) or MaxContext (quadratic)
	window   int         // W passed to LocalAttentionStep
	shiftA   [][]float32 // per layer (Batch, C): last normed input of attention
	shiftF   [][]float32 // per layer (Batch, C): last normed input of the FFN
	kring    [][]float32 // per layer (Batch*HS, ring, D)
	vring    [][]float32
	S        [][]float32 // per layer (Batch*HL, D, D): linear S, retention R, rwkv a, b, p
	z        [][]float32 // per layer (Batch*HL, D): linear z
	gate     []float32   // (Batch, HL*D) retention gate rows
	x, x2    []float32   // (Batch, C) residual (x2: second reversible half)
	ln, ts   []float32   // (Batch, C)
	qkv      []float32   // (Batch, 3*inner)
	att      []float32   // (Batch, inner)
	proj     []float32   // (Batch, C)
	fc, gelu []float32   // (Batch, FFN)
	lnf      []float32   // (Batch, C)
	mean     []float32   // (Batch)
	rstd     []float32   // (Batch)
	logits   []float32   // (Batch, V)
	tokens   []int32     // (Batch)
	slab     []float32

	// The weights in the panel layout: per layer qkv, out, fc, proj and
	// the retention gate (nil without), and the LM head; views of panels.
	pQKV, pOut, pFC, pProj, pGate [][]float32
	pHead                         []float32
	panels                        []float32
}

// NewState returns a zeroed recurrent state for batch sequences. With
// quadratic attention the softmax heads keep the last MaxContext positions
// (a sliding window beyond that).
func (m *Model) NewState(batch int) (*State, error) {
	c := m.Config
	if batch < 1 {
		return nil, fmt.Errorf("%w: batch %d < 1", ErrShape, batch)
	}
	st := &State{Batch: batch, window: c.Window}
	if c.Attention == AttentionQuadratic {
		if c.MaxContext < 1 {
			return nil, fmt.Errorf("%w: quadratic attention generation needs max_context > 0", ErrConfig)
		}
		st.window = c.MaxContext - 1
	}
	st.ring = st.window + 1
	for pass := 0; pass < 2; pass++ {
		var ar arena
		if pass == 1 {
			ar.f = st.slab
		}
		m.layoutState(&ar, st)
		if pass == 0 {
			st.slab = make([]float32, ar.nf)
		}
	}
	st.tokens = make([]int32, batch)
	st.pos = make([]int, batch)
	m.packStepWeights(st)
	return st, nil
}

// packStepWeights copies the step's weight matrices into st's panels.
func (m *Model) packStepWeights(st *State) {
	c := m.Config
	C, inner, F, L := c.Width, c.Inner(), c.FFN, c.Layers
	gate := c.linearHeads() * c.HeadDim
	retention := c.Attention == AttentionRetention
	n := kernel.PanelsLen(c.Vocab, C)
	n += L * (kernel.PanelsLen(3*inner, C) + kernel.PanelsLen(C, inner) + kernel.PanelsLen(F, C) + kernel.PanelsLen(C, F))
	if retention {
		n += L * kernel.PanelsLen(gate, C)
	}
	st.panels = make([]float32, n)
	off := 0
	pack := func(w []float32, OC, IC int) []float32 {
		k := kernel.PanelsLen(OC, IC)
		p := st.panels[off : off+k : off+k]
		off += k
		kernel.PackPanels(p, w, OC, IC)
		return p
	}
	st.pQKV, st.pOut, st.pFC, st.pProj = make([][]float32, L), make([][]float32, L), make([][]float32, L), make([][]float32, L)
	st.pGate = make([][]float32, L)
	for l := range L {
		lp := &m.p.layers[l]
		st.pQKV[l] = pack(lp.qkvw, 3*inner, C)
		st.pOut[l] = pack(lp.outw, C, inner)
		st.pFC[l] = pack(lp.fcw, F, C)
		st.pProj[l] = pack(lp.projw, C, F)
		if retention {
			st.pGate[l] = pack(lp.gatew, gate, C)
		}
	}
	st.pHead = pack(m.p.lmHead, c.Vocab, C)
}

func (m *Model) layoutState(ar *arena, st *State) {
	c := m.Config
	B, C, D, L := st.Batch, c.Width, c.HeadDim, c.Layers
	HS, HL := c.softmaxHeads(), c.linearHeads()
	st.shiftA, st.shiftF = make([][]float32, L), make([][]float32, L)
	st.kring, st.vring = make([][]float32, L), make([][]float32, L)
	st.S, st.z = make([][]float32, L), make([][]float32, L)
	for l := 0; l < L; l++ {
		st.shiftA[l], st.shiftF[l] = ar.floats(B*C), ar.floats(B*C)
		st.kring[l], st.vring[l] = ar.floats(B*HS*st.ring*D), ar.floats(B*HS*st.ring*D)
		st.S[l], st.z[l] = ar.floats(B*HL*D*D), ar.floats(B*HL*D)
	}
	st.x, st.x2, st.ln, st.ts = ar.floats(B*C), ar.floats(B*C), ar.floats(B*C), ar.floats(B*C)
	st.qkv, st.att, st.proj = ar.floats(B*3*c.Inner()), ar.floats(B*c.Inner()), ar.floats(B*C)
	st.fc, st.gelu = ar.floats(B*c.FFN), ar.floats(B*c.FFN)
	st.lnf, st.mean, st.rstd = ar.floats(B*C), ar.floats(B), ar.floats(B)
	st.logits = ar.floats(B * c.Vocab)
	if c.Attention == AttentionRetention {
		st.gate = ar.floats(B * HL * D)
	}
}

// Pos is the position row b's next Step computes (the number of tokens the
// row has been fed since its last reset).
func (st *State) Pos(b int) int { return st.pos[b] }

// Reset returns every row to position 0.
func (st *State) Reset() {
	clear(st.slab)
	clear(st.pos)
}

// ResetRow returns row b alone to position 0 (an empty history), so that
// its next Step starts a new sequence; the other rows keep theirs.
func (m *Model) ResetRow(st *State, b int) error {
	if b < 0 || b >= st.Batch {
		return fmt.Errorf("%w: row %d of a state of batch %d", ErrShape, b, st.Batch)
	}
	m.rowParts(st, b, func(part []float32) { clear(part) })
	st.pos[b] = 0
	return nil
}

// RowState is a copy of one row's recurrent state (SaveRow), to go back to
// (RestoreRow): per layer the token-shift rows, the softmax heads' rings,
// the global heads' S and z, and the position; the logits of the row's last
// Step with them. Its size is RowStateFloats floats; one RowState is reused
// by every SaveRow into it.
type RowState struct {
	f      []float32
	pos    int
	Logits []float32 // (Vocab) the row's logits of the Step before SaveRow
}

// RowStateFloats is the size of a RowState of m in float32s (the state
// one row carries; SaveRow and RestoreRow copy that much).
func (m *Model) RowStateFloats(st *State) int {
	c := m.Config
	C, D := c.Width, c.HeadDim
	HS, HL := c.softmaxHeads(), c.linearHeads()
	return c.Layers*(2*C+2*HS*st.ring*D+HL*D*D+HL*D) + c.Vocab
}

// rowParts calls fn with each per-row part of st's state for row b.
func (m *Model) rowParts(st *State, b int, fn func(part []float32)) {
	c := m.Config
	C, D := c.Width, c.HeadDim
	HS, HL := c.softmaxHeads(), c.linearHeads()
	rows := func(s []float32, n int) { fn(s[b*n : (b+1)*n]) }
	for l := 0; l < c.Layers; l++ {
		rows(st.shiftA[l], C)
		rows(st.shiftF[l], C)
		rows(st.kring[l], HS*st.ring*D)
		rows(st.vring[l], HS*st.ring*D)
		rows(st.S[l], HL*D*D)
		rows(st.z[l], HL*D)
	}
}

// SaveRow copies row b's state, position and last logits into rs (reusing
// its buffer), so that RestoreRow can bring the row back to this point:
// a sampler going back to before a token it rejects.
func (m *Model) SaveRow(st *State, b int, rs *RowState) error {
	if b < 0 || b >= st.Batch {
		return fmt.Errorf("%w: row %d of a state of batch %d", ErrShape, b, st.Batch)
	}
	rs.f = rs.f[:0]
	m.rowParts(st, b, func(part []float32) { rs.f = append(rs.f, part...) })
	V := m.Config.Vocab
	rs.Logits = append(rs.Logits[:0], st.logits[b*V:(b+1)*V]...)
	rs.pos = st.pos[b]
	return nil
}

// RestoreRow puts row b back to the state SaveRow copied into rs (from any
// row of a State of the same model); the other rows are untouched. The
// row's next Step then computes what it would have after SaveRow.
func (m *Model) RestoreRow(st *State, b int, rs *RowState) error {
	if b < 0 || b >= st.Batch {
		return fmt.Errorf("%w: row %d of a state of batch %d", ErrShape, b, st.Batch)
	}
	if len(rs.f)+len(rs.Logits) != m.RowStateFloats(st) {
		return fmt.Errorf("%w: row state of %d floats, this model's rows hold %d", ErrShape, len(rs.f)+len(rs.Logits), m.RowStateFloats(st))
	}
	off := 0
	m.rowParts(st, b, func(part []float32) { off += copy(part, rs.f[off:]) })
	V := m.Config.Vocab
	copy(st.logits[b*V:(b+1)*V], rs.Logits)
	st.pos[b] = rs.pos
	return nil
}

// Step feeds one token to each of the first len(tokens) rows (1 to
// Batch), row b at position Pos(b), and returns their next-token logits
// (len(tokens), Vocab), a view into the state valid until the next Step;
// those rows' positions advance by one, the rows past them keep their
// state and position untouched (a sampler whose last rows sit idle steps
// only the busy ones: MoveRow packs them first). Row b's logits are
// Forward's over the tokens row b was fed since its last reset, whatever
// the number of rows stepped with it.
func (m *Model) Step(st *State, tokens []int32) ([]float32, error) {
	c := m.Config
	if len(tokens) < 1 || len(tokens) > st.Batch {
		return nil, fmt.Errorf("%w: %d tokens for a state of batch %d", ErrShape, len(tokens), st.Batch)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= c.Vocab {
			return nil, fmt.Errorf("%w: tokens[%d] = %d, vocab %d", ErrToken, i, t, c.Vocab)
		}
	}
	B, C := len(tokens), c.Width
	st.rows = B
	copy(st.tokens, tokens)
	kernel.EmbeddingForward(st.x, st.tokens, m.p.wte, B, C)
	if c.Reversible {
		copy(st.x2, st.x)
		for l := 0; l < c.Layers; l++ {
			kernel.AddInPlace(st.x, m.attnStep(st, st.x2, l), B*C)
			kernel.AddInPlace(st.x2, m.ffnStep(st, st.x, l), B*C)
		}
		kernel.AddInPlace(st.x, st.x2, B*C)
		kernel.Scale(st.x, 0.5, B*C)
	} else {
		for l := 0; l < c.Layers; l++ {
			kernel.AddInPlace(st.x, m.attnStep(st, st.x, l), B*C)
			kernel.AddInPlace(st.x, m.ffnStep(st, st.x, l), B*C)
		}
	}
	kernel.LayerNormForward(st.lnf, st.mean, st.rstd, st.x, m.p.lnfw, m.p.lnfb, B, C)
	kernel.MatmulPanels(st.logits, st.lnf, st.pHead, nil, B, C, c.Vocab)
	for b := range B {
		st.pos[b]++
	}
	return st.logits[: B*c.Vocab : B*c.Vocab], nil
}

// MoveRow moves row src's state, position and last logits to row dst (src
// is then reset to position 0; the other rows are untouched), so that a
// sampler can pack its busy rows first and Step only them. The row goes on
// from dst exactly as it would have from src.
func (m *Model) MoveRow(st *State, dst, src int) error {
	if dst < 0 || dst >= st.Batch || src < 0 || src >= st.Batch {
		return fmt.Errorf("%w: move row %d to %d in a state of batch %d", ErrShape, src, dst, st.Batch)
	}
	if dst == src {
		return nil
	}
	var parts [][]float32
	m.rowParts(st, src, func(part []float32) { parts = append(parts, part) })
	i := 0
	m.rowParts(st, dst, func(part []float32) { copy(part, parts[i]); clear(parts[i]); i++ })
	V := m.Config.Vocab
	copy(st.logits[dst*V:(dst+1)*V], st.logits[src*V:(src+1)*V])
	st.pos[dst], st.pos[src] = st.pos[src], 0
	return nil
}

// Hidden is the (Batch, C) final-normed hidden state of the last Step.
func (st *State) Hidden() []float32 { return st.lnf }

// normShiftStep is LN then token shift against the previous position's
// normed values kept in prev (Batch, C), which it updates.
func (m *Model) normShiftStep(st *State, prev, in, w, b []float32) {
	c := m.Config
	B, C := st.rows, c.Width
	kernel.LayerNormForward(st.ln, st.mean, st.rstd, in, w, b, B, C)
	if !c.TokenShift {
		copy(st.ts, st.ln[:B*C])
		return
	}
	h := C / 2
	for n := 0; n < B; n++ {
		r := n * C
		copy(st.ts[r:r+h], prev[r:r+h])
		copy(st.ts[r+h:r+C], st.ln[r+h:r+C])
	}
	copy(prev[:B*C], st.ln[:B*C])
}

func (m *Model) attnStep(st *State, in []float32, l int) []float32 {
	c := m.Config
	B, C, inner := st.rows, c.Width, c.Inner()
	lp := &m.p.layers[l]
	m.normShiftStep(st, st.shiftA[l], in, lp.ln1w, lp.ln1b)
	kernel.MatmulPanels(st.qkv, st.ts, st.pQKV[l], lp.qkvb, B, C, 3*inner)
	m.globalStepInput(st, l)
	stepRows(B, func(lo, hi int) { m.attnStepRows(st, l, lo, hi) })
	kernel.MatmulPanels(st.proj, st.att, st.pOut[l], lp.outb, B, inner, C)
	return st.proj
}

// stepRows calls fn over [0, B) split into contiguous ranges of rows, one
// per core: the rows of a batch attend independently (each writes only its
// own state and output), and at batch 8 the per-row attention is a sixth
// of a step.
func stepRows(B int, fn func(lo, hi int)) {
	nw := min(B, runtime.GOMAXPROCS(0))
	if nw <= 1 {
		fn(0, B)
		return
	}
	var wg sync.WaitGroup
	per := (B + nw - 1) / nw
	for lo := per; lo < B; lo += per {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+per, B))
	}
	fn(0, min(per, B))
	wg.Wait()
}

// attnStepRows is the attention of rows [lo, hi) at layer l: RoPE and the
// local softmax heads over the rings, then the global heads.
func (m *Model) attnStepRows(st *State, l, lo, hi int) {
	c := m.Config
	D, inner := c.HeadDim, c.Inner()
	HS, HL := c.softmaxHeads(), c.linearHeads()
	R := st.ring * D
	for n := lo; n < hi; n++ {
		row, pos := st.qkv[n*3*inner:(n+1)*3*inner], st.pos[n]
		// RoPE of the softmax heads' q and k (contiguous HS heads each): one
		// call computes the angles of pos once for all of them.
		kernel.RopeForwardAt(row[:HS*D:HS*D], HS, 1, D, c.RopeBase, pos)
		kernel.RopeForwardAt(row[inner:inner+HS*D:inner+HS*D], HS, 1, D, c.RopeBase, pos)
		for h := 0; h < HS+HL; h++ {
			q := row[h*D : h*D+D : h*D+D]
			k := row[inner+h*D : inner+h*D+D : inner+h*D+D]
			v := row[2*inner+h*D : 2*inner+h*D+D : 2*inner+h*D+D]
			out := st.att[n*inner+h*D : n*inner+h*D+D : n*inner+h*D+D]
			if h < HS {
				i := n*HS + h
				kernel.LocalAttentionStep(out, st.kring[l][i*R:(i+1)*R], st.vring[l][i*R:(i+1)*R],
					pos, q, k, v, D, st.window)
			} else {
				m.globalStep(st, l, n, h-HS, pos, q, k, v, out)
			}
		}
	}
}

func (m *Model) ffnStep(st *State, in []float32, l int) []float32 {
	c := m.Config
	B, C, F := st.rows, c.Width, c.FFN
	lp := &m.p.layers[l]
	m.normShiftStep(st, st.shiftF[l], in, lp.ln2w, lp.ln2b)
	kernel.MatmulPanels(st.fc, st.ts, st.pFC[l], lp.fcb, B, C, F)
	kernel.GeluForward(st.gelu, st.fc, B*F)
	kernel.MatmulPanels(st.proj, st.gelu, st.pProj[l], lp.projb, B, F, C)
	return st.proj
}
