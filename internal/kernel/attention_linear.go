package kernel

import (
	"fmt"
	"math"
)

// Causal linear attention (the global heads of TrafficGPT, after lucidrains'
// linear-attention-transformer), chunked.
//
//	phi(q) = softmax(q) * D^-1/2          (over the D features)
//	phi(k) = exp(min(k, LinearKeyClamp))  (element-wise)
//	S_t = sum_{j<=t} phi(k_j) v_j^T  (D, D),   z_t = sum_{j<=t} phi(k_j)  (D)
//	out_t = phi(q_t) S_t / max(phi(q_t).z_t, LinearEps)
//
// Stabiliser: exp(k) overflows float32 above k = 88.7 and sums of up to ~10^4
// terms overflow much earlier, so keys are clamped from above at
// LinearKeyClamp = 30 (exp(30) ~ 1e13, times 1e4 positions ~ 1e17, far from
// the float32 limit). The clamp is part of the function (the float64
// reference applies it too): exact, causal and position-independent, so the
// chunked forward, its backward and the recurrent Step agree. The gradient of
// phi(k) is zero where k > LinearKeyClamp. A per-head running maximum m_t
// with rescaled S, z would be exact only with the eps floor rescaled to
// eps*exp(-m_t) per position, which underflows for large m_t and breaks the
// one-scale-per-chunk matrix form; the clamp has neither problem.
//
// Unlike lucidrains' bucketed causal_linear_attn (which lets a position see
// only earlier buckets), every position here sees all positions <= t.

// LinearKeyClamp is the upper clamp applied to keys before exp in phi(k).
const LinearKeyClamp = 30

// LinearEps floors the denominator phi(q).z, as in the reference (1e-3).
const LinearEps = 1e-3

// LinearAttentionStateSize is the number of floats per head of the state
// argument: ceil(T/chunk) matrices (D, D+1), each [S | z] at the start of a
// chunk (row i: S[i, 0..D-1], then z[i]).
func LinearAttentionStateSize(T, D, chunk int) int {
	if chunk < 1 {
		panic(fmt.Sprintf("kernel: LinearAttentionStateSize: chunk=%d < 1", chunk))
	}
	return (T + chunk - 1) / chunk * D * (D + 1)
}

// linearScratchPer is the scratch of one worker: with C = min(chunk, T),
// Qf, Kf, dQf, dKf (C, D), A, dA (C, C), num, dnum (C, D+1), dS (D, D+1).
func linearScratchPer(T, D, chunk int) int {
	c := min(chunk, T)
	return 4*c*D + 2*c*c + 2*c*(D+1) + D*(D+1)
}

// LinearAttentionScratchSize is the scratch length (floats) that
// LinearAttentionForward and LinearAttentionBackward need (per worker, with
// C = min(chunk, T): 4 C D + 2 C^2 + 2 C (D+1) + D (D+1), times the workers).
func LinearAttentionScratchSize(BH, T, D, chunk int) int {
	if chunk < 1 {
		panic(fmt.Sprintf("kernel: LinearAttentionScratchSize: chunk=%d < 1", chunk))
	}
	return linearScratchPer(T, D, chunk) * attnWorkers(BH)
}

// linearWork are one worker's scratch views.
type linearWork struct {
	qf, kf, dqf, dkf, a, da, num, dnum, ds []float32
}

func linearSplit(ws []float32, T, D, chunk int) linearWork {
	c := min(chunk, T)
	var lw linearWork
	off := 0
	take := func(n int) []float32 {
		s := ws[off : off+n : off+n]
		off += n
		return s
	}
	lw.qf, lw.kf, lw.dqf, lw.dkf = take(c*D), take(c*D), take(c*D), take(c*D)
	lw.a, lw.da = take(c*c), take(c*c)
	lw.num, lw.dnum = take(c*(D+1)), take(c*(D+1))
	lw.ds = take(D * (D + 1))
	return lw
}

