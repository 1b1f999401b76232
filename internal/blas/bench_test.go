//go:build unix

package blas

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user + system) of the whole process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchSgemm(b *testing.B, transA, transB bool, M, N, K int) {
	r := rand.New(rand.NewPCG(5, 6))
	lda, ldb := K, N
	if transA {
		lda = M
	}
	if transB {
		ldb = K
	}
	A, B, C := randSlice(r, M*K), randSlice(r, K*N), make([]float32, M*N)
	Sgemm(transA, transB, M, N, K, 1, A, lda, B, ldb, 0, C, N)
	c0 := cpuTime()
	for b.Loop() {
		Sgemm(transA, transB, M, N, K, 1, A, lda, B, ldb, 0, C, N)
	}
	flops := 2 * float64(M) * float64(N) * float64(K) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	// Per CPU-second: the rate of one core, which stays meaningful when
	// other processes share the machine (it also counts OpenMP spinning).
	b.ReportMetric(flops/(cpuTime()-c0).Seconds()/1e9, "GFLOP/cpu-s")
}

// BenchmarkSgemm covers square sizes and the model's linear-layer shapes
// (N = B*T = 12032 rows, C = 512, 4C = 2048) in forward (A @ W^T), backward
// data (dout @ W) and backward weight (dout^T @ inp) form, with 1 and 2
// threads, and the small-M products of a sampling step.
func BenchmarkSgemm(b *testing.B) {
	type shape struct {
		name    string
		ta, tb  bool
		M, N, K int
	}
	shapes := []shape{
		{"sq64", false, false, 64, 64, 64},
		{"sq256", false, false, 256, 256, 256},
		{"sq512", false, false, 512, 512, 512},
		{"sq1024", false, false, 1024, 1024, 1024},
		{"sq2048", false, false, 2048, 2048, 2048},
		{"fc_fwd_12032x2048x512", false, true, 12032, 2048, 512},
		{"proj_fwd_12032x512x2048", false, true, 12032, 512, 2048},
		{"qkv_fwd_12032x1536x512", false, true, 12032, 1536, 512},
		{"fc_bwd_dinp_12032x512x2048", false, false, 12032, 512, 2048},
		{"fc_bwd_dw_2048x512x12032", true, false, 2048, 512, 12032},
		// One sampling step of `small` (C = 256, 4C = 1024) at batch 1
		// and 8: a row per flow, so M is the batch. Batching pays only if
		// M = 8 costs well under 8x M = 1 (the weights are read once).
		{"step_fc_1x1024x256", false, true, 1, 1024, 256},
		{"step_fc_8x1024x256", false, true, 8, 1024, 256},
		{"step_proj_1x256x1024", false, true, 1, 256, 1024},
		{"step_proj_8x256x1024", false, true, 8, 256, 1024},
	}
	old := Threads()
	defer SetThreads(old)
	for _, s := range shapes {
		for _, th := range []int{1, 2} {
			if th > runtime.NumCPU() {
				continue
			}
			b.Run(fmt.Sprintf("%s/threads%d", s.name, th), func(b *testing.B) {
				SetThreads(th)
				benchSgemm(b, s.ta, s.tb, s.M, s.N, s.K)
			})
		}
	}
}
