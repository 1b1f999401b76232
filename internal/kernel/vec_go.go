//go:build !cgo || purego

package kernel

// Without cgo (or with the purego tag) the element-wise kernels are the
// pure-Go versions.

const vecBackend = "go"

func expSub(dst, src []float32, sub, hi float32) float32 { return expSubGo(dst, src, sub, hi) }

func softmaxFwdRows(P []float32, m, nk, off, W int, mx, sum []float32) {
	softmaxFwdRowsGo(P, m, nk, off, W, mx, sum)
}

func softmaxBwdRows(P []float32, m, nk, off, W int, lse, dout, out []float32, D int, di []float32) {
	softmaxBwdRowsGo(P, m, nk, off, W, lse, dout, out, D, di)
}

func softmaxDS(dS, P, di []float32, m, nk int) { softmaxDSGo(dS, P, di, m, nk) }

func phiRows(qf, kf, q, k []float32, m, D int, s float32) { phiRowsGo(qf, kf, q, k, m, D, s) }

func geluSpan(out, inp []float32) { geluSpanGo(out, inp) }

func linearStep(out, S, z, q, k, v []float32, D int) { linearStepGo(out, S, z, q, k, v, D) }

func attnStep(out, kring, vring []float32, n int, q []float32, D int, scale float32) {
	attnStepGo(out, kring, vring, n, q, D, scale)
}

// attnStepUse: one path (Go) without cgo.
func attnStepUse(path int) string {
	if path <= 1 {
		return "go"
	}
	return ""
}

func geluBackwardSpan(dinp, inp, dout []float32) { geluBackwardSpanGo(dinp, inp, dout) }

func colSumSpan(dst, x []float32, N, C, c0, c1 int) { colSumSpanGo(dst, x, N, C, c0, c1) }

func layerNormBackwardCols(dweight, dbias, dout, inp, mean, rstd []float32, N, C, c0, c1 int) {
	layerNormBackwardColsGo(dweight, dbias, dout, inp, mean, rstd, N, C, c0, c1)
}

func layerNormSpan(out, mean, rstd, inp, weight, bias []float32, C, lo, hi int) {
	layerNormSpanGo(out, mean, rstd, inp, weight, bias, C, lo, hi)
}

func layerNormBackwardRows(dinp, dout, inp, weight, mean, rstd []float32, C, lo, hi int) {
	layerNormBackwardRowsGo(dinp, dout, inp, weight, mean, rstd, C, lo, hi)
}

func dropoutKeep(out []float32, mask []uint8, inp []float32, seed uint64, off int, thr uint64, scale float32) {
	dropoutKeepGo(out, mask, inp, seed, off, thr, scale)
}

func dropoutBackwardSpan(dinp, dout []float32, mask []uint8, scale float32) {
	dropoutBackwardSpanGo(dinp, dout, mask, scale)
}
