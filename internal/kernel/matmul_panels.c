//go:build cgo && !purego

// tg_matmul_panels: out (N, OC) = inp (N, C) @ W^T + bias for few rows N
// (a sampling step's batch), with W in the panel layout (tg_pack_panels):
// panel p holds, for each input column c, the TG_PANEL weights W[p*TG_PANEL
// + j][c] contiguously (zero past OC). A pass over a panel keeps NB rows x
// TG_PANEL outputs of sums in registers and, per column c, loads two weight
// vectors and broadcasts one input per row into NB x 2 multiply-adds: no
// lane sums at the end (the dot-product form of matmul_small.c spends as
// long on them as on its loop at C = 256), and the loads are a third of the
// multiply-adds, so eight rows run at the FMA rate instead of the load rate.
//
// Output o of row n is bias[o] + (((0 + x[n][0] W[o][0]) + x[n][1] W[o][1])
// + ...), the products added in column order (fused on the AVX paths), the
// same for every N and every row block: a row's result does not depend on
// the batch.

#include <stddef.h>

#include "v16.h"

#define TG_PANEL 32

// tg_pack_panels writes W (OC, C) in the panel layout to P
// (ceil(OC/TG_PANEL) * TG_PANEL * C floats).
void tg_pack_panels(float *P, const float *W, long OC, long C) {
	long np = (OC + TG_PANEL - 1) / TG_PANEL;
	for (long p = 0; p < np; p++) {
		float *pp = P + p * TG_PANEL * C;
		for (long j = 0; j < TG_PANEL; j++) {
			long o = p * TG_PANEL + j;
			if (o >= OC) {
				for (long c = 0; c < C; c++) {
					pp[c * TG_PANEL + j] = 0;
				}
				continue;
			}
			const float *w = W + o * C;
			for (long c = 0; c < C; c++) {
				pp[c * TG_PANEL + j] = w[c];
			}
		}
	}
}

// TG_MATMUL_PANELS defines NAME: rows [n0, n0+NB) (rows past N re-read row
// N-1 and are not stored) of panels [p0, p1).
#define TG_MATMUL_PANELS(NAME, ATTR, NB)                                                           \
	ATTR static void NAME(float *out, const float *x, const float *P, const float *bias, long N,   \
			long n0, long C, long OC, long p0, long p1) {                                           \
		const float *xr[NB];                                                                        \
		for (int n = 0; n < NB; n++) {                                                              \
			long r = n0 + n < N ? n0 + n : N - 1;                                                   \
			xr[n] = x + r * C;                                                                      \
		}                                                                                           \
		for (long p = p0; p < p1; p++) {                                                            \
			const float *pp = P + p * TG_PANEL * C;                                                 \
			tg_v16 acc[NB][2];                                                                      \
			for (int n = 0; n < NB; n++)                                                            \
				acc[n][0] = acc[n][1] = (tg_v16){0};                                                \
			for (long c = 0; c < C; c++) {                                                          \
				tg_v16 w0 = TG_LD16(pp + c * TG_PANEL), w1 = TG_LD16(pp + c * TG_PANEL + 16);        \
				__builtin_prefetch(pp + (c + 16) * TG_PANEL);                                       \
				__builtin_prefetch(pp + (c + 16) * TG_PANEL + 16);                                  \
				for (int n = 0; n < NB; n++) {                                                      \
					float xs = xr[n][c];                                                            \
					acc[n][0] += xs * w0;                                                           \
					acc[n][1] += xs * w1;                                                           \
				}                                                                                   \
			}                                                                                       \
			long o0 = p * TG_PANEL;                                                                 \
			for (int n = 0; n < NB && n0 + n < N; n++) {                                            \
				float *dst = out + (n0 + n) * OC + o0;                                              \
				if (o0 + TG_PANEL <= OC) {                                                          \
					if (bias) {                                                                     \
						acc[n][0] = TG_LD16(bias + o0) + acc[n][0];                                 \
						acc[n][1] = TG_LD16(bias + o0 + 16) + acc[n][1];                            \
					}                                                                               \
					TG_ST16(dst, acc[n][0]);                                                        \
					TG_ST16(dst + 16, acc[n][1]);                                                   \
					continue;                                                                       \
				}                                                                                   \
				float tmp[TG_PANEL];                                                                \
				TG_ST16(tmp, acc[n][0]);                                                            \
				TG_ST16(tmp + 16, acc[n][1]);                                                       \
				for (long j = 0; o0 + j < OC; j++)                                                  \
					dst[j] = bias ? bias[o0 + j] + tmp[j] : tmp[j];                                 \
			}                                                                                       \
		}                                                                                           \
	}

