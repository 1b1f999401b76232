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
