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
// order 0, 1, 2, ... (q and k already rotated by RoPE at pos). An online
// softmax (running maximum and sum) avoids any scratch.
func LocalAttentionStep(out, kring, vring []float32, pos int, q, k, v []float32, D, W int) {
	R := W + 1
	slot := pos % R
	copy(kring[slot*D:slot*D+D], k[:D])
	copy(vring[slot*D:slot*D+D], v[:D])
	out = out[:D:D]
	clear(out)
	q = q[:D:D]
	scale := float32(1 / math.Sqrt(float64(D)))
	mx := float32(math.Inf(-1))
	var sum float32
	for p := max(0, pos-W); p <= pos; p++ {
		s := p % R
		kr := kring[s*D : s*D+D : s*D+D]
		var dot float32
		for i, x := range q {
			dot += x * kr[i]
		}
		dot *= scale
		if dot > mx {
			// Rescale what was accumulated against the old maximum.
			c := expf(mx - dot)
			sum *= c
			for i := range out {
				out[i] *= c
			}
			mx = dot
		}
		e := expf(dot - mx)
		sum += e
		vr := vring[s*D : s*D+D : s*D+D]
		for i, x := range vr {
			out[i] += e * x
		}
	}
	inv := 1 / sum
	for i := range out {
		out[i] *= inv
	}
}
