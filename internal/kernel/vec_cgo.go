//go:build cgo && !purego

package kernel

// The C path (vec.c): vectorised exp, softmax rows, phi and GELU. Each
// function hands C a whole span or block in one call, as a cgo call costs
// about 20 ns. The pure-Go versions (...Go) are the fallback under the
// purego tag or without cgo, and the reference in the tests.

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm
#cgo noescape tg_exp_sub
#cgo nocallback tg_exp_sub
#cgo noescape tg_softmax_fwd_rows
#cgo nocallback tg_softmax_fwd_rows
#cgo noescape tg_softmax_bwd_rows
#cgo nocallback tg_softmax_bwd_rows
#cgo noescape tg_softmax_ds
#cgo nocallback tg_softmax_ds
#cgo noescape tg_phi_rows
#cgo nocallback tg_phi_rows
#cgo noescape tg_gelu
#cgo nocallback tg_gelu
#cgo noescape tg_gelu_bwd
#cgo nocallback tg_gelu_bwd
#cgo noescape tg_col_sum
#cgo nocallback tg_col_sum
#cgo noescape tg_ln_bwd_cols
#cgo nocallback tg_ln_bwd_cols
#cgo noescape tg_ln_fwd
#cgo nocallback tg_ln_fwd
#cgo noescape tg_ln_bwd_rows
#cgo nocallback tg_ln_bwd_rows
#cgo noescape tg_dropout
#cgo nocallback tg_dropout
#cgo noescape tg_dropout_bwd
#cgo nocallback tg_dropout_bwd
#cgo noescape tg_attn_step
#cgo nocallback tg_attn_step
#cgo noescape tg_linear_step
#cgo nocallback tg_linear_step
#include <stdint.h>

float tg_exp_sub(float *dst, const float *src, long n, float sub, float hi);
void tg_softmax_fwd_rows(float *P, long m, long nk, long off, long W, float *mx, float *sum);
void tg_softmax_bwd_rows(float *P, long m, long nk, long off, long W, const float *lse,
		const float *dout, const float *out, long D, float *di);
void tg_softmax_ds(float *dS, const float *P, const float *di, long m, long nk);
void tg_phi_rows(float *qf, float *kf, const float *q, const float *k, long m, long D, float s, float clamp);
void tg_gelu(float *out, const float *inp, long n);
void tg_gelu_bwd(float *dinp, const float *inp, const float *dout, long n);
void tg_col_sum(float *dst, const float *x, long N, long C, long c0, long c1);
void tg_ln_bwd_cols(float *dw, float *db, const float *dout, const float *inp, const float *mean,
		const float *rstd, long N, long C, long c0, long c1);
void tg_ln_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
		long C, long lo, long hi);
void tg_ln_bwd_rows(float *dinp, const float *dout, const float *inp, const float *w, const float *mean,
		const float *rstd, long C, long lo, long hi);
void tg_dropout(float *out, uint8_t *mask, const float *inp, long n, uint64_t seed, long off, uint64_t thr,
		float scale);
void tg_dropout_bwd(float *dinp, const float *dout, const uint8_t *mask, long n, float scale);
void tg_attn_step(float *out, const float *K, const float *V, long n, const float *q, long D, float scale);
const char *tg_attn_step_use(int path);
void tg_linear_step(float *out, float *S, float *z, const float *q, const float *k, const float *v, long D,
		float scale, float clamp, float eps);
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// vecBackend names the implementation of the element-wise kernels.
const vecBackend = "c"

func cf(x []float32) *C.float { return (*C.float)(unsafe.Pointer(unsafe.SliceData(x))) }

// expSub: see expSubGo.
func expSub(dst, src []float32, sub, hi float32) float32 {
	src = src[:len(dst)]
	return float32(C.tg_exp_sub(cf(dst), cf(src), C.long(len(dst)), C.float(sub), C.float(hi)))
}

// softmaxFwdRows: see softmaxFwdRowsGo.
func softmaxFwdRows(P []float32, m, nk, off, W int, mx, sum []float32) {
	_, _, _ = P[:m*nk], mx[:m], sum[:m]
	if m == 0 {
		return
	}
	softmaxRowsCheck(m, nk, off, W)
	C.tg_softmax_fwd_rows(cf(P), C.long(m), C.long(nk), C.long(off), C.long(W), cf(mx), cf(sum))
}

// softmaxRowsCheck panics where the Go version would index out of range:
// the last valid column off+m-1 must lie in the row.
func softmaxRowsCheck(m, nk, off, W int) {
	if off < 0 || W < 0 || off+m > nk {
		panic(fmt.Sprintf("kernel: softmax rows: m=%d nk=%d off=%d W=%d out of range", m, nk, off, W))
	}
}

// softmaxBwdRows: see softmaxBwdRowsGo.
func softmaxBwdRows(P []float32, m, nk, off, W int, lse, dout, out []float32, D int, di []float32) {
	_, _, _, _, _ = P[:m*nk], lse[:m], dout[:m*D], out[:m*D], di[:m]
	if m == 0 {
		return
	}
	softmaxRowsCheck(m, nk, off, W)
	C.tg_softmax_bwd_rows(cf(P), C.long(m), C.long(nk), C.long(off), C.long(W), cf(lse), cf(dout), cf(out), C.long(D), cf(di))
}

// softmaxDS: see softmaxDSGo.
func softmaxDS(dS, P, di []float32, m, nk int) {
	_, _, _ = dS[:m*nk], P[:m*nk], di[:m]
	if m == 0 {
		return
	}
	C.tg_softmax_ds(cf(dS), cf(P), cf(di), C.long(m), C.long(nk))
}

