// Package kernel holds the forward and backward kernels of the transformer as
// plain functions over flat []float32 slices (llm.c style).
//
// # Conventions
//
//   - Shapes are given in each doc comment, row-major, e.g. inp (N, C) means
//     inp[n*C+c]. N is usually B*T (batch times positions).
//   - Forward functions overwrite their outputs. Backward functions ADD into
//     the gradients they are given (dinp, dweight, ...), so gradients from
//     several uses accumulate; callers zero them once per step.
//   - Weights of a linear layer are (OC, C): out = inp @ weight^T + bias, the
//     PyTorch layout, so checkpoints map one to one.
//   - Kernels allocate nothing on the hot path; scratch memory is passed in
//     (its size is stated) or taken from a sync.Pool-free caller slab.
//   - Heavy kernels run in parallel over batch, heads and chunks with at most
//     runtime.GOMAXPROCS goroutines; matrix products go through internal/blas.
//   - Every kernel has a naive float64 reference and a finite-difference
//     gradient check in the tests; attention kernels also have causality tests.
//
// # Kernels
//
// Element-wise and row-wise (kernel.go):
//
//	EmbeddingForward(out, tokens, wte, N, C)        out (N,C) = wte[tokens[n]] ; wte (V,C)
//	EmbeddingBackward(dwte, dout, tokens, N, C)
//	LayerNormForward(out, mean, rstd, inp, w, b, N, C)   mean, rstd (N)
//	LayerNormBackward(dinp, dw, db, dout, inp, w, mean, rstd, N, C)
//	MatmulForward(out, inp, weight, bias, N, C, OC)   bias may be nil
//	MatmulBackward(dinp, dweight, dbias, dout, inp, weight, N, C, OC)   dbias may be nil
//	GeluForward(out, inp, n) / GeluBackward(dinp, inp, dout, n)   tanh approximation
//	TokenShiftForward(out, inp, B, T, C)   channels [0, C/2) of position t take position t-1's
//	                                       values (zeros at t=0); channels [C/2, C) pass through
//	TokenShiftBackward(dinp, dout, B, T, C)
//	ResidualForward(out, a, b, n) out = a + b
//	DropoutForward(out, mask, inp, p, seed, n)   mask (n) uint8; inverted dropout, scale 1/(1-p);
//	                                             the mask is a pure function of (seed, index)
//	DropoutBackward(dinp, dout, mask, p, n)
//	CrossEntropyForward(losses, probs, logits, targets, N, V)  losses (N); probs (N,V) softmax;
//	                                                           targets < 0 are ignored (loss 0)
//	CrossEntropyBackward(dlogits, probs, targets, dloss, N, V)  dlogits += dloss[n]*(probs - onehot)
//	Softmax(probs, logits, N, V)         row softmax (sampling, classification)
//	GatherRows(out, inp, rows, C)        out (len(rows),C) = inp[rows[i]]
//	ScatterAddRows(dinp, dout, rows, C)  dinp[rows[i]] += dout (i); repeats accumulate
//	AddInPlace(dst, src, n) dst += src ; Scale(x, s, n) x *= s
//
// These take []int32 token ids, targets and rows; out-of-range ids and slices
// shorter than their shape panic (programming errors; data is validated
// upstream). Calls touching >= 65536 elements split over GOMAXPROCS
// goroutines of a persistent pool (no allocation); reductions over rows
// (dweight, dbias, embedding gradients) are split by column and summed in row
// order (float64 accumulators), so results are bit-identical for any number
// of goroutines. The pool runs one call at a time: concurrent callers wait.
//
// Attention (attention.go, attention_local.go, attention_linear.go,
// attention_retention.go, attention_rwkv.go), on
// per-head contiguous layouts q, k, v, out, dq, dk, dv (BH, T, D), BH =
// batch*heads. Forward overwrites out (and lse/state); backward ADDS into dq,
// dk, dv. Kernels that need scratch take it as the last argument; its length
// comes from the matching ...ScratchSize function (the same slab serves
// forward and backward; a shorter slab uses fewer goroutines, one too short
// for a single worker panics):
//
//	RopeForward(x, BH, T, D, base) / RopeBackward(dx, BH, T, D, base)   in place rotary
//	      position embedding, pairs (i, i+D/2), angle pos*base^(-2i/D), pos = t; D even.
//	      RopeBackward applies the inverse rotation (overwrites: q, k are rotated in place).
//	RopeForwardAt(x, BH, T, D, base, offset)   positions offset+t (generation)
//	LocalAttentionScratchSize(BH, T, D, W)
//	LocalAttentionForward(out, lse, q, k, v, BH, T, D, W, scratch)
//	      causal softmax attention in a sliding window: query t attends keys
//	      max(0, t-W) .. t (W+1 keys at most), scale 1/sqrt(D); lse (BH, T) is
//	      the log-sum-exp per query, kept for backward. Query blocks of 64
//	      against 64+W keys: O(T (W+64) D) time, no (T, T) matrix.
//	LocalAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, BH, T, D, W, scratch)
//	      flash-style: probabilities recomputed from lse.
//	LinearAttentionStateSize(T, D, chunk)   floats per head of state
//	LinearAttentionScratchSize(BH, T, D, chunk)
//	LinearAttentionForward(out, state, q, k, v, BH, T, D, chunk, scratch)
//	      causal linear attention, chunked: out_t = phi(q_t).S_t / max(phi(q_t).z_t, 1e-3),
//	      S_t = sum_{j<=t} phi(k_j) v_j^T, z_t = sum_{j<=t} phi(k_j); phi(q) = softmax over
//	      features * D^-1/2, phi(k) = exp(min(k, 30)): the clamp (LinearKeyClamp) is the
//	      stabiliser, part of the function (exact, causal; zero gradient above 30);
//	      state (BH, ceil(T/chunk), D, D+1) holds [S | z] at the start of each chunk
//	      (row i: S[i, 0..D-1], z[i]), so memory is O(T*D) per head when chunk >= D.
//	LinearAttentionBackward(dq, dk, dv, dout, q, k, v, state, BH, T, D, chunk, scratch)
//	RetentionStateSize(T, D, chunk)   floats per head of state: ceil(T/chunk) (D, D)
//	RetentionScratchSize(BH, T, D, chunk)
//	RetentionForward(out, state, q, k, v, g, BH, H, T, D, chunk, scratch)
//	      RetNet multi-scale retention (attention_retention.go), head h = bh % H:
//	      Y_t = D^-1/2 sum_{j<=t} gamma_h^(t-j) (q_t.k_j) v_j, gamma_h = RetentionDecay(h)
//	      = 1 - 2^(-5-h); out_t = swish(g_t) * groupnorm(Y_t) (per head over D, no
//	      affine, eps RetentionEps). Chunkwise: a decayed masked (chunk, chunk) product
//	      within a chunk, the state R (D, D) across; q, k are rotated by the caller.
//	RetentionBackward(dq, dk, dv, dg, dout, q, k, v, g, state, BH, H, T, D, chunk, scratch)
//	RWKVForward(out, r, k, v, decay, first, BH, H, T, D)
//	      RWKV-4 time mix (attention_rwkv.go), per channel: w = -exp(decay[h]),
//	      u = first[h] (H, D); wkv_t = (sum_{j<t} e^{(t-1-j)w+k_j} v_j + e^{u+k_t} v_t) /
//	      (same sums without v); out = sigmoid(r) * wkv. Stable form: running sums
//	      scaled by their largest exponent; no clamp, no state kept.
//	RWKVScratchSize(BH, T, D)
//	RWKVBackward(dr, dk, dv, ddecay, dfirst, dout, r, k, v, decay, first, BH, H, T, D, scratch)
//	      adds into ddecay, dfirst (H, D) summed over batch in bh order (deterministic);
//	      scratch 4 T D per worker + 2 BH D.
//	QuadraticAttentionScratchSize(BH, T, D)
//	QuadraticAttentionForward(out, lse, q, k, v, BH, T, D, scratch)
//	QuadraticAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, BH, T, D, scratch)
//	      full causal softmax attention (benchmark baseline), O(T) scratch.
//
// Heads (and, in the softmax forward, query blocks) run on up to GOMAXPROCS
// goroutines; each product is small (64x64x64-ish) and goes to blas.Sgemm on
// the worker's own thread.
//
// Recurrent (one position at a time, for generation), state per head, no scratch:
//
//	LinearAttentionStep(out, S, z, q, k, v, D)       S (D,D), z (D) updated in place
//	      (start from zeros); same outputs as LinearAttentionForward.
//	LocalAttentionStep(out, kring, vring, pos, q, k, v, D, W)  ring buffers (W+1, D),
//	      slot pos%(W+1); positions fed in order 0, 1, ...; q, k already rotated at pos.
//	RetentionStep(out, R, q, k, v, g, D, gamma)   R (D, D) = gamma R + k v^T (from zeros)
//	RWKVStep(out, state, r, k, v, decay, first, D)   state (RWKVStateSize(D) = 3 D):
//	      a, b, p per channel; all zeros is the empty sequence.
//
// # C path
//
// Go does not vectorise loops, and after the matrix products the training
// step spent most of its time in scalar exp (softmax attention, phi of the
// linear attention) and tanh (GELU). With cgo (build constraint `cgo &&
// !purego`, the convention of package blas) these run as C in vec.c: the exp
// of the softmax rows (max, exp, sum, scale, clear of one 64-query block per
// call), the recomputed probabilities and dS of the softmax backward,
// phi(q)/phi(k) of a whole chunk, GELU forward and backward over a pool
// span, and the next row kernels of the profile: dbias column sums,
// LayerNorm forward and backward, dropout forward and backward. The C is
// branch-free polynomial code (the same Cephes exp and Eigen rational tanh
// as the Go versions; no libm call in a loop) written over 16-float blocks
// that GCC vectorises, compiled with -O3 into AVX-512, AVX2+FMA and SSE2
// clones chosen at load time (target_clones), so one binary runs on any
// x86-64. Each call covers a block or a span because a cgo call costs about
// 20 ns. Results differ from the Go versions by float rounding only (FMA,
// order of partial sums; clamps and NaN propagation are the same); column
// sums, LayerNorm dweight/dbias and the dropout mask are bit-identical (same
// order, same hash), and LayerNorm is built without FMA contraction so its
// exact cancellations stay exact. The Go versions (expSubGo, geluSpanGo,
// ...) are the fallback under `-tags purego` or CGO_ENABLED=0 and the
// reference in vec_test.go; BenchmarkVec runs both.
//
// # Few-row products
//
// MatmulForward with N <= 16 rows (a recurrent sampling step: one row per
// sequence of the batch) does not call BLAS, whose packing and tiling cost
// more than the product there (OpenBLAS at N = 8 takes 7.5-16x its N = 1
// time). matmul_small.c reads each weight row once for a block of up to 8
// rows (the weights are the memory traffic of a step), prefetches the next
// pass's rows, and keeps 16 partial sums per output added in a fixed tree,
// so a row's outputs do not depend on N, on the other rows or on the split
// over the pool (by output column, above 2^16 multiply-adds). AVX-512 and
// AVX2+FMA paths are picked at load time, a generic vector path elsewhere;
// they differ by rounding only (fused or not). Without cgo a Go loop with
// the same order of sums runs. BenchmarkMatmulSmall compares it with BLAS.
//
// The panel layout (PackPanels, MatmulPanels; matmul_panels.c) serves the
// same few-row products when the caller keeps a second copy of the weights
// (model.State does, for Step): weight (OC, C) as panels of PanelWidth = 32
// outputs, each panel's columns one after the other (c-major, 32 floats per
// column, zero padding past OC). A pass keeps rows x 32 sums in registers
// and per column loads two weight vectors and broadcasts one input per row:
// no lane sums, a third as many loads as multiply-adds. Each output is bias
// + its products added in column order, fused on the AVX paths, so again a
// row's result does not depend on N or on the split (by panel). Measured
// 2026-12-02 on the 2-core EPYC (BenchmarkMatmulSmall/small, one layer's
// four products, other work stopped): 8 rows 131.7 GFLOP/s against 81.8
// for the row layout; 1 row 33.1 against 29.5.
//
// Classification head: the model gathers the hidden state at the CLS position
// (GatherRows / ScatterAddRows) and uses MatmulForward + CrossEntropyForward.
package kernel
