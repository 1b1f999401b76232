// v16.h: the 16-float vector type of the C kernels that GCC's SLP does not
// vectorise on its own (matmul_small.c; the step heads in vec.c), with
// unaligned loads and stores and a fixed-order lane sum. Macros rather than
// functions: a v16 never crosses a function boundary, whose ABI differs
// between the CPU paths (AVX-512, AVX2, SSE).
#ifndef TG_V16_H
#define TG_V16_H

typedef float tg_v16 __attribute__((vector_size(64)));
typedef float tg_v16u __attribute__((vector_size(64), aligned(4)));

#define TG_LD16(p) (*(const tg_v16u *)(p))
#define TG_ST16(p, v) (*(tg_v16u *)(p) = (v))

// TG_HSUM16 adds the 16 lanes in a fixed tree: lane j += lane j+8, then +4,
// +2, +1 (the same order on every path).
#define TG_HSUM16(v)                                                                               \
	({                                                                                             \
		tg_v16 a_ = (v);                                                                           \
		a_ += __builtin_shufflevector(a_, a_, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15); \
		a_ += __builtin_shufflevector(a_, a_, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7);     \
		a_ += __builtin_shufflevector(a_, a_, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);     \
		a_ += __builtin_shufflevector(a_, a_, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);     \
		a_[0];                                                                                     \
	})

#endif
