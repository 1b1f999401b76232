package kernel

import (
	"fmt"
	"math"
)

// RWKV-4 time mixing (Peng et al. 2023, arXiv 2305.13048), the per-channel
// WKV recurrence with receptance gating. Per channel c of head h (bh = b*H +
// h), with learned decay[h, c] and first[h, c] (RWKV's time_decay and
// time_first):
//
//	w = -exp(decay)   (per-position log decay, < 0),  u = first
//	wkv_t = (sum_{j<t} e^{(t-1-j) w + k_j} v_j + e^{u + k_t} v_t)
//	      / (sum_{j<t} e^{(t-1-j) w + k_j}     + e^{u + k_t})
//	out_t = sigmoid(r_t) * wkv_t
//
// RWKV-4's time_mix interpolation between x_t and x_{t-1} is the model's
// token shift (a fixed half/half split of the channels), and its key, value,
// receptance and output projections are the model's QKV and out matrices
// (r takes the place of q); heads only group channels for the per-head
// parameter layout: the recurrence is per channel (v4, not v5's matrix
// state).
//
// Numerically stable form (as in RWKV-4's kernels): the running sums
// a = sum e^{..} v and b = sum e^{..} are kept as a*e^-p, b*e^-p with p the
// largest exponent seen, so every exp has a non-positive argument and b >= 1
// once a position has been added. The backward pass keeps its reverse sums
// G_i = sum_{t>i} e^{(t-1-i)w} g_t/M_t (M_t the denominator) scaled the same
// way; since M_t >= e^{k_i + (t-1-i)w}, the products e^{k_i} G_i it needs
// have non-positive exponents too. No clamp is needed: any finite k, v, r,
// decay, first give finite outputs and gradients.

// rwkvMinP is the exponent offset of an empty state (exp(p + x - ...) = 0).
const rwkvMinP = -1e38

// rwkvVecs is the number of per-channel vectors (D) of one worker's state.
const rwkvVecs = 10

// RWKVScratchSize is the scratch length (floats) that RWKVBackward needs:
// per worker 4 T D (per position and channel: wkv, its exponent offset q
// and two gradient weights) and 10 D of per-channel state, plus 2 BH D for
// the per-head parameter gradients summed in a fixed order (RWKVForward
// needs none).
func RWKVScratchSize(BH, T, D int) int {
	return 2*BH*D + (4*T*D+rwkvVecs*D)*attnWorkers(BH)
}

// rwkvRead is the wkv of one channel at the state (a, b, p) before position
// (k, v), its denominator M = e^q den and the weights e1 = e^(p-q) of the
// state and e2 = e^(u+k-q) of the position (one of them is 1).
// b == 0 only before the first position (b >= 1 after), so an all-zero
// state is the empty one whatever p holds.
func rwkvRead(a, b, p, k, v, u float32) (y, den, q, e1, e2 float32) {
	if b == 0 {
		p = rwkvMinP
	}
	uk := u + k
	if p >= uk {
		q, e1, e2 = p, 1, expf(uk-p)
	} else {
		q, e1, e2 = uk, expf(p-uk), 1
	}
	den = e1*b + e2
	return (e1*a + e2*v) / den, den, q, e1, e2
}

// rwkvAdd adds position (k, v) to the state of one channel with log decay w
// and returns the factor e1 = e^(w+p-p') the old state was scaled by.
func rwkvAdd(a, b, p *float32, k, v, w float32) float32 {
	if *b == 0 {
		*p = rwkvMinP
	}
	wp := w + *p
	var e1, e2 float32
	if wp >= k {
		e1, e2 = 1, expf(k-wp)
		*p = wp
	} else {
		e1, e2 = expf(wp-k), 1
		*p = k
	}
	*a = e1**a + e2*v
	*b = e1**b + e2
	return e1
}

// rwkvCheck validates the shapes shared by the RWKV kernels.
func rwkvCheck(name string, BH, H, T, D int, decay, first []float32, xs ...[]float32) {
	if H < 1 || BH%H != 0 {
		panic(fmt.Sprintf("kernel: %s: BH=%d is not a multiple of H=%d", name, BH, H))
	}
	attnCheck(name, "decay", decay, H*D)
	attnCheck(name, "first", first, H*D)
	for i, x := range xs {
		attnCheck(name, fmt.Sprintf("arg %d", i), x, BH*T*D)
	}
}

