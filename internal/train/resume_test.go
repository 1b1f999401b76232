package train

import (
	"reflect"
	"testing"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/model"
)

// TestResumeOptions: a resumed run keeps the checkpoint's options except
// those given anew; the time limit is the invocation's.
func TestResumeOptions(t *testing.T) {
	tiny, _ := model.Preset("tiny")
	saved := Options{Config: tiny, Context: 256, Batch: 2, Accum: 3, Steps: 40, LR: 1e-2, MinLR: 1e-3, Warmup: 5, Clip: 0.5,
		WeightDecay: 0.01, Dropout: 0.2, EvalEvery: 10, EvalBatches: 2, SaveEvery: 20, Seed: 9, Threads: 3, TimeLimit: time.Hour}
	cur := DefaultOptions()
	cur.TimeLimit = time.Minute
	got := cur.Resume(saved, func(string) bool { return false })
	want := saved
	want.TimeLimit = time.Minute
	if !reflect.DeepEqual(got, want) {
		t.Errorf("nothing given:\n got %+v\nwant %+v", got, want)
	}
	given := map[string]bool{"steps": true, "lr": true, "ctx": true}
	got = cur.Resume(saved, func(n string) bool { return given[n] })
	want.Steps, want.LR, want.Context = cur.Steps, cur.LR, cur.Context
	if !reflect.DeepEqual(got, want) {
		t.Errorf("steps, lr and ctx given:\n got %+v\nwant %+v", got, want)
	}
	if len(resumable) != reflect.TypeOf(Options{}).NumField()-2 {
		t.Errorf("%d resumable options of %d fields: a new option needs a rule (or a reason to stay the invocation's)",
			len(resumable), reflect.TypeOf(Options{}).NumField())
	}
}

// TestMetricsString: one line, the kinds in codec order (not the map's).
func TestMetricsString(t *testing.T) {
	m := &Metrics{Loss: 1.23456, Perplexity: 3.4372, BitsPerToken: 1.7811, BitsPerByte: 2.5,
		KindLoss: map[string]float64{"payload": 2.1, "structure": 0.05, "header": 1.5, "time": 3}}
	want := "loss 1.2346 ppl 3.44 1.781 bits/token 2.500 bits/byte-token; by kind: structure 0.050 time 3.000 header 1.500 payload 2.100"
	for range 5 {
		if got := m.String(); got != want {
			t.Fatalf("String() = %q\nwant       %q", got, want)
		}
	}
}
