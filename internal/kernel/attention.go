package kernel

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/trafficgpt/trafficgpt/internal/blas"
)

// Shared pieces of the attention kernels: rotary embedding, the flash-style
// softmax attention core used by both the local (sliding window) and the
// quadratic (full causal) kernels, the worker pool and a fast float32 exp.

// attnBlock is the number of queries processed together by the softmax
// attention kernels: one (attnBlock, keys) score block per product keeps the
// products in the size range where OpenBLAS runs on the calling thread.
const attnBlock = 64

// attnTile bounds the products issued by the attention kernels: OpenBLAS
// runs a product on the calling thread only when M*N*K <= 64^3 (see package
// blas); larger ones start its OpenMP threads, and two goroutines doing that
// at once oversubscribe the cores (measured 2-4x slower). attnGemm cuts every
// product into tiles of at most attnTile^3 so the heads can run on parallel
// goroutines whatever blas.SetThreads says.
const attnTile = 64

// attnGemm is blas.Sgemm (same arguments) issued as tiles of at most
// attnTile^3 multiply-adds; K tiles after the first accumulate (beta 1).
func attnGemm(transA, transB bool, M, N, K int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, C []float32, ldc int) {
	if M*N*K <= attnTile*attnTile*attnTile {
		blas.Sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
		return
	}
	kt, nt := min(K, attnTile), min(N, attnTile)
	mt := min(M, max(1, attnTile*attnTile*attnTile/(kt*nt)))
	for i0 := 0; i0 < M; i0 += mt {
		m := min(mt, M-i0)
		for j0 := 0; j0 < N; j0 += nt {
			n := min(nt, N-j0)
			for p0 := 0; p0 < K; p0 += kt {
				k := min(kt, K-p0)
				ao, bo := i0*lda+p0, p0*ldb+j0
				if transA {
					ao = p0*lda + i0
				}
				if transB {
					bo = j0*ldb + p0
				}
				b := beta
				if p0 > 0 {
					b = 1
				}
				blas.Sgemm(transA, transB, m, n, k, alpha, A[ao:], lda, B[bo:], ldb, b, C[i0*ldc+j0:], ldc)
			}
		}
	}
}

// attnWorkers is the number of goroutines used for items independent work
// items: at most GOMAXPROCS, at least 1.
func attnWorkers(items int) int {
	return max(1, min(runtime.GOMAXPROCS(0), items))
}

// attnParallel runs fn(w, i) for i in [0, items) on nw goroutines; w in
// [0, nw) names the worker so fn can use that worker's scratch.
func attnParallel(nw, items int, fn func(w, i int)) {
	if nw <= 1 || items <= 1 {
		for i := range items {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= items {
					return
				}
				fn(w, i)
			}
		}()
	}
	wg.Wait()
}

// attnScratchWorkers returns how many workers the scratch slice can serve
// (each needs per floats), panicking when it cannot serve one.
func attnScratchWorkers(name string, scratch []float32, per, items int) int {
	if per == 0 {
		return attnWorkers(items)
	}
	if len(scratch) < per {
		panic(fmt.Sprintf("kernel: %s: scratch has %d floats, need at least %d", name, len(scratch), per))
	}
	return min(attnWorkers(items), len(scratch)/per)
}

// attnCheck panics when a slice is shorter than its stated shape.
func attnCheck(name, arg string, x []float32, n int) {
	if len(x) < n {
		panic(fmt.Sprintf("kernel: %s: len(%s)=%d < %d", name, arg, len(x), n))
	}
}

