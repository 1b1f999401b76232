package kernel

import (
	"fmt"
	"math"
)

// Multi-scale retention (RetNet, Sun et al. 2023, arXiv 2307.08621), the
// per-head part: retention with a fixed decay, a group norm per head and the
// swish gate. Per head h of H (bh = b*H + h) and position t:
//
//	gamma_h = 1 - 2^(-5-h)                         (RetentionDecay)
//	Y_t = s * sum_{j<=t} gamma^(t-j) (q_t . k_j) v_j,   s = D^-1/2
//	out_t = swish(g_t) * (Y_t - mean(Y_t)) / sqrt(var(Y_t) + RetentionEps)
//
// mean and var are over the D features of the head (RetNet's GroupNorm with
// one group per head, no affine: torchscale's LayerNorm(head_dim,
// elementwise_affine=False)); swish(x) = x*sigmoid(x). The rotary position
// embedding of q and k (torchscale's theta_shift, no xPos scale) is the
// caller's (RopeForward), as for the softmax heads. torchscale's extra
// normalisations of the decay mask and of |QK^T| row sums only rescale Y_t,
// which the group norm removes (up to RetentionEps), so they are left out.
//
// Training uses the chunkwise form: with R the state before a chunk,
// R = sum_{j<t0} gamma^(t0-1-j) k_j v_j^T (D, D), the m rows of a chunk are
//
//	Y = s * (diag(xi) Q R + (Q K^T . Dm) V),  xi_r = gamma^(r+1), Dm_rj = gamma^(r-j) (j <= r)
//	R' = gamma^m R + (diag(zeta) K)^T V,      zeta_j = gamma^(m-1-j)
//
// Every power of gamma is <= 1 and >= gamma^chunk, so there is no overflow
// and no stabiliser is needed. The generation form is RetentionStep:
// R_t = gamma R_{t-1} + k_t v_t^T, Y_t = s q_t R_t.

// RetentionEps is the variance floor of the per-head group norm.
const RetentionEps = 1e-5

// RetentionDecay is gamma of head h: 1 - 2^(-5-h), RetNet's schedule.
func RetentionDecay(h int) float64 { return 1 - math.Exp2(-5-float64(h)) }

// RetentionStateSize is the number of floats per head of the state
// argument: ceil(T/chunk) matrices (D, D), R at the start of each chunk.
func RetentionStateSize(T, D, chunk int) int {
	if chunk < 1 {
		panic(fmt.Sprintf("kernel: RetentionStateSize: chunk=%d < 1", chunk))
	}
	return (T + chunk - 1) / chunk * D * D
}

// retentionScratchPer is one worker's scratch, C = min(chunk, T): A, dA
// (C, C), Y, dY, xiQ, zetaK (C, D), powers of gamma (C+1), dR (D, D).
func retentionScratchPer(T, D, chunk int) int {
	c := min(chunk, T)
	return 2*c*c + 4*c*D + c + 1 + D*D
}

// RetentionScratchSize is the scratch length (floats) that RetentionForward
// and RetentionBackward need: per worker, with C = min(chunk, T),
// 2 C^2 + 4 C D + C + 1 + D^2, times the workers.
func RetentionScratchSize(BH, T, D, chunk int) int {
	if chunk < 1 {
		panic(fmt.Sprintf("kernel: RetentionScratchSize: chunk=%d < 1", chunk))
	}
	return retentionScratchPer(T, D, chunk) * attnWorkers(BH)
}

type retentionWork struct {
	a, da, y, dy, xq, zk, pw, dr []float32
}

func retentionSplit(ws []float32, T, D, chunk int) retentionWork {
	c := min(chunk, T)
	var rw retentionWork
	off := 0
	take := func(n int) []float32 {
		s := ws[off : off+n : off+n]
		off += n
		return s
	}
	rw.a, rw.da = take(c*c), take(c*c)
	rw.y, rw.dy, rw.xq, rw.zk = take(c*D), take(c*D), take(c*D), take(c*D)
	rw.pw = take(c + 1)
	rw.dr = take(D * D)
	return rw
}

// retentionPowers fills pw[i] = gamma^i for i in [0, len(pw)).
func retentionPowers(pw []float32, gamma float64) {
	p := 1.0
	for i := range pw {
		pw[i] = float32(p)
		p *= gamma
	}
}

// retentionChunk computes, for the m rows of one chunk with state R, the
// decayed causal product A = (Q K^T . Dm) (m, m), xiQ = diag(xi) Q and
// Y = s (xiQ R + A V) (m, D).
func retentionChunk(rw *retentionWork, R, qc, kc, vc []float32, m, D int, s float32) {
	attnGemm(false, true, m, m, D, 1, qc, D, kc, D, 0, rw.a, m)
	for r := range m {
		row := rw.a[r*m : r*m+m : r*m+m]
		for j := range row[:r+1] {
			row[j] *= rw.pw[r-j]
		}
		clear(row[r+1:])
		x := rw.pw[r+1]
		for i, v := range qc[r*D : r*D+D] {
			rw.xq[r*D+i] = x * v
		}
	}
	attnGemm(false, false, m, D, D, s, rw.xq, D, R, D, 0, rw.y, D)
	attnGemm(false, false, m, D, m, s, rw.a, m, vc, D, 1, rw.y, D)
}

