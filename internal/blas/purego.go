//go:build purego || !cgo

package blas

import (
	"runtime"

	gblas "gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func sgemm(transA, transB bool, M, N, K int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, C []float32, ldc int) {
	ta, tb := gblas.NoTrans, gblas.NoTrans
	if transA {
		ta = gblas.Trans
	}
	if transB {
		tb = gblas.Trans
	}
	gonum.Implementation{}.Sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
}

// gonum splits large products over runtime.GOMAXPROCS goroutines on its own;
// it has no thread setting.
func setThreads(int) {}

func threads() int { return runtime.GOMAXPROCS(0) }
