package kernel

import (
	"math/rand/v2"
	"testing"
)

// Benchmarks of the kernels with a C version, the Go version ("go") and the
// dispatched one ("vec": C under cgo, Go under purego) side by side, on one
// goroutine at the sizes the paper model uses: softmax rows of a 64-query
// block against 64+256 keys, phi of a 64-row chunk of D = 64, GELU spans of
// 64K elements (one pool span is up to N*4C/2 = 12M), dbias column sums
// and LayerNorm on 1024 rows, dropout on 64K elements.

func vecBench(b *testing.B, elems int, f func()) {
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(elems)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
}

func BenchmarkVec(b *testing.B) {
	b.Logf("vector backend: %s", vecBackend)
	r := rand.New(rand.NewPCG(1, 2))
	const n = 1 << 16
	x, y, g := kRand32(r, n), make([]float32, n), kRand32(r, n)
	for i := range x {
		x[i] *= 3
	}
	const m, nk, W, D = 64, 320, 256, 64
	scores := kRand32(r, m*nk)
	P, mx, sum := make([]float32, m*nk), make([]float32, m), make([]float32, m)
	qf, kf := make([]float32, m*D), make([]float32, m*D)
	dout, out, di := kRand32(r, m*D), kRand32(r, m*D), make([]float32, m)
	// Row kernels on 1024 rows (a pool span of the model is up to 6016).
	const lnN = 1024
	big, dbias := kRand32(r, lnN*kbOC), make([]float32, kbOC)
	lnX, lnOut, lnW, lnB := kRand32(r, lnN*kbC), make([]float32, lnN*kbC), kRand32(r, kbC), kRand32(r, kbC)
	mean, rstd, mask := make([]float32, lnN), make([]float32, lnN), make([]uint8, n)
	for _, impl := range []string{"go", "vec"} {
		vec := impl == "vec"
		b.Run("expSub320/"+impl, func(b *testing.B) {
			vecBench(b, 320, func() {
				if vec {
					expSub(y[:320], x[:320], 1, 1)
				} else {
					expSubGo(y[:320], x[:320], 1, 1)
				}
			})
		})
		b.Run("expSub64K/"+impl, func(b *testing.B) {
			vecBench(b, n, func() {
				if vec {
					expSub(y, x, 0, LinearKeyClamp)
				} else {
					expSubGo(y, x, 0, LinearKeyClamp)
				}
			})
		})
		b.Run("softmaxFwdRows/"+impl, func(b *testing.B) {
			vecBench(b, m*nk, func() {
				copy(P, scores)
				if vec {
					softmaxFwdRows(P, m, nk, nk-m, W, mx, sum)
				} else {
					softmaxFwdRowsGo(P, m, nk, nk-m, W, mx, sum)
				}
			})
		})
		b.Run("softmaxBwdRows/"+impl, func(b *testing.B) {
			vecBench(b, m*nk, func() {
				copy(P, scores)
				if vec {
					softmaxBwdRows(P, m, nk, nk-m, W, mx, dout, out, D, di)
				} else {
					softmaxBwdRowsGo(P, m, nk, nk-m, W, mx, dout, out, D, di)
				}
			})
		})
		b.Run("softmaxDS/"+impl, func(b *testing.B) {
			vecBench(b, m*nk, func() {
				if vec {
					softmaxDS(P, scores, di, m, nk)
				} else {
					softmaxDSGo(P, scores, di, m, nk)
				}
			})
		})
		b.Run("phiRows/"+impl, func(b *testing.B) {
			vecBench(b, 2*m*D, func() {
				if vec {
					phiRows(qf, kf, x[:m*D], g[:m*D], m, D, 0.125)
				} else {
					phiRowsGo(qf, kf, x[:m*D], g[:m*D], m, D, 0.125)
				}
			})
		})
		b.Run("gelu/"+impl, func(b *testing.B) {
			vecBench(b, n, func() {
				if vec {
					geluSpan(y, x)
				} else {
					geluSpanGo(y, x)
				}
			})
		})
		b.Run("geluBackward/"+impl, func(b *testing.B) {
			vecBench(b, n, func() {
				if vec {
					geluBackwardSpan(y, x, g)
				} else {
					geluBackwardSpanGo(y, x, g)
				}
			})
		})
		b.Run("colSum/"+impl, func(b *testing.B) {
			vecBench(b, lnN*kbOC, func() {
				if vec {
					colSumSpan(dbias, big, lnN, kbOC, 0, kbOC)
				} else {
					colSumSpanGo(dbias, big, lnN, kbOC, 0, kbOC)
				}
			})
		})
		b.Run("layerNorm/"+impl, func(b *testing.B) {
			vecBench(b, lnN*kbC, func() {
				if vec {
					layerNormSpan(lnOut, mean, rstd, lnX, lnW, lnB, kbC, 0, lnN)
				} else {
					layerNormSpanGo(lnOut, mean, rstd, lnX, lnW, lnB, kbC, 0, lnN)
				}
			})
		})
		b.Run("layerNormBackwardRows/"+impl, func(b *testing.B) {
			vecBench(b, lnN*kbC, func() {
				if vec {
					layerNormBackwardRows(lnOut, lnX, lnX, lnW, mean, rstd, kbC, 0, lnN)
				} else {
					layerNormBackwardRowsGo(lnOut, lnX, lnX, lnW, mean, rstd, kbC, 0, lnN)
				}
			})
		})
		b.Run("layerNormBackwardCols/"+impl, func(b *testing.B) {
			vecBench(b, lnN*kbC, func() {
				if vec {
					layerNormBackwardCols(lnW, lnB, lnX, lnX, mean, rstd, lnN, kbC, 0, kbC)
				} else {
					layerNormBackwardColsGo(lnW, lnB, lnX, lnX, mean, rstd, lnN, kbC, 0, kbC)
				}
			})
		})
		b.Run("dropout/"+impl, func(b *testing.B) {
			vecBench(b, n, func() {
				if vec {
					dropoutKeep(y, mask, x, 7, 0, 1677722, 1/0.9)
				} else {
					dropoutKeepGo(y, mask, x, 7, 0, 1677722, 1/0.9)
				}
			})
		})
	}
}