// rwkvLogDecay writes w = -exp(decay) (D) into w.
func rwkvLogDecay(w, decay []float32) {
	for c, d := range decay[:len(w)] {
		w[c] = -float32(math.Exp(float64(d)))
	}
}

// RWKVForward computes the RWKV-4 time mix (see above): r, k, v, out (BH, T,
// D); decay, first (H, D), head h = bh % H. Heads run in parallel; no state
// is kept (RWKVBackward recomputes the scan). It allocates 4 D floats per
// head when D > 64.
func RWKVForward(out, r, k, v, decay, first []float32, BH, H, T, D int) {
	rwkvCheck("RWKVForward", BH, H, T, D, decay, first, out, r, k, v)
	if BH*T*D == 0 {
		return
	}
	attnParallel(attnWorkers(BH), BH, func(_, bh int) {
		h := bh % H
		var buf [4 * 64]float32
		st := buf[:]
		if 4*D > len(buf) {
			st = make([]float32, 4*D)
		}
		a, b, p, w := st[:D:D], st[D:2*D:2*D], st[2*D:3*D:3*D], st[3*D:4*D:4*D]
		clear(st[:3*D])
		rwkvLogDecay(w, decay[h*D:h*D+D])
		u := first[h*D : h*D+D : h*D+D]
		for t := range T {
			o := (bh*T + t) * D
			kt, vt, rt, ot := k[o:o+D:o+D], v[o:o+D:o+D], r[o:o+D:o+D], out[o:o+D:o+D]
			for c := range ot {
				y, _, _, _, _ := rwkvRead(a[c], b[c], p[c], kt[c], vt[c], u[c])
				rwkvAdd(&a[c], &b[c], &p[c], kt[c], vt[c], w[c])
				ot[c] = sigmoid(rt[c]) * y
			}
		}
	})
}

