package sample

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/model"
)

// BenchmarkGenerate measures generated tokens per second of the `small`
// preset (random weights, batch 1) at positions 100 and 12,000: recurrent
// (model.Step, state carried) against the window recompute of the paper
// (a full model.Forward over every token so far, up to a 12,000-token
// window, for each new token). Each token also pays a top-k draw.
//
//	go test ./internal/sample -run - -bench Generate -benchtime 200x   (recurrent)
//	go test ./internal/sample -run - -bench Generate/window -benchtime 5x
func BenchmarkGenerate(b *testing.B) {
	cfg, err := model.Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	m, err := model.New(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	const window = 12000
	rng := rand.New(rand.NewPCG(1, 1))
	toks := make([]int32, window+1)
	for i := range toks {
		toks[i] = int32(rng.IntN(cfg.Vocab))
	}
	pick := Picker{S: Sampling{Temperature: 1, TopK: 40}}
	// Recurrent: two states, at positions 100 and 12,000, step in
	// alternation so that both see the same machine load; iterations move
	// them to 100+N and 12,000+N (run with a small count, -benchtime 200x).
	b.Run("recurrent", func(b *testing.B) {
		var sts [2]*model.State
		pos := [2]int{100, 12000}
		for k := range sts {
			if sts[k], err = m.NewState(1); err != nil {
				b.Fatal(err)
			}
			for p := 0; p < pos[k]; p++ {
				if _, err := m.Step(sts[k], toks[p:p+1]); err != nil {
					b.Fatal(err)
				}
			}
		}
		var spent [2]time.Duration
		in := [2][]int32{{toks[100]}, {toks[12000]}}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for k := range sts {
				t0 := time.Now()
				logits, err := m.Step(sts[k], in[k])
				if err != nil {
					b.Fatal(err)
				}
				in[k][0] = int32(pick.Pick(logits, nil, rng))
				spent[k] += time.Since(t0)
			}
		}
		b.ReportMetric(float64(b.N)/spent[0].Seconds(), "tokens/s@100")
		b.ReportMetric(float64(b.N)/spent[1].Seconds(), "tokens/s@12000")
		b.ReportMetric(spent[1].Seconds()/spent[0].Seconds(), "cost-ratio")
	})
	for _, pos := range []int{100, 12000} {
		b.Run(fmt.Sprintf("window-recompute/pos=%d", pos), func(b *testing.B) {
			if testing.Short() && pos > 1000 {
				b.Skip("long")
			}
			T := min(pos, window)
			m.Allocate(1, T)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Forward(toks[pos-T:pos], nil, 1, T); err != nil {
					b.Fatal(err)
				}
				lg := m.Logits()
				pick.Pick(lg[(T-1)*cfg.Vocab:T*cfg.Vocab], nil, rng)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGenerateFlows is end-to-end generation (grammar, rules,
// sampling, model) of `small` (random weights): each iteration generates
// the same 48 flows at batch 1 and at batch 8, timed apart, so that a
// change of machine load affects both alike. It reports both rates, their
// ratio (speedup) and the busy rows per step at batch 8 over 8 (rows@8:
// rows take a new flow as soon as theirs ends, and at the end only the
// busy rows are stepped), and the same per CPU-second (all threads; the
// numbers to compare on a shared machine).
//
//	go test ./internal/sample -run - -bench GenerateFlows -benchtime 3x
func BenchmarkGenerateFlows(b *testing.B) {
	cfg, err := model.Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	m, err := model.New(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	const flows = 32
	batches := []int{1, 8}
	var tokens [2]int64
	var steps, rows [2]int64
	var spent, cpu [2]time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, B := range batches {
			cpu0 := cpuTime()
			o := Options{Sampling: Sampling{Temperature: 1, TopK: 40}, Seed: uint64(i + 1), Batch: B, MaxPackets: 4, MaxTokens: 600,
				Label: -1, Refill: 4096}
			s, err := Generate(context.Background(), m, flows, o, func(*Flow) error { return nil })
			if err != nil {
				b.Fatal(err)
			}
			tokens[k] += s.Tokens
			steps[k] += s.Steps
			rows[k] += s.RowSteps
			spent[k] += s.Elapsed
			cpu[k] += cpuTime() - cpu0
		}
	}
	r1 := float64(tokens[0]) / spent[0].Seconds()
	r8 := float64(tokens[1]) / spent[1].Seconds()
	b.ReportMetric(r1, "tokens/s@1")
	b.ReportMetric(r8, "tokens/s@8")
	b.ReportMetric(r8/r1, "speedup")
	c1 := float64(tokens[0]) / cpu[0].Seconds()
	c8 := float64(tokens[1]) / cpu[1].Seconds()
	b.ReportMetric(c1, "tokens/cpu-s@1")
	b.ReportMetric(c8, "tokens/cpu-s@8")
	b.ReportMetric(c8/c1, "cpu-speedup")
	b.ReportMetric(float64(rows[1])/float64(8*steps[1]), "rows@8")
}
