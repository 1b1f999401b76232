package model

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// The speed probes of `trafficgpt bench`: what one machine does with a
// configuration, measured in the process that asks (the benchmarks of the
// tests report the same quantities with b.ReportMetric).

// BenchTrainStep times forward+backward at batch 1 and context T with
// random weights and tokens (dropout off): one warm-up step, then the best
// of two. It returns tokens per second and the GFLOP/s they mean
// (TrainFLOPsPerToken).
func BenchTrainStep(c Config, T int) (tokensPerSec, gflops float64, err error) {
	c.Dropout = 0
	m, err := New(c, 1)
	if err != nil {
		return 0, 0, err
	}
	m.Allocate(1, T)
	r := rand.New(rand.NewPCG(1, 2))
	tok, tgt := make([]int32, T), make([]int32, T)
	for i := range tok {
		tok[i] = int32(r.IntN(256))
		tgt[i] = int32(r.IntN(256))
	}
	best := time.Duration(1 << 62)
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		m.ZeroGrad()
		if _, err := m.Forward(tok, tgt, 1, T); err != nil {
			return 0, 0, err
		}
		if err := m.Backward(); err != nil {
			return 0, 0, err
		}
		if i > 0 {
			best = min(best, time.Since(t0))
		}
	}
	tps := float64(T) / best.Seconds()
	return tps, TrainFLOPsPerToken(c, T) * tps / 1e9, nil
}

// BenchStep measures Step's rate (tokens per second, batch 1) at two
// positions: two states are advanced to near and far, then timed in
// alternating rounds of 16 tokens (128 tokens each in all), so that a change
// of machine load or clock speed during the run affects both alike.
func BenchStep(ctx context.Context, c Config, near, far int) (nearRate, farRate float64, err error) {
	m, err := New(c, 1)
	if err != nil {
		return 0, 0, err
	}
	tok := []int32{7}
	states := make([]*State, 2)
	for i, at := range []int{near, far} {
		if states[i], err = m.NewState(1); err != nil {
			return 0, 0, err
		}
		for pos := 0; pos < at; pos++ {
			if pos&1023 == 0 && ctx.Err() != nil {
				return 0, 0, ctx.Err()
			}
			if _, err := m.Step(states[i], tok); err != nil {
				return 0, 0, err
			}
		}
	}
	const rounds, per = 8, 16
	var spent [2]time.Duration
	for range rounds {
		for i, st := range states {
			t0 := time.Now()
			for range per {
				if _, err := m.Step(st, tok); err != nil {
					return 0, 0, err
				}
			}
			spent[i] += time.Since(t0)
		}
	}
	return rounds * per / spent[0].Seconds(), rounds * per / spent[1].Seconds(), nil
}

// BenchStepBatch is recurrent inference of c (random weights) at batch 1
// and at batch 8: tokens per second (every row's token counts) of each,
// measured in interleaved rounds of per steps so that a change of machine
// load affects both alike. The weights are read once per Step for all
// rows, so the ratio is what batching buys.
func BenchStepBatch(ctx context.Context, c Config, rounds, per int) (one, eight float64, err error) {
	m, err := New(c, 1)
	if err != nil {
		return 0, 0, err
	}
	batches := [2]int{1, 8}
	var states [2]*State
	var toks [2][]int32
	for i, b := range batches {
		if states[i], err = m.NewState(b); err != nil {
			return 0, 0, err
		}
		toks[i] = make([]int32, b)
		for r := range toks[i] {
			toks[i][r] = int32(7 + r)
		}
	}
	var spent [2]time.Duration
	for range rounds {
		for i, st := range states {
			if err := ctx.Err(); err != nil {
				return 0, 0, err
			}
			t0 := time.Now()
			for range per {
				if _, err := m.Step(st, toks[i]); err != nil {
					return 0, 0, err
				}
			}
			spent[i] += time.Since(t0)
		}
	}
	n := float64(rounds * per)
	return n / spent[0].Seconds(), 8 * n / spent[1].Seconds(), nil
}

// PeakRSS is the peak resident set of this process in bytes (VmHWM of
// /proc/self/status; 0 where there is none).
func PeakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
