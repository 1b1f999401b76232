//go:build cgo && !purego

// Vectorised C versions of the element-wise kernels whose scalar Go loops
// showed up in the training profile (exp in the attention kernels, tanh in
// GELU). See vec_cgo.go for the Go side and doc.go for why.
//
// Every loop works on blocks of TG_BLK floats held in local arrays: the
// inner loops over a block have a constant trip count and no aliasing with
// the caller's slices, so GCC vectorises them (SLP) whatever the operands
// overlap, and reductions keep TG_BLK partial sums or maxima in a fixed order,
// so the results do not depend on the vector width of the clone that runs.
// Tails are done by the same block code on a zero-padded copy.
//
// The code is branch-free: clamps are written as comparisons and selects in
// the order that lets a NaN input propagate to the output as in the Go
// versions; no libm call appears in a loop.

#include <stdint.h>
#include <string.h>

// Nothing here reads the floating-point exception flags, so operations may
// be executed speculatively: it lets GCC turn the clamps into vector selects
// on AVX2 too (cgo does not accept -f flags in #cgo CFLAGS). math-errno
// matters for libm calls only, and there are none.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "no-math-errno")
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(TG_NO_CLONES)
// One clone per x86-64 level: AVX-512 (x86-64-v4), AVX2+FMA (v3) and the
// baseline SSE2, picked at load time by an ifunc resolver. To test one level
// on a machine that has a higher one, build without clones for that level:
// CGO_CFLAGS="-O2 -DTG_NO_CLONES -march=x86-64-v3" go test ./internal/kernel
// (or no -march for the SSE2 baseline).
#define TG_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TG_CLONES
#endif

#define TG_INLINE static inline __attribute__((always_inline))

enum { TG_BLK = 16 };

