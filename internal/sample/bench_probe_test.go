package sample

import (
	"context"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/model"
)

// TestBench: the probe of `trafficgpt bench` generates the flows it was
// asked for, at batch 1 and at batch 4, and counts their tokens.
func TestBench(t *testing.T) {
	c, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{1, 4} {
		st, err := Bench(context.Background(), c, batch, 4)
		if err != nil {
			t.Fatal(err)
		}
		if st.Flows != 4 || st.Tokens == 0 || !(st.TokensPerSecond() > 0) {
			t.Errorf("batch %d: %+v", batch, st)
		}
	}
}
