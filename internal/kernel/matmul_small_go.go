//go:build !cgo || purego

package kernel

// Without cgo the few-row product is a plain loop with the same order of
// additions as matmul_small.c's generic path (16 partial sums per output).

// smallMatmulUse: the pure-Go loop is the only path (path 0 or 1).
func smallMatmulUse(path int) string {
	if path <= 1 {
		return "go"
	}
	return ""
}

func smallMatmulSpan(out, inp, weight, bias []float32, N, C, OC, o0, o1 int) {
	C16 := C &^ 15
	for n := 0; n < N; n++ {
		x := inp[n*C : n*C+C : n*C+C]
		for o := o0; o < o1; o++ {
			w := weight[o*C : o*C+C : o*C+C]
			var acc [16]float32
			for c := 0; c < C16; c += 16 {
				for j := range acc {
					acc[j] += x[c+j] * w[c+j]
				}
			}
			for wd := 8; wd > 0; wd >>= 1 {
				for j := 0; j < wd; j++ {
					acc[j] += acc[j+wd]
				}
			}
			s := acc[0]
			for c := C16; c < C; c++ {
				s += x[c] * w[c]
			}
			if bias != nil {
				s += bias[o]
			}
			out[n*OC+o] = s
		}
	}
}
