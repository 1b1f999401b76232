package model

import "github.com/trafficgpt/trafficgpt/internal/kernel"

// The global heads of each attention family (Config.Attention): the HL heads
// that follow the HS softmax heads in the per-head buffers, offset ns =
// N*HS*D. linear: causal linear attention (position free). retention: RoPE
// on q, k, then RetNet retention with head j decaying by RetentionDecay(j),
// group norm and a swish gate from attn.gate.weight applied to the block's
// normed, token-shifted input. rwkv: RWKV-4 time mix, q is the receptance,
// attn.time_decay and attn.time_first per channel.

// globalForward runs the global heads of attention block at (layer l).
func (m *Model) globalForward(at *attnActs, ns, l int) {
	a, c, s := m.acts, m.Config, &m.acts.s
	B, T, D, HL := a.B, a.T, c.HeadDim, c.linearHeads()
	q, k, v, o := at.q[ns:], at.k[ns:], at.v[ns:], at.o[ns:]
	lp := &m.p.layers[l]
	switch c.Attention {
	case AttentionRetention:
		kernel.RopeForward(q, B*HL, T, D, c.RopeBase)
		kernel.RopeForward(k, B*HL, T, D, c.RopeBase)
		kernel.MatmulForward(s.gate, at.ts, lp.gatew, nil, B*T, c.Width, HL*D)
		splitHeads(at.g, s.gate, B, T, HL, 0, D)
		kernel.RetentionForward(o, at.state, q, k, v, at.g, B*HL, HL, T, D, c.Chunk, s.kern)
	case AttentionRWKV:
		kernel.RWKVForward(o, q, k, v, lp.tdecay, lp.tfirst, B*HL, HL, T, D)
	default:
		kernel.LinearAttentionForward(o, at.state, q, k, v, B*HL, T, D, c.Chunk, s.kern)
	}
}

// globalBackward adds the global heads' gradients into s.dq, s.dk, s.dv
// (after ns) given s.dheads; retention leaves its gate's gradient in s.dg
// for gateBackward.
func (m *Model) globalBackward(at *attnActs, ns, l int) {
	a, c, s := m.acts, m.Config, &m.acts.s
	B, T, D, HL := a.B, a.T, c.HeadDim, c.linearHeads()
	q, k, v := at.q[ns:], at.k[ns:], at.v[ns:]
	dq, dk, dv, do := s.dq[ns:], s.dk[ns:], s.dv[ns:], s.dheads[ns:]
	lp, gp := &m.p.layers[l], &m.g.layers[l]
	switch c.Attention {
	case AttentionRetention:
		clear(s.dg)
		kernel.RetentionBackward(dq, dk, dv, s.dg, do, q, k, v, at.g, at.state, B*HL, HL, T, D, c.Chunk, s.kern)
		kernel.RopeBackward(dq, B*HL, T, D, c.RopeBase)
		kernel.RopeBackward(dk, B*HL, T, D, c.RopeBase)
	case AttentionRWKV:
		kernel.RWKVBackward(dq, dk, dv, gp.tdecay, gp.tfirst, do, q, k, v, lp.tdecay, lp.tfirst, B*HL, HL, T, D, s.kern)
	default:
		kernel.LinearAttentionBackward(dq, dk, dv, do, q, k, v, at.state, B*HL, T, D, c.Chunk, s.kern)
	}
}

// gateBackward adds the retention gate's input gradient into s.dts and its
// weight gradient into attn.gate.weight (no-op for the other families).
func (m *Model) gateBackward(at *attnActs, l int) {
	a, c, s := m.acts, m.Config, &m.acts.s
	HL := c.linearHeads()
	if c.Attention != AttentionRetention || HL == 0 {
		return
	}
	B, T, D := a.B, a.T, c.HeadDim
	mergeHeads(s.gate, s.dg, B, T, HL, 0, D) // s.gate now holds the gradient rows
	kernel.MatmulBackward(s.dts, m.g.layers[l].gatew, nil, s.gate, at.ts, m.p.layers[l].gatew, B*T, c.Width, HL*D)
}

// globalStepInput computes what the global heads of layer l need once per
// Step beyond q, k, v: the retention gate rows (Batch, HL*D) from st.ts.
func (m *Model) globalStepInput(st *State, l int) {
	c := m.Config
	if HL := c.linearHeads(); c.Attention == AttentionRetention && HL > 0 {
		kernel.MatmulPanels(st.gate, st.ts, st.pGate[l], nil, st.rows, c.Width, HL*c.HeadDim)
	}
}

// globalStep is one position pos of global head j of row n at layer l. Each
// head's recurrent state is its (D, D) block of st.S[l] (retention's R;
// rwkv's a, b, p in the first 3D floats) and, for linear, st.z[l].
func (m *Model) globalStep(st *State, l, n, j, pos int, q, k, v, out []float32) {
	c := m.Config
	D, HL := c.HeadDim, c.linearHeads()
	i := n*HL + j
	S := st.S[l][i*D*D : (i+1)*D*D : (i+1)*D*D]
	switch c.Attention {
	case AttentionRetention:
		kernel.RopeForwardAt(q, 1, 1, D, c.RopeBase, pos)
		kernel.RopeForwardAt(k, 1, 1, D, c.RopeBase, pos)
		g := st.gate[i*D : (i+1)*D : (i+1)*D]
		kernel.RetentionStep(out, S, q, k, v, g, D, kernel.RetentionDecay(j))
	case AttentionRWKV:
		lp := &m.p.layers[l]
		kernel.RWKVStep(out, S, q, k, v, lp.tdecay[j*D:(j+1)*D], lp.tfirst[j*D:(j+1)*D], D)
	default:
		kernel.LinearAttentionStep(out, S, st.z[l][i*D:(i+1)*D], q, k, v, D)
	}
}