// phiRows: see phiRowsGo.
func phiRows(qf, kf, q, k []float32, m, D int, s float32) {
	_, _, _, _ = qf[:m*D], kf[:m*D], q[:m*D], k[:m*D]
	if m*D == 0 {
		return
	}
	C.tg_phi_rows(cf(qf), cf(kf), cf(q), cf(k), C.long(m), C.long(D), C.float(s), C.float(LinearKeyClamp))
}

// attnStepUse makes attnStep take path (0: the best this CPU has, 1: the
// v16 clones, 2: avx2) and returns its name, or "" when the CPU lacks it.
// Not safe while steps run.
func attnStepUse(path int) string {
	p := C.tg_attn_step_use(C.int(path))
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// attnStep: see attnStepGo.
func attnStep(out, kring, vring []float32, n int, q []float32, D int, scale float32) {
	if n < 1 || D < 1 {
		attnStepGo(out, kring, vring, n, q, D, scale)
		return
	}
	_, _, _, _ = out[:D], kring[:n*D], vring[:n*D], q[:D]
	C.tg_attn_step(cf(out), cf(kring), cf(vring), C.long(n), cf(q), C.long(D), C.float(scale))
}

// linearStep: see linearStepGo.
func linearStep(out, S, z, q, k, v []float32, D int) {
	if D < 1 {
		return
	}
	_, _, _, _, _, _ = out[:D], S[:D*D], z[:D], q[:D], k[:D], v[:D]
	C.tg_linear_step(cf(out), cf(S), cf(z), cf(q), cf(k), cf(v), C.long(D),
		C.float(float32(1/math.Sqrt(float64(D)))), C.float(LinearKeyClamp), C.float(LinearEps))
}

// geluSpan: see geluSpanGo.
func geluSpan(out, inp []float32) {
	out = out[:len(inp)]
	C.tg_gelu(cf(out), cf(inp), C.long(len(inp)))
}

// geluBackwardSpan: see geluBackwardSpanGo.
func geluBackwardSpan(dinp, inp, dout []float32) {
	dinp, dout = dinp[:len(inp)], dout[:len(inp)]
	C.tg_gelu_bwd(cf(dinp), cf(inp), cf(dout), C.long(len(inp)))
}

// colSumSpan: see colSumSpanGo.
func colSumSpan(dst, x []float32, N, C, c0, c1 int) {
	if c1 <= c0 || N == 0 {
		return
	}
	_, _ = dst[c0:c1], x[(N-1)*C+c0:(N-1)*C+c1]
	C.tg_col_sum(cf(dst), cf(x), C.long(N), C.long(C), C.long(c0), C.long(c1))
}

// layerNormBackwardCols: see layerNormBackwardColsGo.
func layerNormBackwardCols(dweight, dbias, dout, inp, mean, rstd []float32, N, C, c0, c1 int) {
	if c1 <= c0 || N == 0 {
		return
	}
	_, _, _, _, _, _ = dweight[c0:c1], dbias[c0:c1], dout[(N-1)*C+c0:(N-1)*C+c1], inp[(N-1)*C+c0:(N-1)*C+c1], mean[:N], rstd[:N]
	C.tg_ln_bwd_cols(cf(dweight), cf(dbias), cf(dout), cf(inp), cf(mean), cf(rstd), C.long(N), C.long(C), C.long(c0), C.long(c1))
}

// layerNormSpan: see layerNormSpanGo.
func layerNormSpan(out, mean, rstd, inp, weight, bias []float32, C, lo, hi int) {
	if hi <= lo || C == 0 {
		return
	}
	_, _, _, _, _, _ = out[lo*C:hi*C], mean[lo:hi], rstd[lo:hi], inp[lo*C:hi*C], weight[:C], bias[:C]
	C.tg_ln_fwd(cf(out), cf(mean), cf(rstd), cf(inp), cf(weight), cf(bias), C.long(C), C.long(lo), C.long(hi))
}

// layerNormBackwardRows: see layerNormBackwardRowsGo.
func layerNormBackwardRows(dinp, dout, inp, weight, mean, rstd []float32, C, lo, hi int) {
	if hi <= lo || C == 0 {
		return
	}
	_, _, _, _, _, _ = dinp[lo*C:hi*C], dout[lo*C:hi*C], inp[lo*C:hi*C], weight[:C], mean[lo:hi], rstd[lo:hi]
	C.tg_ln_bwd_rows(cf(dinp), cf(dout), cf(inp), cf(weight), cf(mean), cf(rstd), C.long(C), C.long(lo), C.long(hi))
}

// dropoutKeep: see dropoutKeepGo.
func dropoutKeep(out []float32, mask []uint8, inp []float32, seed uint64, off int, thr uint64, scale float32) {
	mask, inp = mask[:len(out)], inp[:len(out)]
	C.tg_dropout(cf(out), (*C.uint8_t)(unsafe.SliceData(mask)), cf(inp), C.long(len(out)), C.uint64_t(seed), C.long(off), C.uint64_t(thr), C.float(scale))
}

// dropoutBackwardSpan: see dropoutBackwardSpanGo.
func dropoutBackwardSpan(dinp, dout []float32, mask []uint8, scale float32) {
	dout, mask = dout[:len(dinp)], mask[:len(dinp)]
	C.tg_dropout_bwd(cf(dinp), cf(dout), (*C.uint8_t)(unsafe.SliceData(mask)), C.long(len(dinp)), C.float(scale))
}
