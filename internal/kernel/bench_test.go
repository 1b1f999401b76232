//go:build unix

package kernel

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
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
