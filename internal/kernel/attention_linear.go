package kernel

// LinearAttentionStateSize is the number of floats per head of state.
func LinearAttentionStateSize(T, D, chunk int) int { return (T + chunk - 1) / chunk * D * (D + 1) }

// LinearAttentionScratchSize is the scratch length for LinearAttentionForward/Backward.
func LinearAttentionScratchSize(BH, T, D, chunk int) int { return 0 }

// LinearAttentionForward is chunked causal linear attention.
func LinearAttentionForward(out, state, q, k, v []float32, BH, T, D, chunk int, scratch []float32) {}

// LinearAttentionBackward adds the gradients of LinearAttentionForward.
func LinearAttentionBackward(dq, dk, dv, dout, q, k, v, state []float32, BH, T, D, chunk int, scratch []float32) {
}

// LinearAttentionStep advances S (D,D), z (D) by one position and writes out (D).
func LinearAttentionStep(out, S, z, q, k, v []float32, D int) {}
