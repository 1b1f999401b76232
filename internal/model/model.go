package model

import (
	"errors"
	"fmt"

	"github.com/trafficgpt/trafficgpt/internal/kernel"
)

// Errors of the forward/backward API.
var (
	ErrShape      = errors.New("model: bad shape")
	ErrToken      = errors.New("model: token out of range")
	ErrNoForward  = errors.New("model: Backward without a Forward with targets")
	ErrClassifier = errors.New("model: no classifier head")
)

// Model is the transformer: parameters, gradients and activations, each in
// one slab. A Model is not safe for concurrent use (kernels parallelise).
type Model struct {
	Config Config // read only: the slabs are laid out for it

	// Train enables dropout. Seed is the dropout seed of the next Forward;
	// set it per step (masks are pure functions of (Seed, layer, site, index),
	// so reversible recomputation reproduces them).
	Train bool
	Seed  uint64

	layout []ParamInfo
	params []float32
	grads  []float32
	p, g   weights

	// storeAll makes reversible layers keep per-layer activations instead of
	// recomputing them (tests compare the two).
	storeAll bool

	actF []float32
	actB []uint8
	actI []int32
	acts *acts

	mode    int // what the last forward computed: modeNone, modeLM, modeCls
	nValid  int // non-ignored targets of the last LM forward
	classes int
}

const (
	modeNone = iota
	modeLM
	modeLMNoTargets
	modeCls
)

// New builds a model with freshly initialised parameters.
func New(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: cfg}
	m.layout = paramLayout(cfg)
	n := m.ParamCount()
	m.params = make([]float32, n)
	m.grads = make([]float32, n)
	m.p = bind(cfg, m.layout, m.params)
	m.g = bind(cfg, m.layout, m.grads)
	initParams(cfg, m.layout, m.params, seed)
	return m, nil
}

// AddClassifier appends a classification head (classes, C) to the parameter
// slab (keeping the trunk's values), e.g. to fine-tune a pre-trained model.
// The head is initialised from seed. Gradients are reset to zero.
func (m *Model) AddClassifier(classes int, seed uint64) error {
	if classes < 1 {
		return fmt.Errorf("%w: classes %d < 1", ErrConfig, classes)
	}
	if m.Config.Classes > 0 {
		return fmt.Errorf("%w: model already has a %d-class head", ErrConfig, m.Config.Classes)
	}
	cfg := m.Config
	cfg.Classes = classes
	layout := paramLayout(cfg)
	n := 0
	for _, p := range layout {
		n += p.Size
	}
	params := make([]float32, n)
	copy(params, m.params) // the head is appended after the trunk
	for i, p := range layout {
		if i >= len(m.layout) {
			initTensor(cfg, p, params[p.Offset:p.Offset+p.Size], seed, uint64(i), 0)
		}
	}
	m.Config, m.layout, m.params = cfg, layout, params
	m.grads = make([]float32, n)
	m.p = bind(cfg, layout, m.params)
	m.g = bind(cfg, layout, m.grads)
	m.actF, m.actB, m.actI, m.acts = nil, nil, nil, nil
	m.mode = modeNone
	return nil
}

// ParamCount is the number of parameters (floats in Params()).
func (m *Model) ParamCount() int {
	l := m.layout[len(m.layout)-1]
	return l.Offset + l.Size
}

// Params is the parameter slab; ParamInfos locates the tensors in it.
func (m *Model) Params() []float32 { return m.params }

// Grads is the gradient slab, laid out like Params.
func (m *Model) Grads() []float32 { return m.grads }

// ParamInfos lists the tensors in slab order (a copy).
func (m *Model) ParamInfos() []ParamInfo { return append([]ParamInfo(nil), m.layout...) }

// ZeroGrad sets every gradient to zero; Backward adds.
func (m *Model) ZeroGrad() { clear(m.grads) }

// Logits is the (B*T, Vocab) view of the last Forward's logits. Backward
// overwrites it (the buffer is reused for the logits' gradient).
func (m *Model) Logits() []float32 {
	if m.acts == nil {
		return nil
	}
	N := m.acts.B * m.acts.T
	return m.acts.logits[: N*m.Config.Vocab : N*m.Config.Vocab]
}

