//go:build unix

package kernel

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/blas"
)

// Benchmarks of kernel.go at the model's sizes: N = B*T = 12032 rows,
// C = 512 channels, OC = 4C = 2048, V = 512 token ids. GB/s counts the bytes
// each kernel must read and write at least once; GFLOP/s counts 2*N*C*OC per
// product. cpu-ns/elem (or GFLOP/cpu-s) divides by the process's CPU time
// instead of wall time: on a shared machine it stays meaningful when other
// processes take the cores.
const (
	kbN  = 12032
	kbC  = 512
	kbOC = 2048
	kbV  = 512
)

func kReportGBs(b *testing.B, bytes float64) {
	b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// kCPUTime is the CPU time (user + system) of the whole process so far.
func kCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// kLoop runs f b.N times (b.Loop) and reports CPU nanoseconds per element.
func kLoop(b *testing.B, elems float64, f func()) {
	c0 := kCPUTime()
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(kCPUTime()-c0)/float64(b.N)/elems, "cpu-ns/elem")
}

func BenchmarkLayerNorm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	inp, out, dout, dinp := kRand32(r, kbN*kbC), make([]float32, kbN*kbC), kRand32(r, kbN*kbC), make([]float32, kbN*kbC)
	w, bias, dw, db := kRand32(r, kbC), kRand32(r, kbC), make([]float32, kbC), make([]float32, kbC)
	mean, rstd := make([]float32, kbN), make([]float32, kbN)
	b.Run("forward", func(b *testing.B) {
		kLoop(b, kbN*kbC, func() {
			LayerNormForward(out, mean, rstd, inp, w, bias, kbN, kbC)
		})
		kReportGBs(b, 8*kbN*kbC)
	})
	b.Run("backward", func(b *testing.B) {
		kLoop(b, kbN*kbC, func() {
			LayerNormBackward(dinp, dw, db, dout, inp, w, mean, rstd, kbN, kbC)
		})
		kReportGBs(b, 16*kbN*kbC)
	})
}

