package blas

import (
	"fmt"
	"math"
	"time"
)

// Sgemm computes C = alpha * op(A) @ op(B) + beta * C on row-major matrices.
//
// op(A) is (M, K): A is stored (M, K) with row stride lda >= K, or, when
// transA, (K, M) with lda >= M. op(B) is (K, N): B is stored (K, N) with
// ldb >= N, or, when transB, (N, K) with ldb >= K. C is (M, N) with ldc >= N.
// As in BLAS, beta == 0 overwrites C without reading it (NaNs in C do not
// propagate). Slices too short for their shape, or bad strides, are
// programming errors and panic naming the operand.
//
// The OpenBLAS backend may use several threads (see SetThreads); products up
// to about 64x64x64 run on the calling thread only, so small products can be
// issued from parallel goroutines.
func Sgemm(transA, transB bool, M, N, K int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, C []float32, ldc int) {
	if M < 0 || N < 0 || K < 0 {
		panic(fmt.Sprintf("blas: Sgemm: negative size M=%d N=%d K=%d", M, N, K))
	}
	if M > math.MaxInt32 || N > math.MaxInt32 || K > math.MaxInt32 ||
		lda > math.MaxInt32 || ldb > math.MaxInt32 || ldc > math.MaxInt32 {
		panic(fmt.Sprintf("blas: Sgemm: size exceeds 32-bit BLAS int: M=%d N=%d K=%d lda=%d ldb=%d ldc=%d", M, N, K, lda, ldb, ldc))
	}
	ar, ac := M, K
	if transA {
		ar, ac = K, M
	}
	br, bc := K, N
	if transB {
		br, bc = N, K
	}
	checkOperand("A", transA, ar, ac, A, lda)
	checkOperand("B", transB, br, bc, B, ldb)
	checkOperand("C", false, M, N, C, ldc)
	if M == 0 || N == 0 {
		return
	}
	if K == 0 || alpha == 0 {
		scaleC(M, N, beta, C, ldc)
		return
	}
	sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
}

// checkOperand panics unless x holds a rows x cols row-major matrix with
// stride ld. The last row only needs cols elements.
func checkOperand(name string, trans bool, rows, cols int, x []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("blas: Sgemm: ld%s=%d < %d (stored %s is %dx%d, trans=%v)", name, ld, max(1, cols), name, rows, cols, trans))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("blas: Sgemm: len(%s)=%d < %d (stored %dx%d, ld=%d, trans=%v)", name, len(x), need, rows, cols, ld, trans))
	}
}

// scaleC applies C = beta*C, the whole product when K == 0 or alpha == 0.
func scaleC(M, N int, beta float32, C []float32, ldc int) {
	for i := 0; i < M; i++ {
		row := C[i*ldc : i*ldc+N : i*ldc+N]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// SetThreads sets the number of threads the backend uses for one product
// (n < 1 means 1). It is process-wide and applies to every later call from
// any goroutine; do not call it while products are running. The purego backend ignores it (gonum
// uses up to runtime.GOMAXPROCS goroutines for large products).
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	setThreads(n)
}

// Threads reports the number of threads the backend uses for one product.
func Threads() int { return threads() }

// MeasureGFLOPS runs n x n x n products (C = A @ B, 2n^3 flops each) for at
// least dur (and at least once, after one warm-up product) and returns the
// rate in GFLOP/s. It allocates three n x n matrices with fixed contents.
func MeasureGFLOPS(n int, dur time.Duration) float64 {
	if n < 1 {
		return 0
	}
	a := make([]float32, n*n)
	b := make([]float32, n*n)
	c := make([]float32, n*n)
	for i := range a {
		// Small fixed values: no denormals, no overflow, deterministic.
		a[i] = float32(i%7-3) * 0.125
		b[i] = float32(i%5-2) * 0.25
	}
	Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
	start := time.Now()
	iters := 0
	for {
		Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		iters++
		if el := time.Since(start); el >= dur {
			return 2 * float64(n) * float64(n) * float64(n) * float64(iters) / el.Seconds() / 1e9
		}
	}
}