// Probs is the (B*T, Vocab) view of the last Forward's softmax (only
// computed when targets were given).
func (m *Model) Probs() []float32 {
	if m.acts == nil {
		return nil
	}
	return m.acts.probs
}

// Losses is the (B*T) per-position cross-entropy of the last Forward with
// targets (0 where the target was ignored); for per-token-kind reporting.
func (m *Model) Losses() []float32 {
	if m.acts == nil {
		return nil
	}
	return m.acts.losses
}

// Hidden is the (B*T, C) final-layer-norm output of the last forward.
func (m *Model) Hidden() []float32 {
	if m.acts == nil {
		return nil
	}
	return m.acts.lnf
}

func (m *Model) dropoutOn() bool { return m.Train && m.Config.Dropout > 0 }

// dropSeed is the dropout seed of one site: 0 attention, 1 feed-forward.
func (m *Model) dropSeed(layer, site int) uint64 {
	return splitmix(m.Seed ^ splitmix(uint64(layer)*2+uint64(site)+1))
}

func (m *Model) checkInput(tokens []int32, B, T int) error {
	if B < 1 || T < 1 {
		return fmt.Errorf("%w: B=%d T=%d", ErrShape, B, T)
	}
	if len(tokens) != B*T {
		return fmt.Errorf("%w: %d tokens for B=%d T=%d", ErrShape, len(tokens), B, T)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= m.Config.Vocab {
			return fmt.Errorf("%w: tokens[%d] = %d, vocab %d", ErrToken, i, t, m.Config.Vocab)
		}
	}
	return nil
}

// Forward runs the language model on tokens (B, T) and returns the mean
// cross-entropy over the targets (B, T) that are >= 0 (targets < 0 are
// ignored; nil targets computes logits only and returns 0).
func (m *Model) Forward(tokens, targets []int32, B, T int) (float32, error) {
	if err := m.checkInput(tokens, B, T); err != nil {
		return 0, err
	}
	if targets != nil {
		if len(targets) != B*T {
			return 0, fmt.Errorf("%w: %d targets for B=%d T=%d", ErrShape, len(targets), B, T)
		}
		for i, t := range targets {
			if int(t) >= m.Config.Vocab {
				return 0, fmt.Errorf("%w: targets[%d] = %d, vocab %d", ErrToken, i, t, m.Config.Vocab)
			}
		}
	}
	m.trunkForward(tokens, B, T)
	a, c := m.acts, m.Config
	N, V := B*T, c.Vocab
	kernel.MatmulForward(a.logits, a.lnf, m.p.lmHead, nil, N, c.Width, V)
	if targets == nil {
		m.mode = modeLMNoTargets
		return 0, nil
	}
	copy(a.targets, targets)
	kernel.CrossEntropyForward(a.losses, a.probs, a.logits, a.targets, N, V)
	m.mode = modeLM
	var loss float32
	loss, m.nValid = meanLoss(a.losses, a.targets)
	return loss, nil
}

// Backward adds the gradients of the last Forward's loss (or of
// ForwardClassify's) to Grads().
func (m *Model) Backward() error {
	a, c := m.acts, m.Config
	switch m.mode {
	case modeLM:
	case modeCls:
		return m.backwardClassify()
	default:
		return ErrNoForward
	}
	N, V, C := a.B*a.T, c.Vocab, c.Width
	inv := float32(0)
	if m.nValid > 0 {
		inv = 1 / float32(m.nValid)
	}
	for n, t := range a.targets {
		a.dloss[n] = 0
		if t >= 0 {
			a.dloss[n] = inv
		}
	}
	dlogits := a.logits
	clear(dlogits)
	kernel.CrossEntropyBackward(dlogits, a.probs, a.targets, a.dloss, N, V)
	clear(a.dlnf)
	kernel.MatmulBackward(a.dlnf, m.g.lmHead, nil, dlogits, a.lnf, m.p.lmHead, N, C, V)
	m.trunkBackward()
	m.mode = modeNone
	return nil
}

