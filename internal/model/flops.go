package model

// TrainFLOPsPerToken is the flop count of one training step (forward and
// backward) per token at context T:
//
//	matmuls: 6 * (C*3*inner + inner*C + 2*C*FFN) per layer + 6*C*V (LM head)
//	         (2 flops per multiply-add, backward = 2x forward);
//	softmax heads: 3 * 4*D*k per head and layer, k = mean keys per query
//	         (min(t, W)+1 for local, (T+1)/2 for quadratic; QK^T and PV);
//	linear and retention heads: 3 * (4*D*D + 4*D*c) per head and layer,
//	         c = mean in-chunk keys ((chunk+1)/2): state update k v^T and
//	         readout q S, plus the causal in-chunk product; retention adds
//	         its gate matmul 6*C*D per head;
//	rwkv heads: element-wise (the WKV scan), not counted.
//
// Element-wise work (norms, GELU, softmax exps) is not counted.
func TrainFLOPsPerToken(c Config, T int) float64 {
	C, inner, D := float64(c.Width), float64(c.Inner()), float64(c.HeadDim)
	mm := 6 * (C*3*inner + inner*C + 2*C*float64(c.FFN))
	var keys float64
	if c.Attention == AttentionQuadratic {
		keys = float64(T+1) / 2
	} else {
		W := float64(c.Window)
		t := float64(T)
		// mean over t of min(t, W)+1
		if t <= W {
			keys = (t + 1) / 2
		} else {
			keys = (W*(W+1)/2+(t-W)*W)/t + 1
		}
	}
	soft := float64(c.softmaxHeads()) * 3 * 4 * D * keys
	chunk := float64(min(c.Chunk, T))
	lin := float64(c.linearHeads()) * 3 * (4*D*D + 4*D*(chunk+1)/2)
	switch c.Attention {
	case AttentionRetention:
		lin += float64(c.linearHeads()) * 6 * C * D
	case AttentionRWKV:
		lin = 0
	}
	return float64(c.Layers)*(mm+soft+lin) + 6*C*float64(c.Vocab)
}
