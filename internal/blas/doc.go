// Package blas multiplies float32 matrices: OpenBLAS's cblas_sgemm through cgo
// by default (Debian's libopenblas-openmp-dev, include and library paths
// pinned in the cgo flags), and a pure-Go implementation (gonum) when built
// with the tag "purego" or without cgo.
//
// Sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) computes
// C = alpha * op(A) @ op(B) + beta * C with row-major matrices, op(X) = X or
// X^T. Backend() names the implementation ("openblas" or "purego").
package blas
