//go:build cgo && !purego

package kernel

// The C path (vec.c): vectorised exp, softmax rows, phi and GELU. Each
// function hands C a whole span or block in one call, as a cgo call costs
// about 20 ns. The pure-Go versions (...Go) are the fallback under the
// purego tag or without cgo, and the reference in the tests.

/*
#cgo CFLAGS: -O3
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

float tg_exp_sub(float *dst, const float *src, long n, float sub, float hi);
void tg_softmax_fwd_rows(float *P, long m, long nk, long off, long W, float *mx, float *sum);
void tg_softmax_bwd_rows(float *P, long m, long nk, long off, long W, const float *lse,
		const float *dout, const float *out, long D, float *di);
void tg_softmax_ds(float *dS, const float *P, const float *di, long m, long nk);
void tg_phi_rows(float *qf, float *kf, const float *q, const float *k, long m, long D, float s, float clamp);
void tg_gelu(float *out, const float *inp, long n);
void tg_gelu_bwd(float *dinp, const float *inp, const float *dout, long n);
*/
import "C"

import "unsafe"

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
	C.tg_softmax_fwd_rows(cf(P), C.long(m), C.long(nk), C.long(off), C.long(W), cf(mx), cf(sum))
}

// softmaxBwdRows: see softmaxBwdRowsGo.
func softmaxBwdRows(P []float32, m, nk, off, W int, lse, dout, out []float32, D int, di []float32) {
	_, _, _, _, _ = P[:m*nk], lse[:m], dout[:m*D], out[:m*D], di[:m]
	if m == 0 {
		return
	}
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