// retentionNorm normalises row y (D) in place (mean 0, variance 1 up to
// RetentionEps) and returns its rstd.
func retentionNorm(y []float32) float32 {
	var mean float32
	for _, x := range y {
		mean += x
	}
	mean /= float32(len(y))
	var v float32
	for i, x := range y {
		d := x - mean
		y[i] = d
		v += d * d
	}
	rstd := float32(1 / math.Sqrt(float64(v/float32(len(y)))+RetentionEps))
	for i := range y {
		y[i] *= rstd
	}
	return rstd
}

func sigmoid(x float32) float32 { return 1 / (1 + expf(-x)) }

// RetentionForward is chunked multi-scale retention with group norm and
// swish gate (see the formulas above): q, k, v, g, out (BH, T, D) with head
// h = bh % H decaying by RetentionDecay(h); state (BH, ceil(T/chunk), D, D)
// receives R at the start of every chunk for the backward pass (O(T D)
// floats per head when chunk >= D). Heads run in parallel.
// scratch: RetentionScratchSize(BH, T, D, chunk) floats.
func RetentionForward(out, state, q, k, v, g []float32, BH, H, T, D, chunk int, scratch []float32) {
	const name = "RetentionForward"
	if chunk < 1 || H < 1 {
		panic(fmt.Sprintf("kernel: %s: chunk=%d H=%d", name, chunk, H))
	}
	n := BH * T * D
	for i, x := range [][]float32{out, q, k, v, g} {
		attnCheck(name, [...]string{"out", "q", "k", "v", "g"}[i], x, n)
	}
	if n == 0 {
		return
	}
	ssz := RetentionStateSize(T, D, chunk)
	attnCheck(name, "state", state, BH*ssz)
	per := retentionScratchPer(T, D, chunk)
	nw := attnScratchWorkers(name, scratch, per, BH)
	nc := (T + chunk - 1) / chunk
	sd := D * D
	s := float32(1 / math.Sqrt(float64(D)))
	attnParallel(nw, BH, func(w, h int) {
		rw := retentionSplit(scratch[w*per:w*per+per:w*per+per], T, D, chunk)
		retentionPowers(rw.pw, RetentionDecay(h%H))
		hd := h * T * D
		hs := state[h*ssz : h*ssz+ssz : h*ssz+ssz]
		clear(hs[:sd])
		for c := range nc {
			t0, t1 := c*chunk, min(T, (c+1)*chunk)
			m := t1 - t0
			R := hs[c*sd : c*sd+sd : c*sd+sd]
			kc, vc := k[hd+t0*D:hd+t1*D], v[hd+t0*D:hd+t1*D]
			retentionChunk(&rw, R, q[hd+t0*D:hd+t1*D], kc, vc, m, D, s)
			oc, gc := out[hd+t0*D:hd+t1*D], g[hd+t0*D:hd+t1*D]
			for r := range m {
				y := rw.y[r*D : r*D+D : r*D+D]
				retentionNorm(y)
				for i, x := range y {
					gv := gc[r*D+i]
					oc[r*D+i] = gv * sigmoid(gv) * x
				}
			}
			if c+1 < nc {
				// R' = gamma^m R + (diag(zeta) K)^T V.
				nx := hs[(c+1)*sd : (c+2)*sd : (c+2)*sd]
				gm := rw.pw[m]
				for i, x := range R {
					nx[i] = gm * x
				}
				for r := range m {
					z := rw.pw[m-1-r]
					for i, x := range kc[r*D : r*D+D] {
						rw.zk[r*D+i] = z * x
					}
				}
				attnGemm(true, false, D, D, m, 1, rw.zk, D, vc, D, 1, nx, D)
			}
		}
	})
}

