package kernel

import (
	"fmt"
	"math"
)

// LocalAttentionScratchSize is the scratch length (floats) that
// LocalAttentionForward and LocalAttentionBackward need: per worker two
// (64, 64+W) score blocks plus 64 floats, times the workers used.
func LocalAttentionScratchSize(BH, T, D, W int) int {
	return softmaxScratchPer(T, W) * attnWorkers(BH*((T+attnBlock-1)/attnBlock))
}

// LocalAttentionForward is causal softmax attention in a sliding window:
// q, k, v, out (BH, T, D); query t attends keys max(0, t-W)..t with scale
// 1/sqrt(D); lse (BH, T) receives each query's log-sum-exp for the backward
// pass. Queries are processed in blocks of 64 against the 64+W keys the block
// can see, so the cost is O(T (W+64) D) and no (T, T) matrix exists.
// scratch: LocalAttentionScratchSize(BH, T, D, W) floats.
func LocalAttentionForward(out, lse, q, k, v []float32, BH, T, D, W int, scratch []float32) {
	if W < 0 {
		panic(fmt.Sprintf("kernel: LocalAttentionForward: W=%d < 0", W))
	}
	softmaxAttnForward("LocalAttentionForward", out, lse, q, k, v, BH, T, D, W, scratch)
}

// LocalAttentionBackward adds the gradients of LocalAttentionForward into
// dq, dk, dv (BH, T, D), given dout, the forward inputs, out and lse;
// probabilities are recomputed block by block.
// scratch: LocalAttentionScratchSize(BH, T, D, W) floats.
func LocalAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse []float32, BH, T, D, W int, scratch []float32) {
	if W < 0 {
		panic(fmt.Sprintf("kernel: LocalAttentionBackward: W=%d < 0", W))
	}
	softmaxAttnBackward("LocalAttentionBackward", dq, dk, dv, dout, q, k, v, out, lse, BH, T, D, W, scratch)
}

// LocalAttentionStep is one position of LocalAttentionForward for one head,
// for generation: it stores k, v (D) of position pos in slot pos%(W+1) of
// the ring buffers kring, vring (W+1, D), then writes to out (D) the
// attention of q over positions max(0, pos-W)..pos. Positions must be fed in
// order 0, 1, 2, ... (q and k already rotated by RoPE at pos). Those
// positions fill slots 0..min(pos, W), a contiguous range, and softmax
// attention does not depend on the order of its keys, so the slots are
// read in order: blocks of up to 64 keys (scores on the stack, four keys
// at a time), an online softmax across blocks (running maximum and sum),
// so no scratch is needed.
func LocalAttentionStep(out, kring, vring []float32, pos int, q, k, v []float32, D, W int) {
	R := W + 1
	slot := pos % R
	copy(kring[slot*D:slot*D+D], k[:D])
	copy(vring[slot*D:slot*D+D], v[:D])
	n := min(pos, W) + 1
	attnStep(out[:D:D], kring[:n*D:n*D], vring[:n*D:n*D], n, q[:D:D], D, float32(1/math.Sqrt(float64(D))))
}

// attnStepGo is the attention of one query q (D) over the n keys and values
// kring, vring (n, D), written to out (D): scale * scores, softmax, the
// weighted sum of the values. vec.c's tg_attn_step is the same in C.
func attnStepGo(out, kring, vring []float32, n int, q []float32, D int, scale float32) {
	out = out[:D:D]
	clear(out)
	q = q[:D:D]
	mx := float32(math.Inf(-1))
	var sum float32
	var sc [64]float32
	for j0 := 0; j0 < n; j0 += len(sc) {
		m := min(len(sc), n-j0)
		keys := kring[j0*D : (j0+m)*D]
		scores4(sc[:m], q, keys)
		bm := mx
		for j := range m {
			sc[j] *= scale
			bm = max(bm, sc[j])
		}
		if bm > mx {
			// Rescale what was accumulated against the old maximum.
			c := expf(mx - bm)
			sum *= c
			for i := range out {
				out[i] *= c
			}
			mx = bm
		}
		for j := range m {
			sc[j] = expf(sc[j] - mx)
			sum += sc[j]
		}
		vals := vring[j0*D : (j0+m)*D]
		j := 0
		for ; j+4 <= m; j += 4 {
			v0, v1 := vals[j*D : j*D+D][:len(out)], vals[j*D+D : j*D+2*D][:len(out)]
			v2, v3 := vals[j*D+2*D : j*D+3*D][:len(out)], vals[j*D+3*D : j*D+4*D][:len(out)]
			e0, e1, e2, e3 := sc[j], sc[j+1], sc[j+2], sc[j+3]
			for i := range out {
				out[i] += e0*v0[i] + e1*v1[i] + e2*v2[i] + e3*v3[i]
			}
		}
		for ; j < m; j++ {
			e, vr := sc[j], vals[j*D : j*D+D][:len(out)]
			for i := range out {
				out[i] += e * vr[i]
			}
		}
	}
	inv := 1 / sum
	for i := range out {
		out[i] *= inv
	}
}

// scores4 writes the dot products of q (D) with the len(sc) keys (len(sc),
// D) to sc, four keys at a time (independent sums, q loaded once).
func scores4(sc, q, keys []float32) {
	D := len(q)
	j := 0
	for ; j+4 <= len(sc); j += 4 {
		k0, k1 := keys[j*D : j*D+D][:D], keys[j*D+D : j*D+2*D][:D]
		k2, k3 := keys[j*D+2*D : j*D+3*D][:D], keys[j*D+3*D : j*D+4*D][:D]
		var s0, s1, s2, s3 float32
		for i, x := range q {
			s0 += x * k0[i]
			s1 += x * k1[i]
			s2 += x * k2[i]
			s3 += x * k3[i]
		}
		sc[j], sc[j+1], sc[j+2], sc[j+3] = s0, s1, s2, s3
	}
	for ; j < len(sc); j++ {
		sc[j] = dot4(q, keys[j*D:j*D+D])
	}
}

// dot4 is the dot product of a and b (len(a) <= len(b)) with four
// independent partial sums (a single running sum waits on each add).
func dot4(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
