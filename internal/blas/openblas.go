//go:build cgo && !purego

package blas

// The paths are pinned to Debian's OpenMP build of OpenBLAS (package
// libopenblas-openmp-dev) so that neither the pthread variant nor the
// reference BLAS chosen by update-alternatives is linked. The rpath makes the
// loader pick the same directory's libopenblas.so.0 at run time.

/*
#cgo CFLAGS: -I/usr/include/x86_64-linux-gnu/openblas-openmp
#cgo LDFLAGS: -L/usr/lib/x86_64-linux-gnu/openblas-openmp -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas
#include <cblas.h>
*/
import "C"

func sgemm(transA, transB bool, M, N, K int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, Cm []float32, ldc int) {
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	if transA {
		ta = C.CblasTrans
	}
	if transB {
		tb = C.CblasTrans
	}
	C.cblas_sgemm(C.CblasRowMajor, C.enum_CBLAS_TRANSPOSE(ta), C.enum_CBLAS_TRANSPOSE(tb),
		C.blasint(M), C.blasint(N), C.blasint(K),
		C.float(alpha), (*C.float)(&A[0]), C.blasint(lda),
		(*C.float)(&B[0]), C.blasint(ldb),
		C.float(beta), (*C.float)(&Cm[0]), C.blasint(ldc))
}

func setThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

func threads() int { return int(C.openblas_get_num_threads()) }
