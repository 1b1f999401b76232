//go:build cgo && !purego

package blas

// The paths are pinned to Debian's OpenMP build of OpenBLAS (package
// libopenblas-openmp-dev) so that neither the pthread variant nor the
// reference BLAS chosen by update-alternatives is linked. The rpath makes the
// loader pick the same directory's libopenblas.so.0 at run time. libgomp is
// named because the wrapper below calls it directly.
//
// Thread count: in the OpenMP build OpenBLAS takes its thread count from
// omp_get_max_threads(), an OpenMP per-OS-thread setting, and resets its
// global count to it on every call. Go moves goroutines between OS threads,
// so a plain openblas_set_num_threads would only stick on the OS thread that
// made it. tg_sgemm therefore re-applies the wanted count on whichever OS
// thread makes the call, before calling cblas_sgemm.

/*
#cgo CFLAGS: -I/usr/include/x86_64-linux-gnu/openblas-openmp
#cgo LDFLAGS: -L/usr/lib/x86_64-linux-gnu/openblas-openmp -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -lgomp
#include <cblas.h>

int omp_get_max_threads(void);

// 0: keep the library default (OMP_NUM_THREADS or the number of CPUs).
static int tg_threads = 0;

static void tg_set_threads(int n) {
	__atomic_store_n(&tg_threads, n, __ATOMIC_SEQ_CST);
	openblas_set_num_threads(n);
}

static int tg_get_threads(void) {
	int n = __atomic_load_n(&tg_threads, __ATOMIC_SEQ_CST);
	return n > 0 ? n : openblas_get_num_threads();
}

static void tg_sgemm(int ta, int tb, int M, int N, int K, float alpha,
		const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
	int want = __atomic_load_n(&tg_threads, __ATOMIC_SEQ_CST);
	if (want > 0 && omp_get_max_threads() != want) {
		openblas_set_num_threads(want);
	}
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
		M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
*/
import "C"

import "sync"

// bigProduct is OpenBLAS's bound (65536 * GEMM_MULTITHREAD_THRESHOLD 4) on
// M*N*K up to which it computes on the calling thread alone.
const bigProduct = 65536 * 4

// bigMu lets one multi-threaded product run at a time. Concurrent callers
// would each start their own OpenMP team and spin-wait in OpenBLAS for its
// shared buffers, which made 8 concurrent 160^3 products take seconds instead
// of milliseconds; waiting on a Go mutex costs nothing and the product itself
// already uses every thread.
var bigMu sync.Mutex

func sgemm(transA, transB bool, M, N, K int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, Cm []float32, ldc int) {
	var ta, tb C.int
	if transA {
		ta = 1
	}
	if transB {
		tb = 1
	}
	if float64(M)*float64(N)*float64(K) > bigProduct && threads() > 1 {
		bigMu.Lock()
		defer bigMu.Unlock()
	}
	C.tg_sgemm(ta, tb, C.int(M), C.int(N), C.int(K),
		C.float(alpha), (*C.float)(&A[0]), C.int(lda),
		(*C.float)(&B[0]), C.int(ldb),
		C.float(beta), (*C.float)(&Cm[0]), C.int(ldc))
}

func setThreads(n int) { C.tg_set_threads(C.int(n)) }

func threads() int { return int(C.tg_get_threads()) }
