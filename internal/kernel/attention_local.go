package kernel

// LocalAttentionScratchSize is the scratch length for LocalAttentionForward/Backward.
func LocalAttentionScratchSize(BH, T, D, W int) int { return 0 }

// LocalAttentionForward is causal sliding-window softmax attention.
func LocalAttentionForward(out, lse, q, k, v []float32, BH, T, D, W int, scratch []float32) {}

// LocalAttentionBackward adds the gradients of LocalAttentionForward.
func LocalAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse []float32, BH, T, D, W int, scratch []float32) {
}

// LocalAttentionStep attends one position against ring buffers (W+1, D).
func LocalAttentionStep(out, kring, vring []float32, pos int, q, k, v []float32, D, W int) {}
