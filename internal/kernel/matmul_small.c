//go:build cgo && !purego

// tg_matmul_small: out (N, OC) = inp (N, C) @ W^T + bias for few rows N, as
// a recurrent sampling step has (one row per sequence of the batch). BLAS
// libraries pack and tile for large N; at N = 8 OpenBLAS spends 7.5-16x its
// N = 1 time on one product. Here every weight row W[o] (C contiguous
// floats) is loaded once per block of up to NB input rows and multiplied
// into all of them, so a step's weights (the memory traffic of sampling)
// cross the memory hierarchy once for the whole batch.
//
// Each output keeps 16 partial sums (lane j sums the columns c = j mod 16),
// added in a fixed tree at the end, then the columns past the last multiple
// of 16 in order; the three CPU paths below differ only in how many rows
// and outputs one pass carries (what fits in the vector registers) and in
// whether the multiply-add is fused, so a row's result does not depend on
// N or on the other rows.

#include <stddef.h>


#include "v16.h"

// TG_MATMUL_SMALL defines NAME: rows [n0, n0+NB) of out (rows past N
// re-read row N-1 and their sums are dropped), outputs [o0, o1) in passes of
// OB, with NB*OB tg_v16 accumulators, so the unrolled loops have constant trip
// counts and the accumulators stay in registers. Each weight line is
// prefetched one pass ahead: the weights stream from memory (a step's
// weights do not stay in cache), and without it the loads of a pass and its
// multiply-adds take turns instead of overlapping (2x at N = 8).
#define TG_MATMUL_SMALL(NAME, ATTR, NB, OB)                                                       \
	ATTR static void NAME(float *out, const float *x, const float *W, const float *bias, long N,   \
			long n0, long C, long OC, long o0, long o1) {                                           \
		long C16 = C & ~15L;                                                                        \
		const float *xr[NB];                                                                        \
		for (int n = 0; n < NB; n++) {                                                              \
			long r = n0 + n < N ? n0 + n : N - 1;                                                   \
			xr[n] = x + r * C;                                                                      \
		}                                                                                           \
		for (long o = o0; o < o1; o += OB) {                                                        \
			const float *wr[OB];                                                                    \
			for (int k = 0; k < OB; k++) {                                                          \
				long oo = o + k < o1 ? o + k : o1 - 1;                                              \
				wr[k] = W + oo * C;                                                                 \
			}                                                                                       \
			tg_v16 acc[NB][OB];                                                                        \
			for (int n = 0; n < NB; n++)                                                            \
				for (int k = 0; k < OB; k++)                                                        \
					acc[n][k] = (tg_v16){0};                                                           \
			for (long c = 0; c < C16; c += 16) {                                                    \
				tg_v16 w[OB];                                                                          \
				for (int k = 0; k < OB; k++) {                                                      \
					w[k] = TG_LD16(wr[k] + c);                                                         \
					__builtin_prefetch(wr[k] + OB * C + c);                                         \
				}                                                                                   \
				for (int n = 0; n < NB; n++) {                                                      \
					tg_v16 xv = TG_LD16(xr[n] + c);                                                       \
					for (int k = 0; k < OB; k++)                                                    \
						acc[n][k] += xv * w[k];                                                     \
				}                                                                                   \
			}                                                                                       \
			for (int n = 0; n < NB && n0 + n < N; n++) {                                            \
				for (int k = 0; k < OB && o + k < o1; k++) {                                        \
					float s = TG_HSUM16(acc[n][k]);                                                    \
					for (long c = C16; c < C; c++)                                                  \
						s += xr[n][c] * wr[k][c];                                                   \
					float *dst = out + (n0 + n) * OC + o + k;                                       \
					*dst = bias ? bias[o + k] + s : s;                                              \
				}                                                                                   \
			}                                                                                       \
		}                                                                                           \
	}

typedef void (*mm_fn)(float *, const float *, const float *, const float *, long, long, long, long, long, long);

// A path is one function per row block of 1, 2, 4 and 8 rows; a call takes
// the blocks in turn, each the smallest that holds the rows left (up to 8),
// so N = 1 does no padded work and N = 5-8 reads the weights once.
typedef struct {
	const char *name;
	mm_fn nb[4];
	long rows[4]; // rows nb[i] computes
} mm_path;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// AVX-512, 32 zmm: 8x2, 4x4, 2x4 and 1x8 accumulators.
#define TG_AVX512 __attribute__((target("avx512f,fma")))
TG_MATMUL_SMALL(mm512_1, TG_AVX512, 1, 8)
TG_MATMUL_SMALL(mm512_2, TG_AVX512, 2, 4)
TG_MATMUL_SMALL(mm512_4, TG_AVX512, 4, 4)
TG_MATMUL_SMALL(mm512_8, TG_AVX512, 8, 2)
static const mm_path mm_avx512 = {"avx512", {mm512_1, mm512_2, mm512_4, mm512_8}, {1, 2, 4, 8}};
// AVX2, 16 ymm (a tg_v16 is two): 8 ymm of accumulators in each.
#define TG_AVX2 __attribute__((target("avx2,fma")))
TG_MATMUL_SMALL(mm2_1, TG_AVX2, 1, 4)
TG_MATMUL_SMALL(mm2_2, TG_AVX2, 2, 2)
TG_MATMUL_SMALL(mm2_4, TG_AVX2, 4, 1)
static const mm_path mm_avx2 = {"avx2", {mm2_1, mm2_2, mm2_4, mm2_4}, {1, 2, 4, 4}};
#endif
TG_MATMUL_SMALL(mmg_1, , 1, 2)
TG_MATMUL_SMALL(mmg_2, , 2, 1)
static const mm_path mm_generic = {"generic", {mmg_1, mmg_2, mmg_2, mmg_2}, {1, 2, 2, 2}};

static const mm_path *mm_pick(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f")) {
		return &mm_avx512;
	}
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		return &mm_avx2;
	}
#endif
	return &mm_generic;
}

static const mm_path *mm_used;

// tg_matmul_small computes outputs [o0, o1) of every row.
void tg_matmul_small(float *out, const float *x, const float *W, const float *bias, long N, long C, long OC,
		long o0, long o1) {
	const mm_path *p = __atomic_load_n(&mm_used, __ATOMIC_RELAXED);
	if (!p) {
		p = mm_pick();
		__atomic_store_n(&mm_used, p, __ATOMIC_RELAXED);
	}
	for (long n0 = 0; n0 < N;) {
		long left = N - n0;
		int b = left >= 5 ? 3 : left >= 3 ? 2 : left == 2 ? 1 : 0;
		p->nb[b](out, x, W, bias, N, n0, C, OC, o0, o1);
		n0 += p->rows[b];
	}
}

// tg_matmul_small_use makes tg_matmul_small take path (0: the best this CPU
// has, 1: generic, 2: avx2, 3: avx512) and returns its name, or NULL when
// the CPU lacks it (tests run every path the machine can).
const char *tg_matmul_small_use(int path) {
	const mm_path *p = 0;
	switch (path) {
	case 0:
		p = mm_pick();
		break;
	case 1:
		p = &mm_generic;
		break;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
	case 2:
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
			p = &mm_avx2;
		}
		break;
	case 3:
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx512f")) {
			p = &mm_avx512;
		}
		break;
#endif
	}
	if (!p) {
		return 0;
	}
	__atomic_store_n(&mm_used, p, __ATOMIC_RELAXED);
	return p->name;
}
