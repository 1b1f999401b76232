// Package optim holds the optimizer side of training: AdamW with decoupled
// weight decay, the learning-rate schedule and global-norm gradient clipping.
// It works on flat float32 slabs (the model's Params and Grads) and never
// allocates per step.
//
// # AdamW
//
// NewAdamW(n, segments, hyper) keeps the first and second moments m and v in
// one slab of 2n float32 ([m | v]). Update(params, grads, lr), with t the
// 1-based update count after the call, does per element (PyTorch's AdamW):
//
//	p -= lr * wd * p                       only inside segments with Decay
//	m  = b1*m + (1-b1)*g
//	v  = b2*v + (1-b2)*g*g
//	p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
//
// The bias corrections are computed in float64, the element updates in
// float32, in index order (deterministic, independent of threads). Defaults
// (DefaultHyper): b1 0.9, b2 0.95, eps 1e-8, wd 0.1.
//
// # State
//
// MarshalBinary/UnmarshalBinary serialise the exact state: magic
// "tgpt-adamw-1\n" (13 bytes), then little-endian uint64 n, uint64 t,
// float64 b1, b2, eps, wd, then 2n float32 ([m | v]). Unmarshal into an
// optimizer of another size is an error wrapping ErrState; the segments are
// not stored (they follow from the model's layout). Restoring and continuing
// gives bit-identical parameters to never having stopped.
//
// # Schedule
//
// Schedule{Peak, Min, Warmup, Total}.LR(step) for the 0-based update index
// step: linear warm-up Peak*(step+1)/Warmup for step < Warmup, then cosine
// decay from Peak to Min over [Warmup, Total), and Min from Total on.
//
// # Clipping
//
// ClipGlobalNorm(grads, max) returns the L2 norm of grads (accumulated in
// float64) and, when max > 0 and the norm exceeds it, scales grads by
// max/norm. A non-finite norm is returned as is and grads are left alone so
// the caller can refuse the step.
package optim
