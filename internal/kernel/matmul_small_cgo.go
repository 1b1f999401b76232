//go:build cgo && !purego

package kernel

/*
#cgo noescape tg_matmul_small
#cgo nocallback tg_matmul_small
void tg_matmul_small(float *out, const float *x, const float *W, const float *bias, long N, long C, long OC,
		long o0, long o1);
const char *tg_matmul_small_use(int path);
*/
import "C"

// smallMatmulUse makes the few-row product (matmul_small.c) take path (0:
// the best this CPU has, 1: generic, 2: avx2, 3: avx512) and returns its
// name, or "" when the CPU lacks it. Not safe while products run.
func smallMatmulUse(path int) string {
	p := C.tg_matmul_small_use(C.int(path))
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// smallMatmulSpan computes outputs [o0, o1) of out (N, OC) = inp (N, C) @
// weight^T (weight (OC, C)) + bias (nil: none); the caller checked shapes.
func smallMatmulSpan(out, inp, weight, bias []float32, N, C, OC, o0, o1 int) {
	if o1 <= o0 {
		return
	}
	var b *C.float
	if bias != nil {
		b = cf(bias[:OC])
	}
	_, _, _ = out[:N*OC], inp[:N*C], weight[:OC*C]
	C.tg_matmul_small(cf(out), cf(inp), cf(weight), b, C.long(N), C.long(C), C.long(OC), C.long(o0), C.long(o1))
}