// RWKVBackward adds the gradients of RWKVForward into dr, dk, dv (BH, T, D)
// and ddecay, dfirst (H, D), given dout and the forward inputs. It runs the
// forward scan again (keeping wkv and its denominator per position, O(T D) scratch
// per worker) and then a reverse scan, both over positions with the D
// channels of a head side by side.
// scratch: RWKVScratchSize(BH, T, D) floats.
func RWKVBackward(dr, dk, dv, ddecay, dfirst, dout, r, k, v, decay, first []float32, BH, H, T, D int, scratch []float32) {
	const name = "RWKVBackward"
	rwkvCheck(name, BH, H, T, D, decay, first, dr, dk, dv, dout, r, k, v)
	attnCheck(name, "ddecay", ddecay, H*D)
	attnCheck(name, "dfirst", dfirst, H*D)
	if BH*T*D == 0 {
		return
	}
	red := 2 * BH * D
	per := 4*T*D + rwkvVecs*D
	if len(scratch) < red+per {
		panic(fmt.Sprintf("kernel: %s: scratch has %d floats, need at least %d", name, len(scratch), red+per))
	}
	acc, ws := scratch[:red:red], scratch[red:]
	nw := attnScratchWorkers(name, ws, per, BH)
	attnParallel(nw, BH, func(wk, bh int) {
		h := bh % H
		buf := ws[wk*per : wk*per+per : wk*per+per]
		TD := T * D
		ys, qs, sw, gd := buf[:TD:TD], buf[TD:2*TD:2*TD], buf[2*TD:3*TD:3*TD], buf[3*TD:4*TD:4*TD]
		vec := func(i int) []float32 { o := 4*TD + i*D; return buf[o : o+D : o+D] }
		a, b, p, da, db, w := vec(0), vec(1), vec(2), vec(3), vec(4), vec(5)
		G, Hs, og := vec(6), vec(7), vec(8)
		u := first[h*D : h*D+D : h*D+D]
		du, dw := acc[bh*2*D:bh*2*D+D:bh*2*D+D], acc[bh*2*D+D:bh*2*D+2*D:bh*2*D+2*D]
		rwkvLogDecay(w, decay[h*D:h*D+D])
		for c := range D {
			a[c], b[c], p[c], da[c], db[c], G[c], Hs[c], og[c] = 0, 0, rwkvMinP, 0, 0, 0, 0, rwkvMinP
			du[c], dw[c] = 0, 0
		}
		// Forward scan: wkv, and dL/dw through the derivatives da = d a/dw,
		// db = d b/dw of the running sums (same scale e^p). With M_t =
		// e^q den: dy_t/dw = (da - y db) e^(p-q)/den, and the position's own
		// weight e^(u+k)/M_t = e2/den.
		for t := range T {
			o := (bh*T + t) * D
			i := t * D
			for c := range D {
				kk, vv := k[o+c], v[o+c]
				sr := sigmoid(r[o+c])
				gy := dout[o+c] * sr
				y, den, q, e1, e2 := rwkvRead(a[c], b[c], p[c], kk, vv, u[c])
				inv := 1 / den
				dw[c] += gy * (da[c] - y*db[c]) * e1 * inv
				du[c] += gy * e2 * inv * (vv - y)
				dr[o+c] += dout[o+c] * y * sr * (1 - sr)
				ys[i+c], qs[i+c], sw[i+c], gd[i+c] = y, q, gy*e2*inv, gy*inv
				// a' = e^w a + e^k v, so da' = e^w (a + da); likewise b.
				da0, db0 := a[c]+da[c], b[c]+db[c]
				f := rwkvAdd(&a[c], &b[c], &p[c], kk, vv, w[c])
				da[c], db[c] = f*da0, f*db0
			}
		}
		for c := range D {
			dw[c] *= w[c] // d w / d decay = -exp(decay) = w
		}
		// Reverse scan: G = sum_{t>i} e^{(t-1-i)w} g_t/M_t and H likewise
		// with g_t y_t, both kept as e^og * (G, H) with og the running
		// maximum of -q_t + (t-1-i)w. Since M_t >= e^(k_i + (t-1-i)w),
		// k_i + og <= log den_t <= log(T+1): e^(k_i+og) cannot overflow.
		for t := T - 1; t >= 0; t-- {
			o := (bh*T + t) * D
			i := t * D
			for c := range D {
				kk, vv := k[o+c], v[o+c]
				y, s := ys[i+c], sw[i+c]
				ek := expf(kk + og[c])
				dk[o+c] += s*(vv-y) + ek*(vv*G[c]-Hs[c])
				dv[o+c] += s + ek*G[c]
				// Include position t for the positions before it.
				wo, nq := w[c]+og[c], -qs[i+c]
				var e1, e2 float32
				if nq >= wo {
					e1, e2 = expf(wo-nq), 1
					og[c] = nq
				} else {
					e1, e2 = 1, expf(nq-wo)
					og[c] = wo
				}
				g := e2 * gd[i+c]
				G[c] = e1*G[c] + g
				Hs[c] = e1*Hs[c] + g*y
			}
		}
	})
	// Sum the per-head parameter gradients in bh order (deterministic).
	for bh := range BH {
		h := bh % H
		for c := range D {
			dfirst[h*D+c] += acc[bh*2*D+c]
			ddecay[h*D+c] += acc[bh*2*D+D+c]
		}
	}
}

// RWKVStep is one position of RWKVForward for one head, for generation:
// state (3, D) holds a, b, p of every channel (all zeros before position
// 0); decay, first (D) are the head's.
func RWKVStep(out, state, r, k, v, decay, first []float32, D int) {
	a, b, p := state[:D:D], state[D:2*D:2*D], state[2*D:3*D:3*D]
	for c := range D {
		w := -float32(math.Exp(float64(decay[c])))
		y, _, _, _, _ := rwkvRead(a[c], b[c], p[c], k[c], v[c], first[c])
		rwkvAdd(&a[c], &b[c], &p[c], k[c], v[c], w)
		out[c] = sigmoid(r[c]) * y
	}
}

// RWKVStateSize is the floats per head of a RWKVStep state.
func RWKVStateSize(D int) int { return 3 * D }
