package classify

import (
	"context"
	"math"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/model"
)

// TestFitRows: short contexts keep their batch; at 12,032 and 32,768
// tokens the small config's batch shrinks until one forward's activations
// fit in maxActivationBytes (32 rows at 12,032 tokens need ~35 GB), never
// below one row.
func TestFitRows(t *testing.T) {
	cfg, err := model.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxContext = 32768
	m, err := model.New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if b := fitRows(m, 256, 32); b != 32 {
		t.Errorf("context 256: %d rows of 32", b)
	}
	for _, T := range []int{12032, 32768} {
		b := fitRows(m, T, 32)
		if b < 1 || b >= 32 || b > 1 && m.ActivationBytes(b, T) > maxActivationBytes {
			t.Errorf("context %d: %d rows (%.1f GiB)", T, b, float64(m.ActivationBytes(b, T))/(1<<30))
		}
		if b < 31 && m.ActivationBytes(b+1, T) <= maxActivationBytes {
			t.Errorf("context %d: %d rows, but %d fit", T, b, b+1)
		}
	}
	if b := fitRows(m, 256, 0); b != 1 {
		t.Errorf("want 0: %d rows", b)
	}
}

// TestFinetuneChunkedRows: when a batch does not fit in one forward, its
// class groups run in chunks weighted by their share, which gives the same
// loss and gradient as one forward: the first step's loss and gradient
// norm match the unchunked run's (dropout off, so only rounding differs).
func TestFinetuneChunkedRows(t *testing.T) {
	ds := twoClassData(t)
	run := func(limit int64) LogLine {
		old := maxActivationBytes
		maxActivationBytes = limit
		defer func() { maxActivationBytes = old }()
		job := tinyJob(t, ds)
		job.Options.Epochs = 1
		job.Options.Config.Dropout = 0
		if _, err := Finetune(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		lines, err := ReadLog(job.Dir)
		if err != nil || len(lines) == 0 || lines[0].Kind != "train" {
			t.Fatalf("log %v, %v", lines, err)
		}
		return lines[0]
	}
	whole := run(maxActivationBytes)
	cfg := tinyJob(t, ds).Options.Config
	m, err := model.New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if fitRows(m, 64, 16) != 16 {
		t.Fatal("the unchunked run is chunked: the test compares nothing")
	}
	chunked := run(m.ActivationBytes(3, 64))
	if math.Abs(whole.Loss-chunked.Loss) > 1e-5*(1+whole.Loss) || math.Abs(whole.GradNorm-chunked.GradNorm) > 1e-4*(1+whole.GradNorm) {
		t.Errorf("first step: loss %v grad norm %v in one forward, %v %v in chunks of 3 rows",
			whole.Loss, whole.GradNorm, chunked.Loss, chunked.GradNorm)
	}
}