TG_INLINE uint32_t f2u(float f) {
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

TG_INLINE float u2f(uint32_t u) {
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

// tg_exp1 is the Go expSub body for one argument x (already min(x,hi)-sub):
// Cephes expf with rounding by the 1.5*2^23 trick, x clamped to <= 88,
// 0 below -87.
TG_INLINE float tg_exp1(float x) {
	float xc = x > 88.0f ? 88.0f : x;
	float t = xc * 1.44269504088896341f + 12582912.0f;
	uint32_t n = f2u(t) - 0x4B400000u;
	float fn = t - 12582912.0f;
	float r = xc - fn * 0.693359375f - fn * (-2.12194440e-4f);
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	float y = (p * r * r + r + 1.0f) * u2f((n + 127u) << 23);
	return x < -87.0f ? 0.0f : y;
}

// tg_exp_blk: y[j] = exp(min(x[j], hi) - sub), acc[j] += y[j].
TG_INLINE void tg_exp_blk(float *restrict y, const float *restrict x, float *restrict acc, float sub, float hi) {
	for (int j = 0; j < TG_BLK; j++) {
		float v = x[j];
		v = hi < v ? hi : v;
		float e = tg_exp1(v - sub);
		y[j] = e;
		acc[j] += e;
	}
}

TG_INLINE float tg_sum_blk(const float *acc) {
	float s[TG_BLK / 2];
	for (int j = 0; j < TG_BLK / 2; j++) s[j] = acc[j] + acc[j + TG_BLK / 2];
	for (int j = 0; j < TG_BLK / 4; j++) s[j] += s[j + TG_BLK / 4];
	return (s[0] + s[2]) + (s[1] + s[3]);
}

// tg_exp_sub_inl is tg_exp_sub inlined into the row kernels.
TG_INLINE float tg_exp_sub_inl(float *dst, const float *src, long n, float sub, float hi) {
	float acc[TG_BLK] = {0};
	float x[TG_BLK], y[TG_BLK];
	long i = 0;
	for (; i + TG_BLK <= n; i += TG_BLK) {
		memcpy(x, src + i, sizeof x);
		tg_exp_blk(y, x, acc, sub, hi);
		memcpy(dst + i, y, sizeof y);
	}
	long rem = n - i;
	if (rem > 0) {
		float tacc[TG_BLK] = {0};
		memset(x, 0, sizeof x);
		memcpy(x, src + i, rem * sizeof(float));
		tg_exp_blk(y, x, tacc, sub, hi);
		memcpy(dst + i, y, rem * sizeof(float));
		for (long j = 0; j < rem; j++) acc[j] += y[j];
	}
	return tg_sum_blk(acc);
}

TG_CLONES float tg_exp_sub(float *dst, const float *src, long n, float sub, float hi) {
	return tg_exp_sub_inl(dst, src, n, sub, hi);
}

// tg_max: the maximum of x[0..n), n >= 1 (NaNs are skipped unless first).
TG_INLINE float tg_max(const float *src, long n) {
	float m[TG_BLK], x[TG_BLK];
	for (int j = 0; j < TG_BLK; j++) m[j] = src[0];
	long i = 0;
	for (; i + TG_BLK <= n; i += TG_BLK) {
		memcpy(x, src + i, sizeof x);
		for (int j = 0; j < TG_BLK; j++) m[j] = x[j] > m[j] ? x[j] : m[j];
	}
	for (; i < n; i++) m[0] = src[i] > m[0] ? src[i] : m[0];
	float r = m[0];
	for (int j = 1; j < TG_BLK; j++) r = m[j] > r ? m[j] : r;
	return r;
}

TG_INLINE void tg_scale(float *x, long n, float s) {
	float v[TG_BLK];
	long i = 0;
	for (; i + TG_BLK <= n; i += TG_BLK) {
		memcpy(v, x + i, sizeof v);
		for (int j = 0; j < TG_BLK; j++) v[j] *= s;
		memcpy(x + i, v, sizeof v);
	}
	for (; i < n; i++) x[i] *= s;
}

TG_INLINE float tg_dot(const float *a, const float *b, long n) {
	float acc[TG_BLK] = {0}, x[TG_BLK], y[TG_BLK];
	long i = 0;
	for (; i + TG_BLK <= n; i += TG_BLK) {
		memcpy(x, a + i, sizeof x);
		memcpy(y, b + i, sizeof y);
		for (int j = 0; j < TG_BLK; j++) acc[j] += x[j] * y[j];
	}
	for (long j = 0; i < n; i++, j++) acc[j] += a[i] * b[i];
	return tg_sum_blk(acc);
}

TG_CLONES void tg_softmax_fwd_rows(float *P, long m, long nk, long off, long W, float *mx, float *sum) {
	for (long r = 0; r < m; r++) {
		float *row = P + r * nk;
		long hi = off + r, lo = hi - W > 0 ? hi - W : 0;
		float x = tg_max(row + lo, hi + 1 - lo);
		float s = tg_exp_sub_inl(row + lo, row + lo, hi + 1 - lo, x, x);
		tg_scale(row + lo, hi + 1 - lo, 1.0f / s);
		memset(row, 0, lo * sizeof(float));
		memset(row + hi + 1, 0, (nk - hi - 1) * sizeof(float));
		mx[r] = x;
		sum[r] = s;
	}
}

TG_CLONES void tg_softmax_bwd_rows(float *P, long m, long nk, long off, long W, const float *lse,
		const float *dout, const float *out, long D, float *di) {
	for (long r = 0; r < m; r++) {
		float *row = P + r * nk;
		long hi = off + r, lo = hi - W > 0 ? hi - W : 0;
		tg_exp_sub_inl(row + lo, row + lo, hi + 1 - lo, lse[r], __builtin_inff());
		memset(row, 0, lo * sizeof(float));
		memset(row + hi + 1, 0, (nk - hi - 1) * sizeof(float));
		di[r] = tg_dot(dout + r * D, out + r * D, D);
	}
}

TG_CLONES void tg_softmax_ds(float *dS, const float *P, const float *di, long m, long nk) {
	for (long r = 0; r < m; r++) {
		float *row = dS + r * nk;
		const float *prow = P + r * nk;
		float d = di[r];
		float v[TG_BLK], p[TG_BLK];
		long i = 0;
		for (; i + TG_BLK <= nk; i += TG_BLK) {
			memcpy(v, row + i, sizeof v);
			memcpy(p, prow + i, sizeof p);
			for (int j = 0; j < TG_BLK; j++) v[j] = p[j] * (v[j] - d);
			memcpy(row + i, v, sizeof v);
		}
		for (; i < nk; i++) row[i] = prow[i] * (row[i] - d);
	}
}

TG_CLONES void tg_phi_rows(float *qf, float *kf, const float *q, const float *k, long m, long D, float s, float clamp) {
	for (long r = 0; r < m; r++) {
		const float *qr = q + r * D;
		float x = tg_max(qr, D);
		float sum = tg_exp_sub_inl(qf + r * D, qr, D, x, x);
		tg_scale(qf + r * D, D, s / sum);
	}
	tg_exp_sub_inl(kf, k, m * D, 0.0f, clamp);
}

// tg_tanh1 is tanh as the Go tanhf computes it: Eigen's rational function
// for float, evaluated in double (Estrin) and rounded once, x clamped to
// +-7.9053 where it saturates and exactly +-1 past that. Evaluated in float
// the rounding errors of p/q reach a few ulp of t, which GELU's backward
// (1 - t*t near |t| = 1) turns into 1e-5 relative errors.
TG_INLINE float tg_tanh1(float x) {
	const float c = 7.90531110763549805f;
	float xf = x > c ? c : x;
	xf = xf < -c ? -c : xf;
	double xd = xf, y = xd * xd, y2 = y * y, y4 = y2 * y2;
	double p = (4.89352455891786e-03 + 6.37261928875436e-04 * y) +
		y2 * (1.48572235717979e-05 + 5.12229709037114e-08 * y) +
		y4 * ((-8.60467152213735e-11 + 2.00018790482477e-13 * y) + y2 * -2.76076847742355e-16);
	double q = (4.89352518554385e-03 + 2.26843463243900e-03 * y) + y2 * (1.18534705686654e-04 + 1.19825839466702e-06 * y);
	float t = (float)(xd * p / q);
	t = x >= c ? 1.0f : t;
	return x <= -c ? -1.0f : t;
}

#define GELU_S 0.7978845608028654f
#define GELU_A 0.044715f

TG_INLINE void tg_gelu_blk(float *restrict y, const float *restrict x) {
	for (int j = 0; j < TG_BLK; j++) {
		float v = x[j];
		float t = tg_tanh1(GELU_S * (v + GELU_A * v * v * v));
		y[j] = 0.5f * v * (1.0f + t);
	}
}

TG_CLONES void tg_gelu(float *out, const float *inp, long n) {
	float x[TG_BLK], y[TG_BLK];
	long i = 0;
	for (; i + TG_BLK <= n; i += TG_BLK) {
		memcpy(x, inp + i, sizeof x);
		tg_gelu_blk(y, x);
		memcpy(out + i, y, sizeof y);
	}
	long rem = n - i;
	if (rem > 0) {
		memset(x, 0, sizeof x);
		memcpy(x, inp + i, rem * sizeof(float));
		tg_gelu_blk(y, x);
		memcpy(out + i, y, rem * sizeof(float));
	}
}

TG_INLINE void tg_gelu_bwd_blk(float *restrict d, const float *restrict x, const float *restrict g) {
	for (int j = 0; j < TG_BLK; j++) {
		float v = x[j], v2 = v * v;
		float t = tg_tanh1(GELU_S * (v + GELU_A * v2 * v));
		float sech2 = 1.0f - t * t;
		float gr = 0.5f * (1.0f + t) + 0.5f * v * sech2 * GELU_S * (1.0f + 3.0f * GELU_A * v2);
		d[j] += gr * g[j];
	}
}

TG_CLONES void tg_gelu_bwd(float *dinp, const float *inp, const float *dout, long n) {
	float d[TG_BLK], x[TG_BLK], g[TG_BLK];
	long i = 0;
	for (; i + TG_BLK <= n; i += TG_BLK) {
		memcpy(d, dinp + i, sizeof d);
		memcpy(x, inp + i, sizeof x);
		memcpy(g, dout + i, sizeof g);
		tg_gelu_bwd_blk(d, x, g);
		memcpy(dinp + i, d, sizeof d);
	}
	long rem = n - i;
	if (rem > 0) {
		memset(d, 0, sizeof d);
		memset(x, 0, sizeof x);
		memset(g, 0, sizeof g);
		memcpy(d, dinp + i, rem * sizeof(float));
		memcpy(x, inp + i, rem * sizeof(float));
		memcpy(g, dout + i, rem * sizeof(float));
		tg_gelu_bwd_blk(d, x, g);
		memcpy(dinp + i, d, rem * sizeof(float));
	}
}

// Column sums over rows (dbias of a matrix product): dst[c] += sum_n x[n,c]
// for c in [c0, c1), float64 accumulators, TG_COLS columns at a time. Each
// column is summed in row order, as in colSumSpanGo: bit-identical results.
enum { TG_COLS = 512 };

TG_CLONES void tg_col_sum(float *dst, const float *x, long N, long C, long c0, long c1) {
	double acc[TG_COLS];
	for (long b0 = c0; b0 < c1; b0 += TG_COLS) {
		long w = c1 - b0 < TG_COLS ? c1 - b0 : TG_COLS;
		for (long i = 0; i < w; i++) acc[i] = 0;
		for (long n = 0; n < N; n++) {
			const float *row = x + n * C + b0;
			for (long i = 0; i < w; i++) acc[i] += row[i];
		}
		for (long i = 0; i < w; i++) dst[b0 + i] += (float)acc[i];
	}
}

// The LayerNorm kernels are compiled without FMA contraction: the Go
// versions rely on exact cancellations (w*dy - mean(w*dy) is 0 for C = 1)
// that a fused multiply-add turns into rounding noise.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

// LayerNorm dweight and dbias for columns [c0, c1): column sums in row order
// in float64, as layerNormBackwardColsGo (bit-identical).
TG_CLONES void tg_ln_bwd_cols(float *dw, float *db, const float *dout, const float *inp, const float *mean,
		const float *rstd, long N, long C, long c0, long c1) {
	double accW[TG_COLS], accB[TG_COLS];
	for (long b0 = c0; b0 < c1; b0 += TG_COLS) {
		long w = c1 - b0 < TG_COLS ? c1 - b0 : TG_COLS;
		for (long i = 0; i < w; i++) accW[i] = accB[i] = 0;
		for (long n = 0; n < N; n++) {
			const float *x = inp + n * C + b0, *dy = dout + n * C + b0;
			float m = mean[n], rs = rstd[n];
			for (long i = 0; i < w; i++) {
				accB[i] += dy[i];
				float xh = (x[i] - m) * rs;
				accW[i] += xh * dy[i];
			}
		}
		for (long i = 0; i < w; i++) {
			dw[b0 + i] += (float)accW[i];
			db[b0 + i] += (float)accB[i];
		}
	}
}

TG_INLINE double tg_dsum_blk(const double *acc) {
	double s[TG_BLK / 2];
	for (int j = 0; j < TG_BLK / 2; j++) s[j] = acc[j] + acc[j + TG_BLK / 2];
	for (int j = 0; j < TG_BLK / 4; j++) s[j] += s[j + TG_BLK / 4];
	return (s[0] + s[2]) + (s[1] + s[3]);
}

// LayerNorm forward of rows [lo, hi) (layerNormSpanGo): float64 mean and
// variance, summed in TG_BLK partial sums.
TG_CLONES void tg_ln_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
		long C, long lo, long hi) {
	for (long n = lo; n < hi; n++) {
		const float *x = inp + n * C;
		float *o = out + n * C;
		double acc[TG_BLK] = {0};
		long i = 0;
		for (; i + TG_BLK <= C; i += TG_BLK)
			for (int j = 0; j < TG_BLK; j++) acc[j] += x[i + j];
		for (long j = 0; i < C; i++, j++) acc[j] += x[i];
		double m = tg_dsum_blk(acc) / (double)C;
		double acc2[TG_BLK] = {0};
		for (i = 0; i + TG_BLK <= C; i += TG_BLK)
			for (int j = 0; j < TG_BLK; j++) {
				double d = (double)x[i + j] - m;
				acc2[j] += d * d;
			}
		for (long j = 0; i < C; i++, j++) {
			double d = (double)x[i] - m;
			acc2[j] += d * d;
		}
		double rs = 1.0 / __builtin_sqrt(tg_dsum_blk(acc2) / (double)C + 1e-5);
		float mf = (float)m, rf = (float)rs;
		for (i = 0; i < C; i++) o[i] = (x[i] - mf) * rf * w[i] + b[i];
		mean[n] = mf;
		rstd[n] = rf;
	}
}

// LayerNorm dinp of rows [lo, hi) (layerNormBackwardRowsGo).
TG_CLONES void tg_ln_bwd_rows(float *dinp, const float *dout, const float *inp, const float *w, const float *mean,
		const float *rstd, long C, long lo, long hi) {
	for (long n = lo; n < hi; n++) {
		const float *x = inp + n * C, *dy = dout + n * C;
		float *dx = dinp + n * C;
		float m = mean[n], rs = rstd[n];
		double sa[TG_BLK] = {0}, sb[TG_BLK] = {0};
		long i = 0;
		for (; i + TG_BLK <= C; i += TG_BLK)
			for (int j = 0; j < TG_BLK; j++) {
				float xh = (x[i + j] - m) * rs;
				float wdy = w[i + j] * dy[i + j];
				sa[j] += wdy;
				sb[j] += wdy * xh;
			}
		for (long j = 0; i < C; i++, j++) {
			float xh = (x[i] - m) * rs;
			float wdy = w[i] * dy[i];
			sa[j] += wdy;
			sb[j] += wdy * xh;
		}
		float ma = (float)(tg_dsum_blk(sa) / (double)C), mb = (float)(tg_dsum_blk(sb) / (double)C);
		for (i = 0; i < C; i++) {
			float xh = (x[i] - m) * rs;
			dx[i] += (w[i] * dy[i] - ma - xh * mb) * rs;
		}
	}
}

// Dropout backward: dinp += dout*scale where the mask is set
// (dropoutBackwardSpanGo; no contraction, so bit-identical).
TG_CLONES void tg_dropout_bwd(float *dinp, const float *dout, const uint8_t *mask, long n, float scale) {
#pragma GCC ivdep
	for (long i = 0; i < n; i++) {
		float d = dinp[i];
		dinp[i] = mask[i] ? d + dout[i] * scale : d;
	}
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

// Inverted dropout of elements [off, off+n) for 0 < p < 1 (dropoutSpanGo):
// the splitmix64 hash of dropKeep per element, so the mask is bit-identical.
// A plain loop (ivdep: out may be inp, element for element) vectorises to
// full-width 64-bit lanes, where the 16-float blocks got 128-bit SLP.
TG_CLONES void tg_dropout(float *out, uint8_t *mask, const float *inp, long n, uint64_t seed, long off, uint64_t thr,
		float scale) {
#pragma GCC ivdep
	for (long i = 0; i < n; i++) {
		uint64_t z = seed + ((uint64_t)(off + i) + 1) * 0x9e3779b97f4a7c15ull;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		int keep = (z >> 40) >= thr;
		mask[i] = (uint8_t)keep;
		out[i] = keep ? inp[i] * scale : 0.0f;
	}
}

// tg_attn_step: one query's softmax attention over n keys and values (n, D)
// for LocalAttentionStep: out (D) = sum_j p_j V[j], p = softmax(scale *
// K q). Blocks of 64 keys: their scores on the stack, an online softmax
// across blocks (running maximum and sum, earlier sums rescaled when the
// maximum grows), the weighted values added 16 columns at a time with the
// columns held in a register across the block's keys. GCC's SLP does not
// vectorise these loops (a dot product per key), so they are written with
// 16-float vector types; columns past the last multiple of 16 are scalar.
#include "v16.h"

// tg_sum16x16 returns the 16 lane sums of a[0..15] as one vector (lane t:
// the sum of a[t]'s lanes), in a fixed order: each level adds lanes i and
// i + w of every vector (w = 8, 4, 2, 1) while packing two vectors' halves
// into one.
#define tg_sum16x16(a)                                                                             \
	({                                                                                             \
		tg_v16 r_[8], s_[4], u_[2];                                                                \
		for (int i_ = 0; i_ < 8; i_++)                                                             \
			r_[i_] = __builtin_shufflevector(a[2 * i_], a[2 * i_ + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) + \
				__builtin_shufflevector(a[2 * i_], a[2 * i_ + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31); \
		for (int i_ = 0; i_ < 4; i_++)                                                             \
			s_[i_] = __builtin_shufflevector(r_[2 * i_], r_[2 * i_ + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) + \
				__builtin_shufflevector(r_[2 * i_], r_[2 * i_ + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31); \
		for (int i_ = 0; i_ < 2; i_++)                                                             \
			u_[i_] = __builtin_shufflevector(s_[2 * i_], s_[2 * i_ + 1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29) + \
				__builtin_shufflevector(s_[2 * i_], s_[2 * i_ + 1], 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31); \
		__builtin_shufflevector(u_[0], u_[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30) + \
			__builtin_shufflevector(u_[0], u_[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31); \
	})

// tg_attn_softmax is the online softmax update of a block of m keys for
// tg_attn_step, once their scores are in sc: the running maximum mx and
// sum, out rescaled when the maximum grows, sc turned into weights.
TG_INLINE void tg_attn_softmax(float *out, float *sc, long m, long D, float *mx, float *sum) {
	float bm = *mx;
	for (long j = 0; j < m; j++) bm = sc[j] > bm ? sc[j] : bm;
	if (bm > *mx) {
		float c = tg_exp1(*mx - bm);
		*sum *= c;
		tg_scale(out, D, c);
		*mx = bm;
	}
	for (long j = 0; j < m; j++) sc[j] = tg_exp1(sc[j] - *mx);
	for (long j = 0; j < m; j++) *sum += sc[j];
}

// tg_attn_rest is the rest of a block of m keys for tg_attn_step, once
// their scores are in sc: the softmax update and the weighted values added
// to out.
TG_INLINE void tg_attn_rest(float *out, float *sc, long m, const float *Vb, long D, float *mx, float *sum) {
	long D16 = D & ~15L;
	tg_attn_softmax(out, sc, m, D, mx, sum);
	for (long c0 = 0; c0 < D16; c0 += 16) {
		tg_v16 o = TG_LD16(out + c0);
		for (long j = 0; j < m; j++) o += sc[j] * TG_LD16(Vb + j * D + c0);
		TG_ST16(out + c0, o);
	}
	for (long c0 = D16; c0 < D; c0++) {
		float o = out[c0];
		for (long j = 0; j < m; j++) o += sc[j] * Vb[j * D + c0];
		out[c0] = o;
	}
}

// tg_attn_score1 is one key's score: the 16-lane products summed over the
// columns, then the lanes in TG_HSUM16's order.
TG_INLINE float tg_attn_score1(const float *q, const float *k, long D) {
	long D16 = D & ~15L;
	tg_v16 acc = {0};
	for (long c = 0; c < D16; c += 16) acc += TG_LD16(q + c) * TG_LD16(k + c);
	float s = TG_HSUM16(acc);
	for (long c = D16; c < D; c++) s += q[c] * k[c];
	return s;
}

TG_CLONES static void tg_attn_step_v16(float *out, const float *K, const float *V, long n, const float *q, long D,
		float scale) {
	float sc[64];
	float mx = -__builtin_inff(), sum = 0.0f;
	long D16 = D & ~15L;
	memset(out, 0, D * sizeof(float));
	for (long j0 = 0; j0 < n; j0 += 64) {
		long m = n - j0 < 64 ? n - j0 : 64;
		long j = 0;
		if (D16 == D) {
			// 16 keys at a time: their 16-lane sums reduced together by
			// a transpose-add network (4 levels, 30 shuffles) instead of
			// one lane sum per key (8 operations each).
			for (; j + 16 <= m; j += 16) {
				tg_v16 a[16];
				for (int t = 0; t < 16; t++) a[t] = (tg_v16){0};
				const float *kb = K + (j0 + j) * D;
				for (long c = 0; c < D; c += 16) {
					tg_v16 qv = TG_LD16(q + c);
					for (int t = 0; t < 16; t++) a[t] += qv * TG_LD16(kb + t * D + c);
				}
				tg_v16 v = tg_sum16x16(a) * scale;
				TG_ST16(sc + j, v);
			}
		}
		for (; j < m; j++) sc[j] = tg_attn_score1(q, K + (j0 + j) * D, D) * scale;
		tg_attn_rest(out, sc, m, V + j0 * D, D, &mx, &sum);
	}
	tg_scale(out, D, 1.0f / sum);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
// tg_attn_step_avx2 is tg_attn_step for AVX2 without AVX-512: the 16 keys
// of the v16 block are 32 ymm accumulators there, which spill (measured
// on a Zen 3: 2 GFLOP/s); here 4 keys at a time, each a low and a high
// half of its 16 lanes (8 accumulators), reduced in TG_HSUM16's order, so
// the scores are the v16 path's.
__attribute__((target("avx2,fma"))) static void tg_attn_step_avx2(float *out, const float *K, const float *V,
		long n, const float *q, long D, float scale) {
	float sc[64];
	float mx = -__builtin_inff(), sum = 0.0f;
	long D16 = D & ~15L;
	memset(out, 0, D * sizeof(float));
	for (long j0 = 0; j0 < n; j0 += 64) {
		long m = n - j0 < 64 ? n - j0 : 64;
		long j = 0;
		if (D16 == D) {
			for (; j + 4 <= m; j += 4) {
				__m256 lo[4], hi[4];
				for (int t = 0; t < 4; t++) lo[t] = hi[t] = _mm256_setzero_ps();
				const float *kb = K + (j0 + j) * D;
				for (long c = 0; c < D; c += 16) {
					__m256 ql = _mm256_loadu_ps(q + c), qh = _mm256_loadu_ps(q + c + 8);
					for (int t = 0; t < 4; t++) {
						lo[t] = _mm256_fmadd_ps(ql, _mm256_loadu_ps(kb + t * D + c), lo[t]);
						hi[t] = _mm256_fmadd_ps(qh, _mm256_loadu_ps(kb + t * D + c + 8), hi[t]);
					}
				}
				for (int t = 0; t < 4; t++) {
					__m256 a = _mm256_add_ps(lo[t], hi[t]);                                   // lane i += i+8
					__m128 x = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1)); // i += i+4
					x = _mm_add_ps(x, _mm_movehl_ps(x, x));                                    // i += i+2
					x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));                                // i += i+1
					sc[j + t] = _mm_cvtss_f32(x) * scale;
				}
			}
		}
		for (; j < m; j++) sc[j] = tg_attn_score1(q, K + (j0 + j) * D, D) * scale;
		// tg_attn_rest with the values' sums in ymm registers (its v16
		// accumulator lives on the stack here): per column the same fused
		// multiply-adds in key order.
		tg_attn_softmax(out, sc, m, D, &mx, &sum);
		const float *Vb = V + j0 * D;
		long c0 = 0;
		for (; c0 + 32 <= D; c0 += 32) {
			__m256 o0 = _mm256_loadu_ps(out + c0), o1 = _mm256_loadu_ps(out + c0 + 8);
			__m256 o2 = _mm256_loadu_ps(out + c0 + 16), o3 = _mm256_loadu_ps(out + c0 + 24);
			for (long t = 0; t < m; t++) {
				__m256 p = _mm256_set1_ps(sc[t]);
				const float *vr = Vb + t * D + c0;
				o0 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vr), o0);
				o1 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vr + 8), o1);
				o2 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vr + 16), o2);
				o3 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vr + 24), o3);
			}
			_mm256_storeu_ps(out + c0, o0);
			_mm256_storeu_ps(out + c0 + 8, o1);
			_mm256_storeu_ps(out + c0 + 16, o2);
			_mm256_storeu_ps(out + c0 + 24, o3);
		}
		for (; c0 + 8 <= D; c0 += 8) {
			__m256 o = _mm256_loadu_ps(out + c0);
			for (long t = 0; t < m; t++) o = _mm256_fmadd_ps(_mm256_set1_ps(sc[t]), _mm256_loadu_ps(Vb + t * D + c0), o);
			_mm256_storeu_ps(out + c0, o);
		}
		for (; c0 < D; c0++) {
			float o = out[c0];
			for (long t = 0; t < m; t++) o += sc[t] * Vb[t * D + c0];
			out[c0] = o;
		}
	}
	tg_scale(out, D, 1.0f / sum);
}
#endif