// trunkForward computes embedding -> layers -> final layer norm into a.lnf.
func (m *Model) trunkForward(tokens []int32, B, T int) {
	m.ensure(B, T)
	a, c := m.acts, m.Config
	N, C := B*T, c.Width
	copy(a.tokens, tokens)
	if !c.Reversible {
		kernel.EmbeddingForward(a.resid[0], a.tokens, m.p.wte, N, C)
		for l := 0; l < c.Layers; l++ {
			x, mid, out := a.resid[2*l], a.resid[2*l+1], a.resid[2*l+2]
			kernel.ResidualForward(mid, x, m.attnForward(&a.attn[l], x, l), N*C)
			kernel.ResidualForward(out, mid, m.ffnForward(&a.ffn[l], mid, l), N*C)
		}
	} else {
		// y1 and y2 start as the duplicated input x1 = x2 = x.
		kernel.EmbeddingForward(a.y1, a.tokens, m.p.wte, N, C)
		copy(a.y2, a.y1)
		for l := 0; l < c.Layers; l++ {
			at, ff := m.slot(l)
			if m.storeAll {
				copy(a.x2s[l], a.y2)
			}
			kernel.AddInPlace(a.y1, m.attnForward(at, a.y2, l), N*C) // y1 = x1 + Attn(x2)
			if m.storeAll {
				copy(a.y1s[l], a.y1)
			}
			kernel.AddInPlace(a.y2, m.ffnForward(ff, a.y1, l), N*C) // y2 = x2 + FFN(y1)
		}
		kernel.ResidualForward(a.xf, a.y1, a.y2, N*C)
		kernel.Scale(a.xf, 0.5, N*C)
	}
	kernel.LayerNormForward(a.lnf, a.lnfMean, a.lnfRstd, a.xf, m.p.lnfw, m.p.lnfb, N, C)
}

// slot returns layer l's activation storage.
func (m *Model) slot(l int) (*attnActs, *ffnActs) {
	if len(m.acts.attn) == 1 {
		l = 0
	}
	return &m.acts.attn[l], &m.acts.ffn[l]
}

// trunkBackward propagates a.dlnf down to the embedding.
func (m *Model) trunkBackward() {
	a, c := m.acts, m.Config
	N, C := a.B*a.T, c.Width
	clear(a.dx)
	kernel.LayerNormBackward(a.dx, m.g.lnfw, m.g.lnfb, a.dlnf, a.xf, m.p.lnfw, a.lnfMean, a.lnfRstd, N, C)
	if !c.Reversible {
		// a.dx is the residual gradient; each block adds its input gradient.
		for l := c.Layers - 1; l >= 0; l-- {
			m.ffnBackward(&a.ffn[l], a.resid[2*l+1], a.dx, a.dx, l)
			m.attnBackward(&a.attn[l], a.resid[2*l], a.dx, a.dx, l)
		}
	} else {
		dy1, dy2 := a.dx, a.dy2
		kernel.Scale(dy1, 0.5, N*C) // output (y1+y2)/2
		copy(dy2, dy1)
		for l := c.Layers - 1; l >= 0; l-- {
			at, ff := m.slot(l)
			y1in, x2in := a.y1, a.y2
			if m.storeAll {
				y1in, x2in = a.y1s[l], a.x2s[l]
			} else {
				// x2 = y2 - FFN(y1), recomputing the FFN activations.
				f := m.ffnForward(ff, a.y1, l)
				subInPlace(a.y2, f)
			}
			m.ffnBackward(ff, y1in, dy2, dy1, l) // dy1 += J_FFN^T dy2
			if !m.storeAll {
				// x1 = y1 - Attn(x2).
				f := m.attnForward(at, a.y2, l)
				subInPlace(a.y1, f)
			}
			m.attnBackward(at, x2in, dy1, dy2, l) // dx2 = dy2 + J_Attn^T dy1
		}
		kernel.AddInPlace(dy1, dy2, N*C) // x1 = x2 = x
	}
	kernel.EmbeddingBackward(m.g.wte, a.dx, a.tokens, N, C)
}

func subInPlace(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] -= src[i]
	}
}