// phiRowsGo writes phi(q) = softmax(q) * s, s = D^-1/2, into qf and
// phi(k) = exp(min(k, LinearKeyClamp)) into kf for m rows (m, D).
func phiRowsGo(qf, kf, q, k []float32, m, D int, s float32) {
	for r := range m {
		dst, qr := qf[r*D:r*D+D:r*D+D], q[r*D:r*D+D:r*D+D]
		mx := qr[0]
		for _, x := range qr {
			mx = max(mx, x)
		}
		inv := s / expSubGo(dst, qr, mx, mx)
		for i := range dst {
			dst[i] *= inv
		}
	}
	expSubGo(kf[:m*D:m*D], k[:m*D:m*D], 0, LinearKeyClamp)
}

// linearChunk computes, for the m rows of one chunk, phi(Q), phi(K), the
// masked intra-chunk product A = phi(Q) phi(K)^T (m, m) and
// num = phi(Q) [S|z] + A [V|1] (m, D+1): numerators, denominators in column D.
func linearChunk(lw *linearWork, st, qc, kc, vc []float32, m, D int, s float32) {
	phiRows(lw.qf, lw.kf, qc, kc, m, D, s)
	attnGemm(false, false, m, D+1, D, 1, lw.qf, D, st, D+1, 0, lw.num, D+1)
	attnGemm(false, true, m, m, D, 1, lw.qf, D, lw.kf, D, 0, lw.a, m)
	for r := range m {
		row := lw.a[r*m : r*m+m : r*m+m]
		clear(row[r+1:])
		var sum float32
		for _, x := range row[:r+1] {
			sum += x
		}
		lw.num[r*(D+1)+D] += sum
	}
	attnGemm(false, false, m, D, m, 1, lw.a, m, vc, D, 1, lw.num, D+1)
}

// LinearAttentionForward is chunked causal linear attention (see the
// formulas above): q, k, v, out (BH, T, D); state (BH, ceil(T/chunk), D, D+1)
// receives [S|z] at the start of every chunk for the backward pass (O(T D)
// floats per head when chunk >= D). Within a chunk a masked (chunk, chunk)
// product, across chunks the running state. Heads run in parallel.
// scratch: LinearAttentionScratchSize(BH, T, D, chunk) floats.
func LinearAttentionForward(out, state, q, k, v []float32, BH, T, D, chunk int, scratch []float32) {
	const name = "LinearAttentionForward"
	if chunk < 1 {
		panic(fmt.Sprintf("kernel: %s: chunk=%d < 1", name, chunk))
	}
	n := BH * T * D
	attnCheck(name, "out", out, n)
	attnCheck(name, "q", q, n)
	attnCheck(name, "k", k, n)
	attnCheck(name, "v", v, n)
	ssz := 0
	if T > 0 {
		ssz = LinearAttentionStateSize(T, D, chunk)
	}
	attnCheck(name, "state", state, BH*ssz)
	if n == 0 {
		return
	}
	per := linearScratchPer(T, D, chunk)
	nw := attnScratchWorkers(name, scratch, per, BH)
	nc := (T + chunk - 1) / chunk
	sd := D * (D + 1)
	s := float32(1 / math.Sqrt(float64(D)))
	attnParallel(nw, BH, func(w, h int) {
		lw := linearSplit(scratch[w*per:w*per+per:w*per+per], T, D, chunk)
		hd := h * T * D
		hs := state[h*ssz : h*ssz+ssz : h*ssz+ssz]
		clear(hs[:sd])
		for c := range nc {
			t0, t1 := c*chunk, min(T, (c+1)*chunk)
			m := t1 - t0
			st := hs[c*sd : c*sd+sd : c*sd+sd]
			kc, vc := k[hd+t0*D:hd+t1*D], v[hd+t0*D:hd+t1*D]
			linearChunk(&lw, st, q[hd+t0*D:hd+t1*D], kc, vc, m, D, s)
			oc := out[hd+t0*D : hd+t1*D]
			for r := range m {
				inv := 1 / max(lw.num[r*(D+1)+D], LinearEps)
				for e, x := range lw.num[r*(D+1) : r*(D+1)+D] {
					oc[r*D+e] = x * inv
				}
			}
			if c+1 < nc {
				// [S|z] of the next chunk = this one + phi(K)^T [V|1].
				nx := hs[(c+1)*sd : (c+2)*sd : (c+2)*sd]
				copy(nx, st)
				attnGemm(true, false, D, D, m, 1, lw.kf, D, vc, D, 1, nx, D+1)
				for r := range m {
					for i, x := range lw.kf[r*D : r*D+D] {
						nx[i*(D+1)+D] += x
					}
				}
			}
		}
	})
}