static int tg_attn_path; // 0: not picked yet, 1: v16, 2: avx2

static int tg_has_avx2(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
	return 0;
#endif
}

// tg_attn_step_use makes tg_attn_step take path (0: the best this CPU has,
// 1: the v16 clones, 2: avx2) and returns its name, or NULL when the CPU
// lacks it (tests run every path a machine has).
const char *tg_attn_step_use(int path) {
	switch (path) {
	case 0:
		__atomic_store_n(&tg_attn_path, 0, __ATOMIC_RELAXED);
		return "best";
	case 1:
		__atomic_store_n(&tg_attn_path, 1, __ATOMIC_RELAXED);
		return "v16";
	case 2:
		if (!tg_has_avx2()) {
			return 0;
		}
		__atomic_store_n(&tg_attn_path, 2, __ATOMIC_RELAXED);
		return "avx2";
	}
	return 0;
}

// tg_attn_step picks its path once: the AVX2 one on a CPU with AVX2 and
// FMA but not AVX-512, else the v16 clones.
void tg_attn_step(float *out, const float *K, const float *V, long n, const float *q, long D, float scale) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
	int p = __atomic_load_n(&tg_attn_path, __ATOMIC_RELAXED);
	if (!p) {
		__builtin_cpu_init();
		p = !__builtin_cpu_supports("avx512f") && tg_has_avx2() ? 2 : 1;
		__atomic_store_n(&tg_attn_path, p, __ATOMIC_RELAXED);
	}
	if (p == 2) {
		tg_attn_step_avx2(out, K, V, n, q, D, scale);
		return;
	}
