package classify

import (
	"strings"
	"testing"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/metric"
)

func TestResultWriteText(t *testing.T) {
	r := &Result{Mode: "probe", BestEpoch: 3, BestF1: 0.75, Valid: metric.ClassReport{Accuracy: 0.8}, Epochs: 5, Steps: 40,
		Stopped: "patience", Elapsed: 1500 * time.Millisecond, TrainSeconds: 1.25, TrainFlows: 120,
		Labels: []string{"dns", "http"}, Weights: []float64{0.5, 1.5},
		OpenSet: &OpenSet{Method: OpenMahalanobis, Threshold: 12.5, FRR: 0.01, ValidFlows: 30}}
	var b strings.Builder
	r.WriteText(&b, "clf")
	want := "clf: probe classifier, 2 classes (dns, http)\n" +
		"  best epoch 3 of 5: valid macro-F1 0.7500, accuracy 0.8000\n" +
		"  stopped: patience\n" +
		"  class weights: dns 0.50, http 1.50\n" +
		"  120 train flows, 40 steps, training 1.2s, total 1.5s\n" +
		"  open-set rule: " + OpenMahalanobis + ", threshold 12.5 at 1.0% false rejections of 30 valid flows (" + OpenSetFile + ")\n" +
		"  files: clf/{" + ModelFile + "," + ConfigFile + "," + LogFile + "," + PlotFile + "}\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestJobValidate(t *testing.T) {
	for _, c := range []struct {
		job  Job
		want string
	}{
		{Job{Data: "ds", Dir: "clf", Pretrained: "pre"}, ""},
		{Job{Data: "ds", Dir: "clf", Options: Options{FromScratch: true}}, ""},
		{Job{Dir: "clf", Pretrained: "pre"}, "need --data DIR and -o CLF"},
		{Job{Data: "ds", Pretrained: "pre"}, "need --data DIR and -o CLF"},
		{Job{Data: "ds", Dir: "clf", Pretrained: "pre", Options: Options{FromScratch: true}}, "--from-scratch takes no --model"},
		{Job{Data: "ds", Dir: "clf"}, "need --model PRE (or --from-scratch)"},
	} {
		err := c.job.Validate()
		if (c.want == "" && err != nil) || (c.want != "" && (err == nil || err.Error() != c.want)) {
			t.Errorf("%+v: %v, want %q", c.job, err, c.want)
		}
	}
}
