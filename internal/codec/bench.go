package codec

import (
	"bytes"
	"context"
	"io"
	"time"
)

// BenchTokenize is the best time of runs Tokenize passes over a capture
// held in memory (output discarded, lossless check on): the tokenizer rate
// of `trafficgpt bench`.
func BenchTokenize(ctx context.Context, capture []byte, runs int) (time.Duration, error) {
	best := time.Duration(1 << 62)
	for i := 0; i < max(runs, 1); i++ {
		t0 := time.Now()
		if _, err := Tokenize(ctx, bytes.NewReader(capture), io.Discard, TokenizeOptions{}); err != nil {
			return 0, err
		}
		best = min(best, time.Since(t0))
	}
	return best, nil
}