// LinearAttentionBackward adds the gradients of LinearAttentionForward into
// dq, dk, dv (BH, T, D), given dout, q, k, v and the state written by the
// forward pass. Chunks are visited last to first, recomputing each chunk's
// outputs from its stored [S|z] and carrying the gradient of the state.
// scratch: LinearAttentionScratchSize(BH, T, D, chunk) floats.
func LinearAttentionBackward(dq, dk, dv, dout, q, k, v, state []float32, BH, T, D, chunk int, scratch []float32) {
	const name = "LinearAttentionBackward"
	if chunk < 1 {
		panic(fmt.Sprintf("kernel: %s: chunk=%d < 1", name, chunk))
	}
	n := BH * T * D
	for i, x := range [][]float32{dq, dk, dv, dout, q, k, v} {
		attnCheck(name, [...]string{"dq", "dk", "dv", "dout", "q", "k", "v"}[i], x, n)
	}
	if n == 0 {
		return
	}
	ssz := LinearAttentionStateSize(T, D, chunk)
	attnCheck(name, "state", state, BH*ssz)
	per := linearScratchPer(T, D, chunk)
	nw := attnScratchWorkers(name, scratch, per, BH)
	nc := (T + chunk - 1) / chunk
	sd := D * (D + 1)
	s := float32(1 / math.Sqrt(float64(D)))
	D1 := D + 1
	attnParallel(nw, BH, func(w, h int) {
		lw := linearSplit(scratch[w*per:w*per+per:w*per+per], T, D, chunk)
		hd := h * T * D
		hs := state[h*ssz : h*ssz+ssz : h*ssz+ssz]
		ds := lw.ds // gradient of [S|z] at the start of chunk c+1
		clear(ds)
		for c := nc - 1; c >= 0; c-- {
			t0, t1 := c*chunk, min(T, (c+1)*chunk)
			m := t1 - t0
			st := hs[c*sd : c*sd+sd : c*sd+sd]
			qc, kc, vc := q[hd+t0*D:hd+t1*D], k[hd+t0*D:hd+t1*D], v[hd+t0*D:hd+t1*D]
			gc := dout[hd+t0*D : hd+t1*D]
			linearChunk(&lw, st, qc, kc, vc, m, D, s)
			// dnum = dout / den', dden = -dout.out / den' (0 where the floor holds).
			for r := range m {
				num := lw.num[r*D1 : r*D1+D1 : r*D1+D1]
				dn := lw.dnum[r*D1 : r*D1+D1 : r*D1+D1]
				den := num[D]
				inv := 1 / max(den, LinearEps)
				var dot float32
				for e, g := range gc[r*D : r*D+D] {
					dn[e] = g * inv
					dot += g * num[e]
				}
				dn[D] = 0
				if den > LinearEps {
					dn[D] = -dot * inv * inv
				}
			}
			// dA = dnum V^T + dden, masked to j <= t.
			attnGemm(false, true, m, m, D, 1, lw.dnum, D1, vc, D, 0, lw.da, m)
			for r := range m {
				row := lw.da[r*m : r*m+m : r*m+m]
				dd := lw.dnum[r*D1+D]
				for j := range row[:r+1] {
					row[j] += dd
				}
				clear(row[r+1:])
			}
			// dphi(Q) = [dnum|dden] [S|z]^T + dA phi(K).
			attnGemm(false, true, m, D, D1, 1, lw.dnum, D1, st, D1, 0, lw.dqf, D)
			attnGemm(false, false, m, D, m, 1, lw.da, m, lw.kf, D, 1, lw.dqf, D)
			// dphi(K) = dA^T phi(Q) + V dS^T + dz.
			attnGemm(true, false, m, D, m, 1, lw.da, m, lw.qf, D, 0, lw.dkf, D)
			attnGemm(false, true, m, D, D, 1, vc, D, ds, D1, 1, lw.dkf, D)
			// dV += A^T dnum + phi(K) dS.
			dvc := dv[hd+t0*D : hd+t1*D]
			attnGemm(true, false, m, D, m, 1, lw.a, m, lw.dnum, D1, 1, dvc, D)
			attnGemm(false, false, m, D, D, 1, lw.kf, D, ds, D1, 1, dvc, D)
			// Chain through phi into dq, dk, with dz added to dphi(K).
			dqc, dkc := dq[hd+t0*D:hd+t1*D], dk[hd+t0*D:hd+t1*D]
			for r := range m {
				qf := lw.qf[r*D : r*D+D : r*D+D]
				dqf := lw.dqf[r*D : r*D+D : r*D+D]
				var dot float32
				for i, x := range qf {
					dot += x * dqf[i]
				}
				dot /= s
				for i, x := range qf {
					dqc[r*D+i] += x * (dqf[i] - dot)
				}
				kf := lw.kf[r*D : r*D+D : r*D+D]
				for i, x := range kf {
					if kc[r*D+i] <= LinearKeyClamp {
						dkc[r*D+i] += x * (lw.dkf[r*D+i] + ds[i*D1+D])
					}
				}
			}
			// Gradient of this chunk's starting state: add phi(Q)^T [dnum|dden].
			attnGemm(true, false, D, D1, m, 1, lw.qf, D, lw.dnum, D1, 1, ds, D1)
		}
	})
}

