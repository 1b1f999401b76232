package sample

import (
	"context"
	"fmt"
	"math/rand/v2"
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

// BenchmarkGenerateFlows is end-to-end generation (grammar, rules,
// sampling, model) of `small` (random weights) in batches of 8.
func BenchmarkGenerateFlows(b *testing.B) {
	cfg, err := model.Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	m, err := model.New(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	o := Options{Sampling: Sampling{Temperature: 1, TopK: 40}, Seed: 1, Batch: 8, MaxPackets: 4, Label: -1, Refill: 4096}
	var st Stats
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Generate(context.Background(), m, 16, o, func(*Flow) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		st.Tokens += s.Tokens
		st.Steps += s.Steps
	}
	b.ReportMetric(float64(st.Tokens)/b.Elapsed().Seconds(), "tokens/s")
	b.ReportMetric(float64(st.Tokens)/float64(8*st.Steps), "busy")
}