// normShift is LN -> token shift into ts (N, C); ln is scratch.
func (m *Model) normShift(ts, mean, rstd, ln, in, w, b []float32) {
	a, c := m.acts, m.Config
	N, C := a.B*a.T, c.Width
	if !c.TokenShift {
		kernel.LayerNormForward(ts, mean, rstd, in, w, b, N, C)
		return
	}
	kernel.LayerNormForward(ln, mean, rstd, in, w, b, N, C)
	kernel.TokenShiftForward(ts, ln, a.B, a.T, C)
}

// normShiftBackward adds into din the gradient of normShift given dts.
func (m *Model) normShiftBackward(din, dts, in, w, dw, db, mean, rstd []float32) {
	a, c := m.acts, m.Config
	N, C := a.B*a.T, c.Width
	dln := dts
	if c.TokenShift {
		dln = a.s.dln
		clear(dln)
		kernel.TokenShiftBackward(dln, dts, a.B, a.T, C)
	}
	kernel.LayerNormBackward(din, dw, db, dln, in, w, mean, rstd, N, C)
}

// attnForward returns Attn(in) (N, C), a view into scratch valid until the
// next block call.
func (m *Model) attnForward(at *attnActs, in []float32, l int) []float32 {
	a, c, s := m.acts, m.Config, &m.acts.s
	B, T, C, D, inner := a.B, a.T, c.Width, c.HeadDim, c.Inner()
	N := B * T
	lp := &m.p.layers[l]
	m.normShift(at.ts, at.mean, at.rstd, s.ln, in, lp.ln1w, lp.ln1b)
	kernel.MatmulForward(s.qkv, at.ts, lp.qkvw, lp.qkvb, N, C, 3*inner)
	splitQKV(at.q, at.k, at.v, s.qkv, B, T, c.Heads(), c.softmaxHeads(), D)
	HS, HL := c.softmaxHeads(), c.linearHeads()
	ns := N * HS * D
	if HS > 0 {
		q, k, v, o := at.q[:ns:ns], at.k[:ns:ns], at.v[:ns:ns], at.o[:ns:ns]
		kernel.RopeForward(q, B*HS, T, D, c.RopeBase)
		kernel.RopeForward(k, B*HS, T, D, c.RopeBase)
		if c.Attention == AttentionQuadratic {
			kernel.QuadraticAttentionForward(o, at.lse, q, k, v, B*HS, T, D, s.kern)
		} else {
			kernel.LocalAttentionForward(o, at.lse, q, k, v, B*HS, T, D, c.Window, s.kern)
		}
	}
	if HL > 0 {
		m.globalForward(at, ns, l)
	}
	mergeHeads(s.att, at.o, B, T, c.Heads(), HS, D)
	kernel.MatmulForward(s.proj, s.att, lp.outw, lp.outb, N, inner, C)
	if !m.dropoutOn() {
		return s.proj
	}
	kernel.DropoutForward(s.drop, at.mask, s.proj, c.Dropout, m.dropSeed(l, 0), N*C)
	return s.drop
}

