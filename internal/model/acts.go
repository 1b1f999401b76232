package model

import "github.com/trafficgpt/trafficgpt/internal/kernel"

// arena carves views out of one float32 slab and one uint8 slab. It runs
// twice: once with nil slabs to measure, once to hand out the views.
type arena struct {
	f      []float32
	b      []uint8
	i      []int32
	nf, nb int
	ni     int
}

func (a *arena) floats(n int) []float32 {
	s := a.nf
	a.nf += n
	if a.f == nil {
		return nil
	}
	return a.f[s : s+n : s+n]
}

func (a *arena) bytes(n int) []uint8 {
	s := a.nb
	a.nb += n
	if a.b == nil {
		return nil
	}
	return a.b[s : s+n : s+n]
}

func (a *arena) ints(n int) []int32 {
	s := a.ni
	a.ni += n
	if a.i == nil {
		return nil
	}
	return a.i[s : s+n : s+n]
}

// attnActs is what the attention block keeps for its backward pass.
// Per-head tensors hold the softmax heads first (B*HS, T, D), then the
// linear heads (B*HL, T, D); q and k are stored after RoPE.
type attnActs struct {
	mean, rstd []float32 // (N)
	ts         []float32 // (N, C) the token-shifted normed input of the QKV matmul
	q, k, v, o []float32 // (N*inner) per head
	lse        []float32 // (B*HS, T)
	state      []float32 // (B*HL, Linear/RetentionStateSize) (none for rwkv)
	g          []float32 // retention: (B*HL, T, D) gate pre-activation
	mask       []uint8   // (N, C) dropout mask
}

// ffnActs is what the feed-forward block keeps for its backward pass.
type ffnActs struct {
	mean, rstd []float32 // (N)
	ts         []float32 // (N, C)
	fc         []float32 // (N, FFN) pre-GELU
	mask       []uint8   // (N, C)
}

// scratch is shared by all layers: block temporaries and backward buffers.
type scratch struct {
	ln, proj, drop      []float32 // (N, C)
	qkv                 []float32 // (N, 3*inner)
	att                 []float32 // (N, inner) merged heads
	gelu                []float32 // (N, FFN)
	dproj, dts, dln     []float32 // (N, C)
	datt, dheads        []float32 // (N, inner)
	dq, dk, dv          []float32 // (N*inner) per head
	dqkv                []float32 // (N, 3*inner)
	dfc, dgelu          []float32 // (N, FFN)
	kern                []float32 // attention kernel scratch
	gate                []float32 // retention: (N, HL*D) gate rows, then their gradient
	dg                  []float32 // retention: (B*HL, T, D) gate gradient per head
	attnSlots, ffnSlots int
}

// acts is every activation of one (B, T) shape.
type acts struct {
	B, T int
	attn []attnActs // Layers entries, or 1 when reversible layers recompute
	ffn  []ffnActs
	s    scratch

	// Residual streams, (N, C) each.
	resid  [][]float32 // plain: 2*Layers+1 (input of each block, then the final)
	y1, y2 []float32   // reversible: running halves (hold x1, x2 in backward)
	x2s    [][]float32 // reversible with storeAll: attention-block input per layer
	y1s    [][]float32 // reversible with storeAll: FFN-block input per layer
	xf     []float32   // input of the final layer norm
	dx     []float32   // plain: residual gradient; reversible: dy1
	dy2    []float32

	lnf, lnfMean, lnfRstd []float32 // (N, C), (N), (N)
	dlnf                  []float32 // (N, C)
	logits                []float32 // (N, V); reused as dlogits in Backward
	probs                 []float32 // (N, V)
	losses, dloss         []float32 // (N)
	tokens, targets       []int32   // (N) copies of the caller's

	// Classifier, B rows.
	rows                         []int32   // (B) row index b*T+pos; with PoolMean the <cls> position
	clsLabels                    []int32   // (B)
	clsH, dclsH                  []float32 // (B, C)
	clsLogits, clsProbs          []float32 // (B, K)
	clsLosses, clsDloss, clsDlog []float32 // (B), (B), (B, K)
}