#endif
	tg_attn_step_v16(out, K, V, n, q, D, scale);
}

// tg_linear_step: LinearAttentionStep (attention_linear.go) for one head:
// S (D, D) += phi(k) v^T, z += phi(k), out = phi(q) S / max(phi(q).z, eps),
// phi(q) = softmax(q) * scale, phi(k) = exp(min(k, clamp)). One pass over
// S, 16 columns of a row at a time; per column the same order of sums as
// the Go version.
TG_CLONES void tg_linear_step(float *out, float *S, float *z, const float *q, const float *k, const float *v, long D,
		float scale, float clamp, float eps) {
	float mx = q[0];
	for (long i = 0; i < D; i++) mx = q[i] > mx ? q[i] : mx;
	float sum = 0.0f;
	for (long i = 0; i < D; i++) sum += tg_exp1(q[i] - mx);
	float sc = scale / sum;
	long D16 = D & ~15L;
	memset(out, 0, D * sizeof(float));
	float den = 0.0f;
	for (long i = 0; i < D; i++) {
		float x = k[i] < clamp ? k[i] : clamp;
		float e = tg_exp1(x);
		z[i] += e;
		float p = tg_exp1(q[i] - mx) * sc;
		den += p * z[i];
		float *row = S + i * D;
		for (long j = 0; j < D16; j += 16) {
			tg_v16 r = TG_LD16(row + j) + e * TG_LD16(v + j);
			TG_ST16(row + j, r);
			TG_ST16(out + j, TG_LD16(out + j) + p * r);
		}
		for (long j = D16; j < D; j++) {
			float r = row[j] + e * v[j];
			row[j] = r;
			out[j] += p * r;
		}
	}
	float inv = 1.0f / (den > eps ? den : eps);
	tg_scale(out, D, inv);
}