func BenchmarkGelu(b *testing.B) {
	const n = kbN * kbOC
	r := rand.New(rand.NewPCG(3, 4))
	inp, out, dout, dinp := kRand32(r, n), make([]float32, n), kRand32(r, n), make([]float32, n)
	b.Run("forward", func(b *testing.B) {
		kLoop(b, n, func() {
			GeluForward(out, inp, n)
		})
		kReportGBs(b, 8*n)
		b.ReportMetric(n*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
	b.Run("backward", func(b *testing.B) {
		kLoop(b, n, func() {
			GeluBackward(dinp, inp, dout, n)
		})
		kReportGBs(b, 16*n)
		b.ReportMetric(n*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
}

func BenchmarkMatmul(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	inp, w, bias := kRand32(r, kbN*kbC), kRand32(r, kbOC*kbC), kRand32(r, kbOC)
	out, dout := make([]float32, kbN*kbOC), kRand32(r, kbN*kbOC)
	dinp, dw, db := make([]float32, kbN*kbC), make([]float32, kbOC*kbC), make([]float32, kbOC)
	flops := 2.0 * kbN * kbC * kbOC
	b.Run("forward", func(b *testing.B) {
		c0 := kCPUTime()
		for b.Loop() {
			MatmulForward(out, inp, w, bias, kbN, kbC, kbOC)
		}
		b.ReportMetric(flops*float64(b.N)/(kCPUTime()-c0).Seconds()/1e9, "GFLOP/cpu-s")
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("backward", func(b *testing.B) {
		c0 := kCPUTime()
		for b.Loop() {
			MatmulBackward(dinp, dw, db, dout, inp, w, kbN, kbC, kbOC)
		}
		b.ReportMetric(2*flops*float64(b.N)/(kCPUTime()-c0).Seconds()/1e9, "GFLOP/cpu-s")
		b.ReportMetric(2*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

func BenchmarkCrossEntropy(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	logits, probs, dlogits := kRand32(r, kbN*kbV), make([]float32, kbN*kbV), make([]float32, kbN*kbV)
	losses, dloss := make([]float32, kbN), make([]float32, kbN)
	targets := make([]int32, kbN)
	for i := range targets {
		targets[i] = int32(r.IntN(kbV))
		dloss[i] = 1.0 / kbN
	}
	b.Run("forward", func(b *testing.B) {
		kLoop(b, kbN*kbV, func() {
			CrossEntropyForward(losses, probs, logits, targets, kbN, kbV)
		})
		kReportGBs(b, 8*kbN*kbV)
	})
	b.Run("backward", func(b *testing.B) {
		kLoop(b, kbN*kbV, func() {
			CrossEntropyBackward(dlogits, probs, targets, dloss, kbN, kbV)
		})
		kReportGBs(b, 12*kbN*kbV)
	})
}

func BenchmarkElementwise(b *testing.B) {
	const n = kbN * kbC
	r := rand.New(rand.NewPCG(9, 10))
	x, y, out := kRand32(r, n), kRand32(r, n), make([]float32, n)
	mask := make([]uint8, n)
	b.Run("residual", func(b *testing.B) {
		kLoop(b, n, func() {
			ResidualForward(out, x, y, n)
		})
		kReportGBs(b, 12*n)
	})
	b.Run("tokenshift", func(b *testing.B) {
		kLoop(b, n, func() {
			TokenShiftForward(out, x, 47, kbN/47, kbC)
		})
		kReportGBs(b, 8*n)
	})
	b.Run("dropout", func(b *testing.B) {
		kLoop(b, n, func() {
			DropoutForward(out, mask, x, 0.1, 1, n)
		})
		kReportGBs(b, 9*n)
	})
	b.Run("embedding_backward", func(b *testing.B) {
		tokens := make([]int32, kbN)
		for i := range tokens {
			tokens[i] = int32(r.IntN(kbV))
		}
		dwte := make([]float32, kbV*kbC)
		kLoop(b, n, func() {
			EmbeddingBackward(dwte, x, tokens, kbN, kbC)
		})
		kReportGBs(b, 4*n)
	})
}

// BenchmarkMatmulSmall: the products of one sampling step (out (N, OC) =
// inp (N, C) @ W^T) at batch N = 1 and 8, through MatmulForward (the
// few-row path, split over the cores) and through BLAS as MatmulForward
// called it before (N <= 16 used to go to sgemm). "set" runs a whole
// layer's four products over weights of 4 layers in turn, so they come
// from memory rather than a warm cache, as in a real step; GFLOP/s counts
// 2*N*C*OC per product.
func BenchmarkMatmulSmall(b *testing.B) {
	type prod struct{ C, OC int }
	shapes := []struct {
		name  string
		prods []prod
	}{
		// small: width 256, 6 heads of 64 (qkv 1152, out 384), FFN 1024.
		{"small", []prod{{256, 1152}, {384, 256}, {256, 1024}, {1024, 256}}},
		// paper: width 512, 12 heads of 64 (qkv 2304, out 768), FFN 2048.
		{"paper", []prod{{512, 2304}, {768, 512}, {512, 2048}, {2048, 512}}},
	}
	const layers = 4
	for _, sh := range shapes {
		r := rand.New(rand.NewPCG(1, 2))
		var ws [][]float32
		flops := 0.0
		maxC, maxOC := 0, 0
		var ps [][]float32 // ws in the panel layout
		for range layers {
			for _, p := range sh.prods {
				ws = append(ws, kRand32(r, p.C*p.OC))
				ps = append(ps, make([]float32, PanelsLen(p.OC, p.C)))
				PackPanels(ps[len(ps)-1], ws[len(ws)-1], p.OC, p.C)
			}
		}
		for _, p := range sh.prods {
			maxC, maxOC = max(maxC, p.C), max(maxOC, p.OC)
		}
		for _, N := range []int{1, 8} {
			inp, out := kRand32(r, N*maxC), make([]float32, N*maxOC)
			flops = 0
			for _, p := range sh.prods {
				flops += 2 * float64(N*p.C*p.OC)
			}
			for _, path := range []string{"kernel", "panels", "blas"} {
				b.Run(fmt.Sprintf("%s/N=%d/%s", sh.name, N, path), func(b *testing.B) {
					l := 0
					c0 := kCPUTime()
					for b.Loop() {
						for i, p := range sh.prods {
							w := ws[l*len(sh.prods)+i]
							switch path {
							case "kernel":
								MatmulForward(out, inp, w, nil, N, p.C, p.OC)
							case "panels":
								MatmulPanels(out, inp, ps[l*len(sh.prods)+i], nil, N, p.C, p.OC)
							default:
								blas.Sgemm(false, true, N, p.OC, p.C, 1, inp, p.C, w, p.C, 0, out, p.OC)
							}
						}
						l = (l + 1) % layers
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					b.ReportMetric(flops*float64(b.N)/(kCPUTime()-c0).Seconds()/1e9, "GFLOP/cpu-s")
					b.ReportMetric(float64(N*b.N)/b.Elapsed().Seconds(), "rows/s")
				})
			}
		}
	}
}
