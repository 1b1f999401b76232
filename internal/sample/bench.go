package sample

import (
	"context"

	"github.com/trafficgpt/trafficgpt/internal/model"
)

// Bench generates flows with a randomly initialised model of config c at
// the given batch (at most 4 packets and 600 tokens per flow, top-k 40),
// discarding them: the sampling rate of `trafficgpt bench` (grammar, rules,
// top-k and model end to end; speed does not depend on the weights).
func Bench(ctx context.Context, c model.Config, batch, flows int) (Stats, error) {
	m, err := model.New(c, 1)
	if err != nil {
		return Stats{}, err
	}
	o := Options{Sampling: Sampling{Temperature: 1, TopK: 40}, Seed: 1, Batch: batch,
		MaxPackets: 4, MaxTokens: 600, Label: -1, Refill: 4096}
	return Generate(ctx, m, flows, o, func(*Flow) error { return nil })
}
