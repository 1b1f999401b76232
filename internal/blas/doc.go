// Package blas multiplies float32 matrices: OpenBLAS's cblas_sgemm through cgo
// by default (Debian's libopenblas-openmp-dev, include and library paths
// pinned in the cgo flags, rpath to the OpenMP variant's directory), and a
// pure-Go implementation (gonum) when built with the tag "purego" or without
// cgo.
//
// Sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) computes
// C = alpha * op(A) @ op(B) + beta * C with row-major matrices, op(X) = X or
// X^T: A is stored (M, K) with row stride lda, or (K, M) when transA; B is
// (K, N) with ldb, or (N, K) when transB; C is (M, N) with ldc. beta == 0
// overwrites C. Slices too short for their shape and strides below the row
// length are programming errors and panic with a message naming the operand.
// Backend() names the implementation ("openblas" or "purego (gonum)").
//
// Threads: SetThreads(n) sets the process-wide thread count of one product
// (OpenBLAS; re-applied on whichever OS thread makes each call, because the
// OpenMP build keeps it per OS thread); Threads() reports it. The default is
// the library's (OMP_NUM_THREADS or the number of CPUs). OpenBLAS runs
// products up to 64x64x64 on the calling thread, so such small products may be
// issued from several goroutines at once. Sgemm is safe for concurrent use:
// larger products, which use OpenBLAS's threads, run one at a time (a Go
// mutex; concurrent OpenMP teams spin against each other, 30x slower in a
// test). With SetThreads(1) nothing is serialised. SetThreads itself is not
// safe to call while products run (call it before starting work).
//
// MeasureGFLOPS(n, dur) runs n x n x n products for dur and returns GFLOP/s;
// training and benchmark commands report their throughput as a fraction of
// it, measured in the same run.
package blas
