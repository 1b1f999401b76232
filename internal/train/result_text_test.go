package train

import (
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/model"
)

func TestResultWriteText(t *testing.T) {
	r := &Result{Step: 40, StartStep: 20, Tokens: 81920, TrainLoss: 2.5, TokensPerSec: 1000, FLOPsPerToken: 2e7,
		Stopped: "time limit", PeakMemEstimate: 1 << 29}
	var b strings.Builder
	r.WriteText(&b, Job{Dir: "m", Options: Options{Steps: 100}}, "ds", 40)
	want := "m: step 40 of 100 (this run from step 20), 81920 tokens in total\n" +
		"  stopped: time limit; continue with: trafficgpt pretrain --data ds -o m --resume\n" +
		"  train loss 2.5000 (last step)\n" +
		"  throughput 1000 tokens/s = 20.0 GFLOP/s (0.02 GFLOP/token) = 0.50 of sgemm (40.0 GFLOP/s, 1024^3, best probe of this run, " + model.Backend() + ")\n" +
		"  memory estimate 0.50 GiB; files: m/{" + strings.Join([]string{ModelFile, StateFile, ConfigFile, LogFile, PlotFile}, ",") + "}\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
