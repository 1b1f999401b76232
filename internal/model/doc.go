// Package model is the TrafficGPT transformer: a decoder-only language model
// over codec tokens with local (sliding-window softmax, RoPE) and global
// (causal linear) attention heads, optional token shift and reversible
// layers, trained on CPU with the kernels of internal/kernel.
//
// # Architecture
//
// tokens (B, T) -> embedding wte (no absolute positions) -> Layers blocks
// -> final layer norm -> LM head (tied to wte by default) -> logits (B*T, V).
//
// Each layer has two blocks, each ending in dropout:
//
//	Attn(x): LN -> token shift -> QKV matmul (C -> 3*inner) -> per-head
//	         layouts -> RoPE on the softmax heads' q, k -> local (or
//	         quadratic) softmax heads and linear heads -> merge -> out
//	         matmul (inner -> C)
//	FFN(x):  LN -> token shift -> C -> FFN, GELU, FFN -> C
//
// The QKV columns are [q | k | v], each [head 0 | head 1 | ...] of HeadDim;
// heads 0..LocalHeads-1 are the local ones (all heads with Attention
// "quadratic"). The GlobalHeads that follow run the Attention family's
// kernel: "linear" causal linear attention; "retention" RetNet retention
// (RoPE on q and k, global head j decays by 1-2^(-5-j), group norm per
// head, times swish(ts @ attn.gate.weight^T) of the block's token-shifted
// input); "rwkv" the RWKV-4 time mix (q is the receptance r; per-channel
// attn.time_decay, attn.time_first). See families.go and docs/models.md. Token shift replaces channels [0, C/2) of position t with
// position t-1's (zeros at t=0). Linear heads are position free; local heads
// get order from RoPE (position t) and token shift.
//
// Plain (pre-LN residual): x += Attn(x); x += FFN(x); every layer's
// activations are stored. Reversible (Reformer): x1 = x2 = x, y1 = x1 +
// Attn(x2), y2 = x2 + FFN(y1), output (y1+y2)/2; Backward recomputes each
// layer's inputs from its outputs (x2 = y2 - FFN(y1), x1 = y1 - Attn(x2)),
// so one layer's activations are live at a time and memory does not grow
// with depth. Dropout masks are pure functions of (Model.Seed, layer, site,
// element), so the recomputation reproduces them; keep Train and Seed
// unchanged between Forward and Backward.
//
// Parameters never depend on the context length: T is chosen per call.
//
// # API
//
//	New(cfg, seed) (*Model, error)   normal(0, 0.02) init, residual output
//	                                 projections scaled by 1/sqrt(2*Layers)
//	Preset("tiny"|"small"|"paper"), Config.Validate (errors wrap ErrConfig)
//	m.Allocate(B, T)                 size activations up front (else lazily)
//	m.Forward(tokens, targets, B, T) (loss, error)  mean cross-entropy over
//	                                 targets >= 0; nil targets: logits only
//	m.Backward() error               adds into Grads(); ZeroGrad() clears
//	m.Logits(), Probs(), Losses(), Hidden()   views of the last forward
//	                                 (Logits is overwritten by Backward)
//	m.Params(), Grads(), ParamInfos(), ParamCount()
//	m.AddClassifier(classes, seed)   appends cls.weight/cls.bias
//	m.ForwardClassify(tokens, B, T, clsPos, labels) (loss, probs, error)
//	                                 head on the final-normed hidden state at
//	                                 row b, position clsPos[b]; Backward after
//	m.NewState(batch), m.Step(st, tokens) (logits, error)  recurrent
//	                                 inference: one token per row per call
//	st.Pos(b), m.ResetRow(st, b), st.Reset(), st.Hidden()  each row's
//	                                 position; start row b (or all) over
//	m.SaveRow(st, b, rs), m.RestoreRow(st, b, rs)  copy row b's state
//	                                 (and last logits) out and back: go
//	                                 back to before rejected tokens
//	m.Save(path, meta), Load(path), m.LoadWeights(path), WriteTo, ReadFrom
//	m.Train, m.Seed                  dropout switch and per-step seed
//
// Bad input (token ids, shapes, positions, labels) is an error wrapping
// ErrShape or ErrToken; kernels panic only on programming errors.
//
// # Memory
//
// Three slabs: parameters (ParamInfos order), gradients (same layout) and
// activations (one float32, one uint8 dropout-mask and one int32 slab, sized
// for the (B, T) of the last Allocate/Forward and reused by smaller shapes;
// ActivationBytes(B, T) gives the size). Per token, the activation slab holds
// per stored layer: 2 LN statistics pairs, two (C) token-shifted inputs, q,
// k, v, out (4*inner), lse, linear state (GlobalHeads*(D+1)*D/chunk;
// retention: GlobalHeads*D*D/chunk plus its gate GlobalHeads*D; rwkv: none)
// and the FFN pre-activation (FFN); plus one set of block scratch and
// backward buffers (rwkv's backward scratch is 3*D per token and worker),
// the residual streams and (V) logits and probabilities. A State holds its
// buffers in one slab too.
//
// # Recurrent generation
//
// State keeps, per layer, the previous position's normed hidden states for
// token shift, each softmax head's ring of the last W+1 rotated keys and
// values (LocalAttentionStep; RoPE at the absolute position), and each
// global head's (D, D) block S: the linear head's S with its z (D)
// (LinearAttentionStep), the retention head's R (RetentionStep), or the
// rwkv head's a, b, p rows in its first 3*D floats (RWKVStep). All-zero is
// the empty history for every family. Cost per token does
// not depend on the position. With Attention "quadratic" the ring holds
// MaxContext positions (a sliding window beyond that). Rows are independent
// sequences, each at its own position (RoPE and the ring use the row's):
// ResetRow(st, b) clears row b's state and sets its position to 0 while
// the other rows go on, so a batch serves a stream of sequences of unequal
// lengths with every row busy (generation), or scores sequences one token
// at a time (Hidden is the final-normed (Batch, C) state of the last Step,
// the input of the LM and classifier heads). Step reproduces Forward's
// logits over each row's tokens since its last reset, position by position
// (tested to 1e-4, with rows reset at different steps). SaveRow copies a
// row's state (RowStateFloats: per layer 2C + 2*SoftmaxHeads*(W+1)*D +
// GlobalHeads*(D*D+D) floats, plus the Vocab logits) and RestoreRow puts
// it back, so a sampler can return a row to an earlier position without
// feeding its tokens again: the row then continues exactly as from that
// point (tested bit for bit).
//
// # Checkpoints
//
// safetensors: 8-byte little-endian header length, a JSON header (padded
// with spaces to a multiple of 8) mapping tensor names to {"dtype": "F32",
// "shape", "data_offsets": [begin, end)} relative to the data that follows,
// and "__metadata__" with string values: "format" = "trafficgpt-model-1",
// "config" = the Config JSON, "codec_version" = codec.Version, plus the
// caller's keys (e.g. step, tokens seen), "tensor_crc32c" = a JSON map of
// each tensor's CRC-32C (8 hex digits, over its little-endian bytes) and
// "metadata_crc32c" = the CRC-32C of every other metadata entry (sorted
// "key NUL value NUL"). Data is little-endian float32 in ParamInfos order.
// Save writes atomically (atomicfile). Reading checks format, codec version,
// config, the metadata digest, every tensor's name, dtype, shape, extent and
// digest, and that the data tiles the file (errors wrap ErrCheckpoint; a
// digest mismatch also codec.ErrChecksum, naming the tensor). Checkpoints
// written before the digests load unchecked (HasDigests reports it). Tensor names, row-major (out, in) for matrices:
//
//	wte                              (Vocab, C)
//	layers.L.attn.norm.weight/bias   (C)
//	layers.L.attn.qkv.weight/bias    (3*inner, C) / (3*inner)
//	layers.L.attn.out.weight/bias    (C, inner) / (C)
//	layers.L.attn.gate.weight        (GlobalHeads*D, C)   retention only
//	layers.L.attn.time_decay/first   (GlobalHeads, D)     rwkv only (no decay)
//	layers.L.ffn.norm.weight/bias    (C)
//	layers.L.ffn.fc.weight/bias      (FFN, C) / (FFN)
//	layers.L.ffn.proj.weight/bias    (C, FFN) / (C)
//	norm.weight/bias                 (C)           final layer norm
//	lm_head.weight                   (Vocab, C)    only when not tied
//	cls.weight/bias                  (Classes, C) / (Classes)  with a classifier
//
// Weight decay (ParamInfo.Decay) applies to wte, lm_head and the matrices,
// not to norms or biases.
package model