// expf is exp for float32 arguments (Cephes expf: range reduction by ln 2 and
// a degree-6 polynomial, relative error about 2e-7). It returns 0 below -87
// (results would be denormal) and +Inf above 88.7. math.Exp in float64 costs
// several times more and the softmax kernels spend most of their non-product
// time here.
func expf(x float32) float32 {
	if x < -87 {
		return 0
	}
	if x > 88.72 {
		return float32(math.Inf(1))
	}
	fx := x * 1.44269504088896341
	var n int32
	if fx >= 0 {
		n = int32(fx + 0.5)
	} else {
		n = int32(fx - 0.5)
	}
	fn := float32(n)
	r := x - fn*0.693359375 - fn*(-2.12194440e-4)
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	if n > 127 {
		// 2^128 is not a float32: scale in two steps (x in (88.03, 88.72]).
		return y * 2 * math.Float32frombits(uint32(n+126)<<23)
	}
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// expSubGo sets dst[i] = exp(min(src[i], hi) - sub) and returns the sum of
// dst. It is expf's algorithm inlined in a loop (so the independent
// iterations overlap in the CPU) with rounding by the 1.5*2^23 trick instead
// of branches; arguments of exp are clamped to at most 88 (callers keep them
// <= 30), below -87 the result is 0. dst and src may be the same slice.
// expSub is this function, or its C version (vec.c) whose sum is taken in a
// different order.
func expSubGo(dst, src []float32, sub, hi float32) float32 {
	src = src[:len(dst)]
	var sum float32
	for i, x := range src {
		x = min(x, hi) - sub
		if x < -87 {
			dst[i] = 0
			continue
		}
		x = min(x, 88)
		t := x*1.44269504088896341 + 12582912
		n := int32(math.Float32bits(t)) - 0x4B400000
		fn := t - 12582912
		r := x - fn*0.693359375 - fn*(-2.12194440e-4)
		p := float32(1.9875691500e-4)
		p = p*r + 1.3981999507e-3
		p = p*r + 8.3334519073e-3
		p = p*r + 4.1665795894e-2
		p = p*r + 1.6666665459e-1
		p = p*r + 5.0000001201e-1
		y := (p*r*r + r + 1) * math.Float32frombits(uint32(n+127)<<23)
		dst[i] = y
		sum += y
	}
	return sum
}

// softmaxFwdRowsGo normalises the m score rows of P (m, nk) in place: row r
// is valid in columns lo..hi, hi = off+r, lo = max(0, hi-W), and becomes
// softmax over them (zeros elsewhere). mx (m) receives each row's maximum,
// sum (m) its sum of exp(score - max); lse = mx + log(sum).
func softmaxFwdRowsGo(P []float32, m, nk, off, W int, mx, sum []float32) {
	for r := range m {
		row := P[r*nk : r*nk+nk : r*nk+nk]
		hi := off + r
		lo := max(0, hi-W)
		x := row[lo]
		for _, s := range row[lo : hi+1] {
			x = max(x, s)
		}
		s := expSubGo(row[lo:hi+1], row[lo:hi+1], x, x)
		inv := 1 / s
		for j := lo; j <= hi; j++ {
			row[j] *= inv
		}
		clear(row[:lo])
		clear(row[hi+1:])
		mx[r], sum[r] = x, s
	}
}

// softmaxBwdRowsGo recomputes the probabilities of the m rows of P (m, nk)
// from their scores and lse (m), columns as in softmaxFwdRowsGo, and sets
// di[r] = dout[r].out[r] (rows of D).
func softmaxBwdRowsGo(P []float32, m, nk, off, W int, lse, dout, out []float32, D int, di []float32) {
	for r := range m {
		row := P[r*nk : r*nk+nk : r*nk+nk]
		hi := off + r
		lo := max(0, hi-W)
		expSubGo(row[lo:hi+1], row[lo:hi+1], lse[r], float32(math.Inf(1)))
		clear(row[:lo])
		clear(row[hi+1:])
		var d float32
		for e, g := range dout[r*D : r*D+D] {
			d += g * out[r*D+e]
		}
		di[r] = d
	}
}

// softmaxDSGo sets dS (m, nk) = P * (dS - di[r]) row by row.
func softmaxDSGo(dS, P, di []float32, m, nk int) {
	for r := range m {
		row, prow := dS[r*nk:r*nk+nk:r*nk+nk], P[r*nk:r*nk+nk:r*nk+nk]
		d := di[r]
		for j, p := range prow {
			row[j] = p * (row[j] - d)
		}
	}
}

// RopeForward applies rotary position embedding in place to x (BH, T, D) at
// positions t = 0..T-1; see RopeForwardAt.
func RopeForward(x []float32, BH, T, D int, base float32) { RopeForwardAt(x, BH, T, D, base, 0) }

// RopeForwardAt applies rotary position embedding in place to x (BH, T, D)
// at positions offset+t (generation rotates one new position at a time).
// Feature pairs (i, i+D/2), i < D/2, are rotated by the angle
// pos * base^(-2i/D): (a, b) -> (a cos - b sin, a sin + b cos). D must be
// even. Angles are computed in float64 so long positions stay exact.
func RopeForwardAt(x []float32, BH, T, D int, base float32, offset int) {
	rope(x, BH, T, D, base, offset, 1)
}

// RopeBackward applies the inverse (transposed) rotation of RopeForward to
// the gradient dx (BH, T, D) in place. Being a rotation, the gradient of the
// input is the inversely rotated gradient of the output; it overwrites dx
// rather than adding, since the model rotates q and k in place.
func RopeBackward(dx []float32, BH, T, D int, base float32) { rope(dx, BH, T, D, base, 0, -1) }

func rope(x []float32, BH, T, D int, base float32, offset int, sign float64) {
	if D%2 != 0 {
		panic(fmt.Sprintf("kernel: Rope: D=%d is odd", D))
	}
	attnCheck("Rope", "x", x, BH*T*D)
	h := D / 2
	// Positions are split into ranges; every range computes its angles once
	// and applies them to all BH heads.
	const span = 64
	items := (T + span - 1) / span
	r := math.Pow(float64(base), -2/float64(D))
	attnParallel(attnWorkers(items), items, func(_, it int) {
		// Angles of up to 256 pairs at a time on the stack, applied to the
		// contiguous rows of all heads at this position.
		var cs, sn [256]float32
		for t := it * span; t < min(T, (it+1)*span); t++ {
			pos := float64(offset + t)
			for i0 := 0; i0 < h; i0 += len(cs) {
				n := min(len(cs), h-i0)
				// freq_i = base^(-2i/D) as powers of r = base^(-2/D)
				// (float64, relative error ~1e-15, far below float32).
				freq := math.Pow(r, float64(i0))
				for i := range n {
					s64, c64 := math.Sincos(pos * freq)
					freq *= r
					cs[i], sn[i] = float32(c64), float32(sign*s64)
				}
				for bh := range BH {
					o := (bh*T+t)*D + i0
					lo, hi := x[o:o+n:o+n], x[o+h:o+h+n:o+h+n]
					for i := range n {
						a, b, c, s := lo[i], hi[i], cs[i], sn[i]
						lo[i] = a*c - b*s
						hi[i] = a*s + b*c
					}
				}
			}
		}
	})
}

// softmaxScratchPer is the scratch of one worker of the softmax attention
// core: two (attnBlock, keys) blocks and attnBlock row values.
func softmaxScratchPer(T, W int) int {
	bq := min(attnBlock, T)
	nk := min(T, bq+W)
	return 2*bq*nk + bq
}

// softmaxAttnForward is the flash-style causal softmax attention core: query
// t attends keys max(0, t-W)..t. Queries are processed in blocks of
// attnBlock; each block computes its scores against the keys it can see,
// normalises them row by row and multiplies by V. lse (BH, T) keeps the
// log-sum-exp of the scaled scores for the backward pass.
func softmaxAttnForward(name string, out, lse, q, k, v []float32, BH, T, D, W int, scratch []float32) {
	n := BH * T * D
	attnCheck(name, "out", out, n)
	attnCheck(name, "lse", lse, BH*T)
	attnCheck(name, "q", q, n)
	attnCheck(name, "k", k, n)
	attnCheck(name, "v", v, n)
	if n == 0 {
		return
	}
	per := softmaxScratchPer(T, W)
	bq := min(attnBlock, T)
	nblk := (T + attnBlock - 1) / attnBlock
	nw := attnScratchWorkers(name, scratch, per, BH*nblk)
	scale := float32(1 / math.Sqrt(float64(D)))
	attnParallel(nw, BH*nblk, func(w, it int) {
		P := scratch[w*per : w*per+per : w*per+per]
		h, b := it/nblk, it%nblk
		hd := h * T * D
		t0, t1 := b*attnBlock, min(T, (b+1)*attnBlock)
		ks := max(0, t0-W)
		m, nk := t1-t0, t1-ks
		attnGemm(false, true, m, nk, D, scale, q[hd+t0*D:hd+t1*D], D, k[hd+ks*D:hd+t1*D], D, 0, P, nk)
		// Row maxima into lse, sums into the row-values scratch.
		ls, sums := lse[h*T+t0:h*T+t1:h*T+t1], P[per-bq:per:per]
		softmaxFwdRows(P, m, nk, t0-ks, W, ls, sums)
		for r := range m {
			ls[r] += float32(math.Log(float64(sums[r])))
		}
		attnGemm(false, false, m, D, nk, 1, P, nk, v[hd+ks*D:hd+t1*D], D, 0, out[hd+t0*D:hd+t1*D], D)
	})
}

// softmaxAttnBackward adds the gradients of softmaxAttnForward. Per query
// block it recomputes P = exp(scale*QK^T - lse), then
// dP = dO V^T, dS = P*(dP - rowsum(dO*O)), dQ += scale dS K,
// dK += scale dS^T Q, dV += P^T dO. Heads run in parallel; the blocks of one
// head run in order because their dK, dV ranges overlap.
func softmaxAttnBackward(name string, dq, dk, dv, dout, q, k, v, out, lse []float32, BH, T, D, W int, scratch []float32) {
	n := BH * T * D
	for i, x := range [][]float32{dq, dk, dv, dout, q, k, v, out} {
		attnCheck(name, [...]string{"dq", "dk", "dv", "dout", "q", "k", "v", "out"}[i], x, n)
	}
	attnCheck(name, "lse", lse, BH*T)
	if n == 0 {
		return
	}
	per := softmaxScratchPer(T, W)
	nw := attnScratchWorkers(name, scratch, per, BH)
	bq := min(attnBlock, T)
	nkMax := min(T, bq+W)
	scale := float32(1 / math.Sqrt(float64(D)))
	attnParallel(nw, BH, func(w, h int) {
		ws := scratch[w*per : w*per+per : w*per+per]
		P := ws[: bq*nkMax : bq*nkMax]
		dS := ws[bq*nkMax : 2*bq*nkMax : 2*bq*nkMax]
		di := ws[2*bq*nkMax : 2*bq*nkMax+bq : 2*bq*nkMax+bq]
		hd := h * T * D
		for t0 := 0; t0 < T; t0 += attnBlock {
			t1 := min(T, t0+attnBlock)
			ks := max(0, t0-W)
			m, nk := t1-t0, t1-ks
			qb, kr, vr := q[hd+t0*D:hd+t1*D], k[hd+ks*D:hd+t1*D], v[hd+ks*D:hd+t1*D]
			ob, gb := out[hd+t0*D:hd+t1*D], dout[hd+t0*D:hd+t1*D]
			attnGemm(false, true, m, nk, D, scale, qb, D, kr, D, 0, P, nk)
			softmaxBwdRows(P, m, nk, t0-ks, W, lse[h*T+t0:h*T+t1], gb, ob, D, di)
			attnGemm(false, true, m, nk, D, 1, gb, D, vr, D, 0, dS, nk)
			softmaxDS(dS, P, di, m, nk)
			attnGemm(false, false, m, D, nk, scale, dS, nk, kr, D, 1, dq[hd+t0*D:hd+t1*D], D)
			attnGemm(true, false, nk, D, m, scale, dS, nk, qb, D, 1, dk[hd+ks*D:hd+t1*D], D)
			attnGemm(true, false, nk, D, m, 1, P, nk, gb, D, 1, dv[hd+ks*D:hd+t1*D], D)
		}
	})
}

// QuadraticAttentionScratchSize is the scratch length (floats) that
// QuadraticAttentionForward and QuadraticAttentionBackward need: per worker
// two (64, T) score blocks, so O(T) memory, times the workers used.
func QuadraticAttentionScratchSize(BH, T, D int) int {
	return softmaxScratchPer(T, T) * attnWorkers(BH*((T+attnBlock-1)/attnBlock))
}

// QuadraticAttentionForward is full causal softmax attention, the benchmark
// baseline: out (BH, T, D) row t = softmax_j<=t(q_t.k_j/sqrt(D)) v_j; lse
// (BH, T) is each query's log-sum-exp of the scaled scores. O(T^2 D) time,
// O(T) scratch (QuadraticAttentionScratchSize).
func QuadraticAttentionForward(out, lse, q, k, v []float32, BH, T, D int, scratch []float32) {
	softmaxAttnForward("QuadraticAttentionForward", out, lse, q, k, v, BH, T, D, T, scratch)
}

// QuadraticAttentionBackward adds the gradients of QuadraticAttentionForward
// into dq, dk, dv (BH, T, D), recomputing the probabilities from lse.
func QuadraticAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse []float32, BH, T, D int, scratch []float32) {
	softmaxAttnBackward("QuadraticAttentionBackward", dq, dk, dv, dout, q, k, v, out, lse, BH, T, D, T, scratch)
}
