package kernel

// Attention kernels: stubs with the final signatures; implementations follow.

// RopeForward applies rotary position embedding in place to x (BH, T, D).
func RopeForward(x []float32, BH, T, D int, base float32) { RopeForwardAt(x, BH, T, D, base, 0) }

// RopeForwardAt is RopeForward with positions offset+t (for generation).
func RopeForwardAt(x []float32, BH, T, D int, base float32, offset int) {}

// RopeBackward applies the inverse rotation to the gradient dx (BH, T, D) in place.
func RopeBackward(dx []float32, BH, T, D int, base float32) {}

// QuadraticAttentionScratchSize is the scratch length for QuadraticAttentionForward/Backward.
func QuadraticAttentionScratchSize(BH, T, D int) int { return 0 }

// QuadraticAttentionForward is full causal softmax attention.
func QuadraticAttentionForward(out, lse, q, k, v []float32, BH, T, D int, scratch []float32) {}

// QuadraticAttentionBackward adds the gradients of QuadraticAttentionForward.
func QuadraticAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse []float32, BH, T, D int, scratch []float32) {
}
