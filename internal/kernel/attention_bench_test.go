package kernel

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// attnCPUTime is the process's user+system CPU time: rates per CPU-second
// stay meaningful when other processes share the 2 cores.
func attnCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Attention benchmarks: one layer's attention (12 heads of D=64, batch 1)
// forward+backward at growing T, and the per-token cost of the recurrent
// steps. Run with
//
//	go test ./internal/kernel -run '^$' -bench 'Attention' -benchtime 3x
//
// tokens/s counts positions of the sequence per second (forward+backward);
// GFLOP/s counts the flops of the matrix products the kernel actually issues
// (masked parts of blocks included); fwd-ms is the forward part alone;
// .../cpu-s divide by the CPU time used (both cores count), the numbers to
// compare when the machine is shared.

const benchHeads, benchD = 12, 64

// softmaxFlops is the flops of the products of one head's forward and
// backward softmax attention with window W: 2 products forward, 5 backward,
// each 2*m*nk*D per query block.
func softmaxFlops(T, D, W int) (fwd, bwd float64) {
	for t0 := 0; t0 < T; t0 += attnBlock {
		t1 := min(T, t0+attnBlock)
		mnk := float64((t1 - t0) * (t1 - max(0, t0-W)))
		fwd += 2 * 2 * mnk * float64(D)
		bwd += 5 * 2 * mnk * float64(D)
	}
	return fwd, bwd
}

// linearFlops is the same count for chunked linear attention.
func linearFlops(T, D, chunk int) (fwd, bwd float64) {
	d := float64(D)
	for t0 := 0; t0 < T; t0 += chunk {
		m := float64(min(T, t0+chunk) - t0)
		chunkProducts := 2 * (m*(d+1)*d + 2*m*m*d) // num, A, A V
		fwd += chunkProducts + 2*d*d*m             // state update
		bwd += chunkProducts + 2*(m*m*d+m*d*(d+1)+m*m*d+m*m*d+m*d*d+m*m*d+m*d*d+d*(d+1)*m)
	}
	return fwd, bwd
}

func BenchmarkAttention(b *testing.B) {
	for _, T := range []int{1024, 4096, 12032} {
		for _, kind := range []string{"linear", "local", "quadratic"} {
			b.Run(fmt.Sprintf("%s/T=%d", kind, T), func(b *testing.B) {
				BH, D := benchHeads, benchD
				n := BH * T * D
				rng := rand.New(rand.NewPCG(1, uint64(T)))
				q, k, v, g := attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1)
				out, dq, dk, dv := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
				var fwd, bwd func()
				var ff, fb float64
				switch kind {
				case "linear":
					const chunk = 64
					state := make([]float32, BH*LinearAttentionStateSize(T, D, chunk))
					scratch := make([]float32, LinearAttentionScratchSize(BH, T, D, chunk))
					fwd = func() { LinearAttentionForward(out, state, q, k, v, BH, T, D, chunk, scratch) }
					bwd = func() { LinearAttentionBackward(dq, dk, dv, g, q, k, v, state, BH, T, D, chunk, scratch) }
					ff, fb = linearFlops(T, D, chunk)
				case "local":
					const W = 256
					lse := make([]float32, BH*T)
					scratch := make([]float32, LocalAttentionScratchSize(BH, T, D, W))
					fwd = func() { LocalAttentionForward(out, lse, q, k, v, BH, T, D, W, scratch) }
					bwd = func() { LocalAttentionBackward(dq, dk, dv, g, q, k, v, out, lse, BH, T, D, W, scratch) }
					ff, fb = softmaxFlops(T, D, W)
				default:
					lse := make([]float32, BH*T)
					scratch := make([]float32, QuadraticAttentionScratchSize(BH, T, D))
					fwd = func() { QuadraticAttentionForward(out, lse, q, k, v, BH, T, D, scratch) }
					bwd = func() { QuadraticAttentionBackward(dq, dk, dv, g, q, k, v, out, lse, BH, T, D, scratch) }
					ff, fb = softmaxFlops(T, D, T)
				}
				var fwdTime time.Duration
				c0 := attnCPUTime()
				for b.Loop() {
					t0 := time.Now()
					fwd()
					fwdTime += time.Since(t0)
					bwd()
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(T)/sec, "tokens/s")
				b.ReportMetric((ff+fb)*float64(BH)/sec/1e9, "GFLOP/s")
				b.ReportMetric(fwdTime.Seconds()*1e3/float64(b.N), "fwd-ms")
				cpu := (attnCPUTime() - c0).Seconds() / float64(b.N)
				b.ReportMetric(float64(T)/cpu, "tokens/cpu-s")
				b.ReportMetric((ff+fb)*float64(BH)/cpu/1e9, "GFLOP/cpu-s")
			})
		}
	}
}

// BenchmarkAttentionStep is the cost of generating one token of one layer
// (12 heads, one goroutine) at position pos: linear (constant), local W=256
// (bounded) and full softmax over all previous positions (LocalAttentionStep
// with a window covering the whole sequence, the quadratic model's KV cache).
func BenchmarkAttentionStep(b *testing.B) {
	const maxT = 12032
	for _, pos := range []int{100, 12000} {
		for _, kind := range []string{"linear", "local", "full"} {
			b.Run(fmt.Sprintf("%s/pos=%d", kind, pos), func(b *testing.B) {
				D := benchD
				rng := rand.New(rand.NewPCG(2, uint64(pos)))
				q, k, v := attnRand(rng, benchHeads*D, 1), attnRand(rng, benchHeads*D, 1), attnRand(rng, benchHeads*D, 1)
				out := make([]float32, D)
				var step func(h int)
				switch kind {
				case "linear":
					S, z := make([]float32, benchHeads*D*D), make([]float32, benchHeads*D)
					step = func(h int) {
						LinearAttentionStep(out, S[h*D*D:(h+1)*D*D], z[h*D:(h+1)*D], q[h*D:(h+1)*D], k[h*D:(h+1)*D], v[h*D:(h+1)*D], D)
					}
				default:
					W := 256
					if kind == "full" {
						W = maxT
					}
					R := (W + 1) * D
					kr, vr := attnRand(rng, benchHeads*R, 1), attnRand(rng, benchHeads*R, 1)
					step = func(h int) {
						LocalAttentionStep(out, kr[h*R:(h+1)*R], vr[h*R:(h+1)*R], pos, q[h*D:(h+1)*D], k[h*D:(h+1)*D], v[h*D:(h+1)*D], D, W)
					}
				}
				c0 := attnCPUTime()
				for b.Loop() {
					for h := range benchHeads {
						step(h)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
				b.ReportMetric(float64(b.N)/(attnCPUTime()-c0).Seconds(), "tokens/cpu-s")
			})
		}
	}
}

// BenchmarkRope rotates one layer's q (12 heads, D=64) at T=12032.
func BenchmarkRope(b *testing.B) {
	BH, T, D := benchHeads, 12032, benchD
	x := attnRand(rand.New(rand.NewPCG(3, 4)), BH*T*D, 1)
	for b.Loop() {
		RopeForward(x, BH, T, D, 10000)
	}
	b.ReportMetric(float64(T)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