typedef void (*mp_fn)(float *, const float *, const float *, const float *, long, long, long, long, long, long);

// A path is one function per row block of 1, 2, 4 and 8 rows (as in
// matmul_small.c: each call takes the smallest block that holds the rows
// left, up to 8).
typedef struct {
	const char *name;
	mp_fn nb[4];
	long rows[4];
} mp_path;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// AVX-512, 32 zmm: up to 8 x 2 accumulators, 2 weights, 1 broadcast.
#define TG_AVX512 __attribute__((target("avx512f,fma")))
TG_MATMUL_PANELS(mp512_1, TG_AVX512, 1)
TG_MATMUL_PANELS(mp512_2, TG_AVX512, 2)
TG_MATMUL_PANELS(mp512_4, TG_AVX512, 4)
TG_MATMUL_PANELS(mp512_8, TG_AVX512, 8)
static const mp_path mp_avx512 = {"avx512", {mp512_1, mp512_2, mp512_4, mp512_8}, {1, 2, 4, 8}};
// AVX2, 16 ymm (a tg_v16 is two): up to 2 x 2 x 2 accumulators.
#define TG_AVX2 __attribute__((target("avx2,fma")))
TG_MATMUL_PANELS(mp2_1, TG_AVX2, 1)
TG_MATMUL_PANELS(mp2_2, TG_AVX2, 2)
static const mp_path mp_avx2 = {"avx2", {mp2_1, mp2_2, mp2_2, mp2_2}, {1, 2, 2, 2}};
#endif
TG_MATMUL_PANELS(mpg_1, , 1)
TG_MATMUL_PANELS(mpg_2, , 2)
static const mp_path mp_generic = {"generic", {mpg_1, mpg_2, mpg_2, mpg_2}, {1, 2, 2, 2}};

static const mp_path *mp_pick(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f")) {
		return &mp_avx512;
	}
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		return &mp_avx2;
	}
#endif
	return &mp_generic;
}

static const mp_path *mp_used;

// tg_matmul_panels computes panels [p0, p1) of every row.
void tg_matmul_panels(float *out, const float *x, const float *P, const float *bias, long N, long C, long OC,
		long p0, long p1) {
	const mp_path *p = __atomic_load_n(&mp_used, __ATOMIC_RELAXED);
	if (!p) {
		p = mp_pick();
		__atomic_store_n(&mp_used, p, __ATOMIC_RELAXED);
	}
	for (long n0 = 0; n0 < N;) {
		long left = N - n0;
		int b = left >= 5 ? 3 : left >= 3 ? 2 : left == 2 ? 1 : 0;
		p->nb[b](out, x, P, bias, N, n0, C, OC, p0, p1);
		n0 += p->rows[b];
	}
}

// tg_matmul_panels_use makes tg_matmul_panels take path (0: the best this
// CPU has, 1: generic, 2: avx2, 3: avx512) and returns its name, or NULL
// when the CPU lacks it.
const char *tg_matmul_panels_use(int path) {
	const mp_path *p = 0;
	switch (path) {
	case 0:
		p = mp_pick();
		break;
	case 1:
		p = &mp_generic;
		break;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
	case 2:
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
			p = &mp_avx2;
		}
		break;
	case 3:
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx512f")) {
			p = &mp_avx512;
		}
		break;
#endif
	}
	if (!p) {
		return 0;
	}
	__atomic_store_n(&mp_used, p, __ATOMIC_RELAXED);
	return p->name;
}