// attnBackward adds into din the gradient of Attn at in, given dout; din
// may be dout (the plain residual).
func (m *Model) attnBackward(at *attnActs, in, dout, din []float32, l int) {
	a, c, s := m.acts, m.Config, &m.acts.s
	B, T, C, D, inner := a.B, a.T, c.Width, c.HeadDim, c.Inner()
	N := B * T
	lp, gp := &m.p.layers[l], &m.g.layers[l]
	dp := dout
	if m.dropoutOn() {
		dp = s.dproj
		clear(dp)
		kernel.DropoutBackward(dp, dout, at.mask, c.Dropout, N*C)
	}
	mergeHeads(s.att, at.o, B, T, c.Heads(), c.softmaxHeads(), D)
	clear(s.datt)
	kernel.MatmulBackward(s.datt, gp.outw, gp.outb, dp, s.att, lp.outw, N, inner, C)
	splitHeads(s.dheads, s.datt, B, T, c.Heads(), c.softmaxHeads(), D)
	clear(s.dq)
	clear(s.dk)
	clear(s.dv)
	HS, HL := c.softmaxHeads(), c.linearHeads()
	ns := N * HS * D
	if HS > 0 {
		q, k, v, o := at.q[:ns:ns], at.k[:ns:ns], at.v[:ns:ns], at.o[:ns:ns]
		dq, dk, dv, do := s.dq[:ns:ns], s.dk[:ns:ns], s.dv[:ns:ns], s.dheads[:ns:ns]
		if c.Attention == AttentionQuadratic {
			kernel.QuadraticAttentionBackward(dq, dk, dv, do, q, k, v, o, at.lse, B*HS, T, D, s.kern)
		} else {
			kernel.LocalAttentionBackward(dq, dk, dv, do, q, k, v, o, at.lse, B*HS, T, D, c.Window, s.kern)
		}
		kernel.RopeBackward(dq, B*HS, T, D, c.RopeBase)
		kernel.RopeBackward(dk, B*HS, T, D, c.RopeBase)
	}
	if HL > 0 {
		m.globalBackward(at, ns, l)
	}
	mergeQKV(s.dqkv, s.dq, s.dk, s.dv, B, T, c.Heads(), HS, D)
	clear(s.dts)
	kernel.MatmulBackward(s.dts, gp.qkvw, gp.qkvb, s.dqkv, at.ts, lp.qkvw, N, C, 3*inner)
	m.gateBackward(at, l)
	m.normShiftBackward(din, s.dts, in, lp.ln1w, gp.ln1w, gp.ln1b, at.mean, at.rstd)
}

// ffnForward returns FFN(in) (N, C), a view into scratch valid until the
// next block call.
func (m *Model) ffnForward(f *ffnActs, in []float32, l int) []float32 {
	a, c, s := m.acts, m.Config, &m.acts.s
	N, C, F := a.B*a.T, c.Width, c.FFN
	lp := &m.p.layers[l]
	m.normShift(f.ts, f.mean, f.rstd, s.ln, in, lp.ln2w, lp.ln2b)
	kernel.MatmulForward(f.fc, f.ts, lp.fcw, lp.fcb, N, C, F)
	kernel.GeluForward(s.gelu, f.fc, N*F)
	kernel.MatmulForward(s.proj, s.gelu, lp.projw, lp.projb, N, F, C)
	if !m.dropoutOn() {
		return s.proj
	}
	kernel.DropoutForward(s.drop, f.mask, s.proj, c.Dropout, m.dropSeed(l, 1), N*C)
	return s.drop
}

// ffnBackward adds into din the gradient of FFN at in, given dout.
func (m *Model) ffnBackward(f *ffnActs, in, dout, din []float32, l int) {
	a, c, s := m.acts, m.Config, &m.acts.s
	N, C, F := a.B*a.T, c.Width, c.FFN
	lp, gp := &m.p.layers[l], &m.g.layers[l]
	dp := dout
	if m.dropoutOn() {
		dp = s.dproj
		clear(dp)
		kernel.DropoutBackward(dp, dout, f.mask, c.Dropout, N*C)
	}
	kernel.GeluForward(s.gelu, f.fc, N*F) // recomputed rather than stored
	clear(s.dgelu)
	kernel.MatmulBackward(s.dgelu, gp.projw, gp.projb, dp, s.gelu, lp.projw, N, F, C)
	clear(s.dfc)
	kernel.GeluBackward(s.dfc, f.fc, s.dgelu, N*F)
	clear(s.dts)
	kernel.MatmulBackward(s.dts, gp.fcw, gp.fcb, s.dfc, f.ts, lp.fcw, N, C, F)
	m.normShiftBackward(din, s.dts, in, lp.ln2w, gp.ln2w, gp.ln2b, f.mean, f.rstd)
}

// meanLoss is the mean of losses over rows whose target is not ignored
// (target >= 0), and the count of those rows (0 and 0 when all are ignored).
func meanLoss(losses []float32, targets []int32) (float32, int) {
	n := 0
	var sum float64
	for i, t := range targets {
		if t >= 0 {
			n++
			sum += float64(losses[i])
		}
	}
	if n == 0 {
		return 0, 0
	}
	return float32(sum / float64(n)), n
}
