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
typedef void (*mp_whole_fn)(float *, const float *, const float *, const float *, long, long, long, long, long);

typedef struct {
	const char *name;
	mp_fn nb[4];
	long rows[4];
	// whole, when set, computes every row of panels [p0, p1) itself.
	mp_whole_fn whole;
} mp_path;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// AVX-512, 32 zmm: up to 8 x 2 accumulators, 2 weights, 1 broadcast.
#define TG_AVX512 __attribute__((target("avx512f,fma")))
TG_MATMUL_PANELS(mp512_1, TG_AVX512, 1)
TG_MATMUL_PANELS(mp512_2, TG_AVX512, 2)
TG_MATMUL_PANELS(mp512_4, TG_AVX512, 4)
TG_MATMUL_PANELS(mp512_8, TG_AVX512, 8)
static const mp_path mp_avx512 = {"avx512", {mp512_1, mp512_2, mp512_4, mp512_8}, {1, 2, 4, 8}};
// AVX2, 16 ymm. GCC keeps the tg_v16 accumulators of the macro above on
// the stack under AVX2 (a 64-byte vector is not a register there), which ran
// at 1.2 GFLOP/s on a Zen 3; this path is written in 8-float intrinsics
// instead. A block is R rows x PP panels (R * PP * 4 accumulators, the
// weights as memory operands of the multiply-adds): 1 x 2 for a single row
// (8 independent chains hide the multiply-add latency), 3 x 1 otherwise.
// Panels are the outer loop, so a panel stays in L2 across the row blocks
// (rows outer would stream every weight from L3 once per block).
#include <immintrin.h>
#define TG_AVX2 __attribute__((target("avx2,fma")))

#define TG_MP2_BLOCK(NAME, R, PP)                                                                  \
	TG_AVX2 static void NAME(float *out, const float *x, const float *P, const float *bias, long N, \
			long n0, long C, long OC, long p, const float *next, long nb, long b) {                 \
		const float *xr[R];                                                                         \
		for (int n = 0; n < R; n++) {                                                               \
			long r = n0 + n < N ? n0 + n : N - 1;                                                   \
			xr[n] = x + r * C;                                                                      \
		}                                                                                           \
		const float *pp[PP];                                                                        \
		for (int q = 0; q < PP; q++)                                                                \
			pp[q] = P + (p + q) * TG_PANEL * C;                                                     \
		__m256 acc[R][PP][4];                                                                       \
		_Pragma("GCC unroll 16") for (int n = 0; n < R; n++)                                        \
			_Pragma("GCC unroll 16") for (int q = 0; q < PP; q++)                                   \
				_Pragma("GCC unroll 16") for (int v = 0; v < 4; v++) acc[n][q][v] = _mm256_setzero_ps(); \
		long pc = b; /* the next column of the next panel to fetch */                               \
		for (long c = 0; c < C; c++) {                                                              \
			_Pragma("GCC unroll 16") for (int q = 0; q < PP; q++)                                   \
				__builtin_prefetch(pp[q] + (c + 16) * TG_PANEL), __builtin_prefetch(pp[q] + (c + 16) * TG_PANEL + 16); \
			if (next && c == pc) {                                                                  \
				__builtin_prefetch(next + c * TG_PANEL, 0, 2), __builtin_prefetch(next + c * TG_PANEL + 16, 0, 2); \
				pc += nb;                                                                           \
			}                                                                                       \
			_Pragma("GCC unroll 16") for (int n = 0; n < R; n++) {                                  \
				__m256 xs = _mm256_broadcast_ss(xr[n] + c);                                         \
				_Pragma("GCC unroll 16") for (int q = 0; q < PP; q++)                               \
					_Pragma("GCC unroll 16") for (int v = 0; v < 4; v++) acc[n][q][v] =             \
						_mm256_fmadd_ps(xs, _mm256_loadu_ps(pp[q] + c * TG_PANEL + 8 * v), acc[n][q][v]); \
			}                                                                                       \
		}                                                                                           \
		float tmp[R][PP][TG_PANEL];                                                                 \
		_Pragma("GCC unroll 16") for (int n = 0; n < R; n++)                                        \
			_Pragma("GCC unroll 16") for (int q = 0; q < PP; q++)                                   \
				_Pragma("GCC unroll 16") for (int v = 0; v < 4; v++)                                \
					_mm256_storeu_ps(tmp[n][q] + 8 * v, acc[n][q][v]);                              \
		for (int n = 0; n < R && n0 + n < N; n++) {                                                 \
			for (int q = 0; q < PP; q++) {                                                          \
				long o0 = (p + q) * TG_PANEL;                                                       \
				float *dst = out + (n0 + n) * OC + o0;                                              \
				for (long j = 0; j < TG_PANEL && o0 + j < OC; j++)                                  \
					dst[j] = bias ? bias[o0 + j] + tmp[n][q][j] : tmp[n][q][j];                     \
			}                                                                                       \
		}                                                                                           \
	}

TG_MP2_BLOCK(mp2_r1p1, 1, 1)
TG_MP2_BLOCK(mp2_r1p2, 1, 2)
TG_MP2_BLOCK(mp2_r3p1, 3, 1)

TG_AVX2 static void mp2_whole(float *out, const float *x, const float *P, const float *bias, long N, long C,
		long OC, long p0, long p1) {
	if (N == 1) {
		long p = p0;
		for (; p + 2 <= p1; p += 2)
			mp2_r1p2(out, x, P, bias, N, 0, C, OC, p, 0, 1, 0);
		if (p < p1)
			mp2_r1p1(out, x, P, bias, N, 0, C, OC, p, 0, 1, 0);
		return;
	}
	// While the row blocks of panel p run (from L2 after the first), the
	// next panel is fetched into L2, each block a share of its columns, so
	// the weights' stream from memory overlaps the multiply-adds (without,
	// eight rows ran at half the memory rate of one).
	long nb = (N + 2) / 3;
	for (long p = p0; p < p1; p++) {
		const float *next = p + 1 < p1 ? P + (p + 1) * TG_PANEL * C : 0;
		for (long b = 0; b < nb; b++)
			mp2_r3p1(out, x, P, bias, N, 3 * b, C, OC, p, next, nb, b);
	}
}
static const mp_path mp_avx2 = {"avx2", {0, 0, 0, 0}, {1, 1, 1, 1}, mp2_whole};
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
	if (p->whole) {
		p->whole(out, x, P, bias, N, C, OC, p0, p1);
		return;
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
