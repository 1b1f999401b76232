package train

import (
	"context"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/model"
)

// BenchmarkTrainStep measures whole optimizer steps (batch, forward,
// backward, clipping, AdamW, log line) of the tiny preset on synthetic
// tokens, without evaluation or checkpoints.
func BenchmarkTrainStep(b *testing.B) {
	seq := make([]int32, 1001)
	for i := range seq {
		seq[i] = int32((i * 37) % 500)
	}
	c, _ := model.Preset("tiny")
	o := Options{Config: c, Context: 256, Batch: 4, Accum: 1, Steps: b.N, LR: 1e-3, Clip: 1, Dropout: -1, Seed: 1}
	b.ResetTimer()
	res, err := Run(context.Background(), Job{Dir: b.TempDir(), Options: o, Data: Data{Train: &fakeLoader{seq: seq}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.TokensPerSec, "tokens/s")
	b.ReportMetric(res.FLOPsPerToken*res.TokensPerSec/1e9, "GFLOP/s")
}
