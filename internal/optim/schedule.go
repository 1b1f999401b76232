package optim

import "math"

// Schedule is linear warm-up then cosine decay to a floor.
type Schedule struct {
	Peak, Min     float64
	Warmup, Total int
}

// LR is the learning rate of the 0-based update index step.
func (s Schedule) LR(step int) float64 {
	if step < s.Warmup {
		return s.Peak * float64(step+1) / float64(s.Warmup)
	}
	if step >= s.Total || s.Total <= s.Warmup {
		return s.Min
	}
	frac := float64(step-s.Warmup) / float64(s.Total-s.Warmup)
	return s.Min + 0.5*(s.Peak-s.Min)*(1+math.Cos(math.Pi*frac))
}

// ClipGlobalNorm returns the L2 norm of grads and scales grads to norm max
// when it is larger (max <= 0: no clipping). A non-finite norm leaves grads
// unchanged.
func ClipGlobalNorm(grads []float32, max float64) float64 {
	var ss float64
	for _, g := range grads {
		ss += float64(g) * float64(g)
	}
	norm := math.Sqrt(ss)
	if max > 0 && norm > max && !math.IsInf(norm, 0) && !math.IsNaN(norm) {
		f := float32(max / norm)
		for i := range grads {
			grads[i] *= f
		}
	}
	return norm
}
