package model

import (
	"context"
	"os"
	"testing"
)

// TestBenchProbes: the speed probes of `trafficgpt bench` measure
// something positive on the smallest preset and stop when asked to.
func TestBenchProbes(t *testing.T) {
	c, err := Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	tps, gf, err := BenchTrainStep(c, 64)
	if err != nil || !(tps > 0) || !(gf > 0) {
		t.Errorf("BenchTrainStep: %g tokens/s, %g GFLOP/s, %v", tps, gf, err)
	}
	near, far, err := BenchStep(context.Background(), c, 4, 40)
	if err != nil || !(near > 0) || !(far > 0) {
		t.Errorf("BenchStep: %g, %g tokens/s, %v", near, far, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := BenchStep(ctx, c, 4, 40); err == nil {
		t.Error("BenchStep canceled: no error")
	}
	if _, err := os.Stat("/proc/self/status"); err == nil && PeakRSS() <= 0 {
		t.Errorf("PeakRSS %d with /proc/self/status present", PeakRSS())
	}
}