// LinearAttentionStep is one position of LinearAttentionForward for one head,
// for generation: S (D, D) += phi(k) v^T, z (D) += phi(k), then
// out (D) = phi(q) S / max(phi(q).z, LinearEps). S and z start at zero
// before position 0. Needs no scratch (phi(q) is recomputed per row of S).
func LinearAttentionStep(out, S, z, q, k, v []float32, D int) {
	linearStep(out[:D:D], S[:D*D:D*D], z[:D:D], q[:D:D], k[:D:D], v[:D:D], D)
}

// linearStepGo is LinearAttentionStep in Go (vec.c's tg_linear_step is the
// same in C).
func linearStepGo(out, S, z, q, k, v []float32, D int) {
	q, k, v, out, z = q[:D:D], k[:D:D], v[:D:D], out[:D:D], z[:D:D]
	mx := q[0]
	for _, x := range q {
		mx = max(mx, x)
	}
	var sum float32
	for _, x := range q {
		sum += expf(x - mx)
	}
	sc := float32(1/math.Sqrt(float64(D))) / sum
	clear(out)
	var den float32
	// One pass over S: row i gets phi(k)_i v^T, then adds p_i times itself
	// to out.
	for i, x := range k {
		e := expf(min(x, LinearKeyClamp))
		z[i] += e
		p := expf(q[i]-mx) * sc
		den += p * z[i]
		row := S[i*D : i*D+D : i*D+D]
		for j, y := range v {
			r := row[j] + e*y
			row[j] = r
			out[j] += p * r
		}
	}
	inv := 1 / max(den, LinearEps)
	for j := range out {
		out[j] *= inv
	}
}
