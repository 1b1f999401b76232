package blas

import "time"

// Sgemm computes C = alpha * op(A) @ op(B) + beta * C on row-major matrices.
// op(A) is (M, K), op(B) is (K, N), C is (M, N).
func Sgemm(transA, transB bool, M, N, K int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, C []float32, ldc int) {
	panic("unimplemented")
}

// SetThreads sets the number of threads the backend uses.
func SetThreads(n int) { panic("unimplemented") }

// Threads reports the number of threads the backend uses.
func Threads() int { panic("unimplemented") }

// MeasureGFLOPS runs n x n x n products for about dur and returns GFLOP/s.
func MeasureGFLOPS(n int, dur time.Duration) float64 { panic("unimplemented") }