// RetentionBackward adds the gradients of RetentionForward into dq, dk, dv,
// dg (BH, T, D), given dout, the forward inputs and the state it wrote.
// Chunks are visited last to first, recomputing each chunk's Y from its
// stored R and carrying the gradient of the state.
// scratch: RetentionScratchSize(BH, T, D, chunk) floats.
func RetentionBackward(dq, dk, dv, dg, dout, q, k, v, g, state []float32, BH, H, T, D, chunk int, scratch []float32) {
	const name = "RetentionBackward"
	if chunk < 1 || H < 1 {
		panic(fmt.Sprintf("kernel: %s: chunk=%d H=%d", name, chunk, H))
	}
	n := BH * T * D
	for i, x := range [][]float32{dq, dk, dv, dg, dout, q, k, v, g} {
		attnCheck(name, [...]string{"dq", "dk", "dv", "dg", "dout", "q", "k", "v", "g"}[i], x, n)
	}
	if n == 0 {
		return
	}
	ssz := RetentionStateSize(T, D, chunk)
	attnCheck(name, "state", state, BH*ssz)
	per := retentionScratchPer(T, D, chunk)
	nw := attnScratchWorkers(name, scratch, per, BH)
	nc := (T + chunk - 1) / chunk
	sd := D * D
	s := float32(1 / math.Sqrt(float64(D)))
	invD := 1 / float32(D)
	attnParallel(nw, BH, func(w, h int) {
		rw := retentionSplit(scratch[w*per:w*per+per:w*per+per], T, D, chunk)
		retentionPowers(rw.pw, RetentionDecay(h%H))
		hd := h * T * D
		hs := state[h*ssz : h*ssz+ssz : h*ssz+ssz]
		dR := rw.dr // gradient of R at the start of chunk c+1
		clear(dR)
		for c := nc - 1; c >= 0; c-- {
			t0, t1 := c*chunk, min(T, (c+1)*chunk)
			m := t1 - t0
			R := hs[c*sd : c*sd+sd : c*sd+sd]
			sl := func(x []float32) []float32 { return x[hd+t0*D : hd+t1*D : hd+t1*D] }
			qc, kc, vc, gc, oc := sl(q), sl(k), sl(v), sl(g), sl(dout)
			retentionChunk(&rw, R, qc, kc, vc, m, D, s)
			// Gate and group norm: dY = rstd (dyh - mean(dyh) - yh mean(dyh . yh)).
			dgc := sl(dg)
			for r := range m {
				y := rw.y[r*D : r*D+D : r*D+D]
				dy := rw.dy[r*D : r*D+D : r*D+D]
				rstd := retentionNorm(y)
				var sum, dot float32
				for i, x := range y {
					gv := gc[r*D+i]
					sg := sigmoid(gv)
					gd := oc[r*D+i]
					dgc[r*D+i] += gd * x * sg * (1 + gv*(1-sg))
					d := gd * gv * sg
					dy[i] = d
					sum += d
					dot += d * x
				}
				sum *= invD
				dot *= invD
				for i, x := range y {
					dy[i] = rstd * (dy[i] - sum - x*dot)
				}
			}
			// dA = s (dY V^T) . Dm.
			attnGemm(false, true, m, m, D, s, rw.dy, D, vc, D, 0, rw.da, m)
			for r := range m {
				row := rw.da[r*m : r*m+m : r*m+m]
				for j := range row[:r+1] {
					row[j] *= rw.pw[r-j]
				}
				clear(row[r+1:])
			}
			// dQ += dA K + s diag(xi) dY R^T: the second term via xq as temp.
			dqc := sl(dq)
			attnGemm(false, false, m, D, m, 1, rw.da, m, kc, D, 1, dqc, D)
			attnGemm(false, true, m, D, D, s, rw.dy, D, R, D, 0, rw.zk, D)
			for r := range m {
				x := rw.pw[r+1]
				for i, v := range rw.zk[r*D : r*D+D] {
					dqc[r*D+i] += x * v
				}
			}
			// dK += dA^T Q + diag(zeta) V dR^T.
			dkc, dvc := sl(dk), sl(dv)
			attnGemm(true, false, m, D, m, 1, rw.da, m, qc, D, 1, dkc, D)
			// dV += s A^T dY + diag(zeta) K dR.
			attnGemm(true, false, m, D, m, s, rw.a, m, rw.dy, D, 1, dvc, D)
			if c+1 < nc {
				attnGemm(false, true, m, D, D, 1, vc, D, dR, D, 0, rw.zk, D)
				for r := range m {
					z := rw.pw[m-1-r]
					for i, x := range rw.zk[r*D : r*D+D] {
						dkc[r*D+i] += z * x
					}
				}
				attnGemm(false, false, m, D, D, 1, kc, D, dR, D, 0, rw.zk, D)
				for r := range m {
					z := rw.pw[m-1-r]
					for i, x := range rw.zk[r*D : r*D+D] {
						dvc[r*D+i] += z * x
					}
				}
			}
			// dR_c = gamma^m dR_{c+1} + s (diag(xi) Q)^T dY.
			if c > 0 {
				gm := rw.pw[m]
				for i := range dR {
					dR[i] *= gm
				}
				attnGemm(true, false, D, D, m, s, rw.xq, D, rw.dy, D, 1, dR, D)
			}
		}
	})
}

// RetentionStep is one position of RetentionForward for one head, for
// generation: R (D, D) = gamma R + k v^T (R starts at zero before position
// 0), then out (D) = swish(g) * groupnorm(s q R). q and k must already be
// rotated at this position; gamma is RetentionDecay of the head.
func RetentionStep(out, R, q, k, v, g []float32, D int, gamma float64) {
	q, k, v, g, out = q[:D:D], k[:D:D], v[:D:D], g[:D:D], out[:D:D]
	gm := float32(gamma)
	for i, x := range k {
		row := R[i*D : i*D+D : i*D+D]
		for j, y := range v {
			row[j] = gm*row[j] + x*y
		}
	}
	s := float32(1 / math.Sqrt(float64(D)))
	clear(out)
	for i, x := range q {
		row := R[i*D : i*D+D : i*D+D]
		for j, y := range row {
			out[j] += x * y
		}
	}
	for j := range out {
		out[j] *= s
	}
	retentionNorm(out)
	for j, x := range g {
		out[j] *= x * sigmoid(x)
	}
}
