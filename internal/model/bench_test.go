package model

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/blas"
)

var (
	sgemmOnce sync.Once
	sgemmRate float64
)

// sgemmGFLOPS is the machine's square-sgemm rate, measured once per run so
// the model's rate can be read against it: the best of three 1-second
// probes (a probe that meets other work on a shared machine reads low).
func sgemmGFLOPS() float64 {
	sgemmOnce.Do(func() { sgemmRate = bestSgemm() })
	return sgemmRate
}

func bestSgemm() float64 {
	best := 0.0
	for range 3 {
		best = max(best, blas.MeasureGFLOPS(1024, time.Second))
	}
	return best
}

// benchConfig is a preset, optionally with another attention family:
// "paper-quadratic", "small-rwkv", ...
func benchConfig(b *testing.B, name string) Config {
	base, kind, _ := strings.Cut(name, "-")
	c, err := Preset(base)
	if err != nil {
		b.Fatal(err)
	}
	if kind != "" {
		c.Attention = kind
		if err := c.Validate(); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

// BenchmarkTrainStep times forward+backward at batch 1 for each preset and
// context length, with dropout on as in training. Under -short only T=1024.
// The quadratic baseline stops where its O(T^2) cost gets out of hand.
func BenchmarkTrainStep(b *testing.B) {
	// The families run back to back at each shape so their ratios to
	// linear are read under the same machine load.
	cases := []struct {
		cfg  string
		maxT int
	}{
		{"small", 32768}, {"small-retention", 32768}, {"small-rwkv", 32768}, {"small-quadratic", 12032},
		{"paper", 32768}, {"paper-retention", 32768}, {"paper-rwkv", 32768}, {"paper-quadratic", 4096},
	}
	for _, tc := range cases {
		for _, T := range []int{1024, 4096, 12032, 32768} {
			b.Run(fmt.Sprintf("%s/T=%d", tc.cfg, T), func(b *testing.B) {
				if T > tc.maxT {
					b.Skip("too slow for the quadratic baseline")
				}
				if testing.Short() && T > 1024 {
					b.Skip("long context under -short")
				}
				benchTrain(b, benchConfig(b, tc.cfg), T)
			})
		}
	}
}

func benchTrain(b *testing.B, c Config, T int) {
	ref := sgemmGFLOPS()
	m, err := New(c, 1)
	if err != nil {
		b.Fatal(err)
	}
	m.Train = true
	m.Allocate(1, T)
	tok := randTokens(T+1, c.Vocab, 1)
	in, tgt := tok[:T], tok[1:]
	step := func(i int) {
		m.Seed = uint64(i)
		m.ZeroGrad()
		if _, err := m.Forward(in, tgt, 1, T); err != nil {
			b.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(i)
	}
	sec := b.Elapsed().Seconds()
	b.StopTimer()
	// The reference is probed again after the steps: the best probe of the
	// run stands for the machine (a busy moment only lowers a reading).
	ref = max(ref, bestSgemm())
	tokens := float64(T) * float64(b.N)
	gflops := TrainFLOPsPerToken(c, T) * tokens / sec / 1e9
	b.ReportMetric(tokens/sec, "tokens/s")
	b.ReportMetric(sec/tokens*1e6, "us/token")
	b.ReportMetric(gflops, "GFLOP/s")
	b.ReportMetric(ref, "sgemm-GFLOP/s")
	b.ReportMetric(100*gflops/ref, "%sgemm")
	b.ReportMetric(float64(PeakRSS())/(1<<20), "peakRSS-MB")
	b.ReportMetric(float64(m.ActivationBytes(1, T))/(1<<20), "acts-MB")
}

// BenchmarkPaperRSS is one forward+backward of the paper model (reversible)
// at 12,032 tokens; run it alone (-bench PaperRSS) so peakRSS-MB is its own.
func BenchmarkPaperRSS(b *testing.B) {
	if testing.Short() {
		b.Skip("minutes long")
	}
	// Reversible activations do not depend on depth, so layers=2 shows the
	// activation peak in a fraction of the time; add 22 layers of parameters
	// and gradients (22 * 3.58M * 8 bytes = 630 MB) for the full model.
	for _, layers := range []int{24, 2} {
		b.Run(fmt.Sprintf("layers=%d", layers), func(b *testing.B) {
			c := benchConfig(b, "paper")
			c.Layers = layers
			benchTrain(b, c, 12032)
		})
	}
}

// cpuTime is the process's user+system CPU time: rates per CPU-second stay
// meaningful when other processes share the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStep times recurrent inference per token: batch 1 for small
// and paper, and batch 8 for small (tokens/s counts every row's token; the
// weights are read once per Step for all rows). tokens/cpu-s divides by
// the CPU time used (all threads), the number to compare on a shared
// machine.
func BenchmarkStep(b *testing.B) {
	for _, tc := range []struct {
		name  string
		batch int
	}{{"small", 1}, {"small", 8}, {"paper", 1}, {"paper", 8}} {
		b.Run(fmt.Sprintf("%s/batch=%d", tc.name, tc.batch), func(b *testing.B) {
			c := benchConfig(b, tc.name)
			m, err := New(c, 1)
			if err != nil {
				b.Fatal(err)
			}
			st, err := m.NewState(tc.batch)
			if err != nil {
				b.Fatal(err)
			}
			tok := make([]int32, tc.batch)
			for i := range tok {
				tok[i] = int32(7 + i)
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := m.Step(st, tok); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*tc.batch)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(b.N*tc.batch)/(cpuTime()-cpu0).Seconds(), "tokens/cpu-s")
		})
	}
}
