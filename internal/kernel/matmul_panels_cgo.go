//go:build cgo && !purego

package kernel

/*
#cgo noescape tg_matmul_panels
#cgo nocallback tg_matmul_panels
#cgo noescape tg_pack_panels
#cgo nocallback tg_pack_panels
void tg_matmul_panels(float *out, const float *x, const float *P, const float *bias, long N, long C, long OC,
		long p0, long p1);
void tg_pack_panels(float *P, const float *W, long OC, long C);
const char *tg_matmul_panels_use(int path);
*/
import "C"

// panelMatmulUse makes the panel product (matmul_panels.c) take path (0:
// the best this CPU has, 1: generic, 2: avx2, 3: avx512) and returns its
// name, or "" when the CPU lacks it. Not safe while products run.
func panelMatmulUse(path int) string {
	p := C.tg_matmul_panels_use(C.int(path))
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// packPanels writes weight (OC, C) in the panel layout to dst; the caller
// checked shapes.
func packPanels(dst, weight []float32, OC, C int) {
	_, _ = dst[:PanelsLen(OC, C)], weight[:OC*C]
	C.tg_pack_panels(cf(dst), cf(weight), C.long(OC), C.long(C))
}

// panelMatmulSpan computes panels [p0, p1) of out (N, OC) = inp (N, C) @
// weight^T + bias (nil: none), weight in the panel layout; the caller
// checked shapes.
func panelMatmulSpan(out, inp, panels, bias []float32, N, C, OC, p0, p1 int) {
	if p1 <= p0 {
		return
	}
	var b *C.float
	if bias != nil {
		b = cf(bias[:OC])
	}
	_, _, _ = out[:N*OC], inp[:N*C], panels[:PanelsLen(OC, C)]
	C.tg_matmul_panels(cf(out), cf(inp), cf(panels), b, C.long(N), C.long(C), C.long(OC), C.long(p0), C.long(p1))
}