// layoutActs assigns every activation view for (B, T) from ar.
func (m *Model) layoutActs(ar *arena, B, T int) *acts {
	c := m.Config
	N, C, inner, D := B*T, c.Width, c.Inner(), c.HeadDim
	HS, HL := c.softmaxHeads(), c.linearHeads()
	a := &acts{B: B, T: T}
	slots := c.Layers
	if c.Reversible && !m.storeAll {
		slots = 1
	}
	stateSize, gateSize := 0, 0
	if HL > 0 {
		switch c.Attention {
		case AttentionRetention:
			stateSize = B * HL * kernel.RetentionStateSize(T, D, c.Chunk)
			gateSize = N * HL * D
		case AttentionRWKV:
		default:
			stateSize = B * HL * kernel.LinearAttentionStateSize(T, D, c.Chunk)
		}
	}
	a.attn = make([]attnActs, slots)
	a.ffn = make([]ffnActs, slots)
	for i := 0; i < slots; i++ {
		at := &a.attn[i]
		at.mean, at.rstd, at.ts = ar.floats(N), ar.floats(N), ar.floats(N*C)
		at.q, at.k, at.v, at.o = ar.floats(N*inner), ar.floats(N*inner), ar.floats(N*inner), ar.floats(N*inner)
		at.lse = ar.floats(B * HS * T)
		at.state = ar.floats(stateSize)
		at.g = ar.floats(gateSize)
		if c.Dropout > 0 {
			at.mask = ar.bytes(N * C)
		}
		f := &a.ffn[i]
		f.mean, f.rstd, f.ts = ar.floats(N), ar.floats(N), ar.floats(N*C)
		f.fc = ar.floats(N * c.FFN)
		if c.Dropout > 0 {
			f.mask = ar.bytes(N * C)
		}
	}
	s := &a.s
	s.ln, s.proj, s.drop = ar.floats(N*C), ar.floats(N*C), ar.floats(N*C)
	s.qkv, s.att, s.gelu = ar.floats(N*3*inner), ar.floats(N*inner), ar.floats(N*c.FFN)
	// Backward buffers share memory with forward temporaries that are dead
	// by the time they are written (block recomputation in reversible
	// backward finishes with them first): dproj/proj, dln/ln, dqkv/qkv,
	// dheads/att (att is consumed by the out-projection's backward before
	// dheads is written), dfc/gelu (likewise for the FFN projection).
	s.dproj, s.dln, s.dqkv, s.dheads, s.dfc = s.proj, s.ln, s.qkv, s.att, s.gelu
	s.dts = ar.floats(N * C)
	s.datt = ar.floats(N * inner)
	s.dq, s.dk, s.dv = ar.floats(N*inner), ar.floats(N*inner), ar.floats(N*inner)
	s.dgelu = ar.floats(N * c.FFN)
	kern := 0
	if c.Attention == AttentionQuadratic {
		kern = kernel.QuadraticAttentionScratchSize(B*HS, T, D)
	} else {
		if HS > 0 {
			kern = kernel.LocalAttentionScratchSize(B*HS, T, D, c.Window)
		}
		if HL > 0 {
			switch c.Attention {
			case AttentionRetention:
				kern = max(kern, kernel.RetentionScratchSize(B*HL, T, D, c.Chunk))
			case AttentionRWKV:
				kern = max(kern, kernel.RWKVScratchSize(B*HL, T, D))
			default:
				kern = max(kern, kernel.LinearAttentionScratchSize(B*HL, T, D, c.Chunk))
			}
		}
	}
	s.kern = ar.floats(kern)
	s.gate, s.dg = ar.floats(gateSize), ar.floats(gateSize)

	if c.Reversible {
		a.y1, a.y2, a.dy2 = ar.floats(N*C), ar.floats(N*C), ar.floats(N*C)
		if m.storeAll {
			a.x2s = make([][]float32, c.Layers)
			a.y1s = make([][]float32, c.Layers)
			for l := range a.x2s {
				a.x2s[l], a.y1s[l] = ar.floats(N*C), ar.floats(N*C)
			}
		}
		a.xf = ar.floats(N * C)
	} else {
		a.resid = make([][]float32, 2*c.Layers+1)
		for i := range a.resid {
			a.resid[i] = ar.floats(N * C)
		}
		a.xf = a.resid[2*c.Layers]
	}
	a.dx = ar.floats(N * C)
	a.lnf, a.lnfMean, a.lnfRstd, a.dlnf = ar.floats(N*C), ar.floats(N), ar.floats(N), ar.floats(N*C)
	a.logits, a.probs = ar.floats(N*c.Vocab), ar.floats(N*c.Vocab)
	a.losses, a.dloss = ar.floats(N), ar.floats(N)
	a.tokens, a.targets = ar.ints(N), ar.ints(N)
	if K := c.Classes; K > 0 {
		a.rows, a.clsLabels = ar.ints(B), ar.ints(B)
		a.clsH, a.dclsH = ar.floats(B*C), ar.floats(B*C)
		a.clsLogits, a.clsProbs, a.clsDlog = ar.floats(B*K), ar.floats(B*K), ar.floats(B*K)
		a.clsLosses, a.clsDloss = ar.floats(B), ar.floats(B)
	}
	return a
}

// ActivationBytes is the size of the activation slabs for (B, T).
func (m *Model) ActivationBytes(B, T int) int64 {
	var ar arena
	m.layoutActs(&ar, B, T)
	return 4*int64(ar.nf) + int64(ar.nb) + 4*int64(ar.ni)
}

// Allocate sizes the activation slabs for batch B and context T. Forward
// calls it when a shape needs more room than the current one; calling it up
// front with the largest shape avoids reallocation. Smaller shapes reuse the
// slabs (views are re-carved, nothing is allocated but the view headers).
func (m *Model) Allocate(B, T int) {
	var ar arena
	m.layoutActs(&ar, B, T)
	if ar.nf > len(m.actF) || ar.nb > len(m.actB) || ar.ni > len(m.actI) {
		m.actF, m.actB, m.actI = nil, nil, nil // let the old slabs go first
		m.acts = nil
		m.actF = make([]float32, ar.nf)
		m.actB = make([]uint8, ar.nb)
		m.actI = make([]int32, ar.ni)
	}
	ar2 := arena{f: m.actF[:cap(m.actF)], b: m.actB[:cap(m.actB)], i: m.actI[:cap(m.actI)]}
	if ar2.b == nil {
		ar2.b = []uint8{}
	}
	if ar2.i == nil {
		ar2.i = []int32{}
	}
	m.acts = m.layoutActs(&ar2, B, T)
}

// ensure makes the activations fit (B, T).
func (m *Model) ensure(B, T int) {
	if m.acts == nil || m.acts.B != B || m.acts.T != T {
		m.Allocate(B, T)
	}
}
