package classify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/metric"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

// demoData holds the repository's real captures of 6 classes: the fixtures
// of these tests (dns against mqtt is the two-class task).
var demoData = filepath.Join("..", "..", "testdata", "demo")

func TestClassWeights(t *testing.T) {
	tests := []struct {
		counts []int
		want   []float64
	}{
		// N=4, K=2: 4/(2*3), 4/(2*1).
		{[]int{3, 1}, []float64{2.0 / 3, 2}},
		// A class without flows gets 0 and does not count in K.
		{[]int{2, 0, 2}, []float64{1, 0, 1}},
		{[]int{5}, []float64{1}},
	}
	for _, tc := range tests {
		if got := ClassWeights(tc.counts); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ClassWeights(%v) = %v, want %v", tc.counts, got, tc.want)
		}
	}
}

func TestTopKArgmax(t *testing.T) {
	p := []float32{0.1, 0.4, 0.1, 0.4}
	if got := Argmax(p); got != 1 {
		t.Errorf("Argmax = %d, want 1 (first of ties)", got)
	}
	if got := TopK(p, 3); !reflect.DeepEqual(got, []int{1, 3, 0}) {
		t.Errorf("TopK = %v, want [1 3 0]", got)
	}
	if got := TopK(p[:2], 3); !reflect.DeepEqual(got, []int{1, 0}) {
		t.Errorf("TopK of 2 = %v, want [1 0]", got)
	}
}

func TestLabelMap(t *testing.T) {
	m := &dataset.Manifest{Labels: []string{"a", "b", "c"},
		Splits: map[string]dataset.SplitInfo{"test": {PerClass: map[string]int{"a": 2, "c": 1}}}}
	got, err := LabelMap([]string{"c", "x", "a"}, m)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{2, -1, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("LabelMap = %v, want %v (b has no flows: allowed)", got, want)
	}
	if _, err := LabelMap([]string{"a", "b"}, m); !errors.Is(err, ErrLabels) {
		t.Errorf("unknown label c: err %v, want ErrLabels", err)
	}
}

// Row layout and the causal claim: padding and the other rows of a batch
// do not change a flow's prediction.
func TestBatcherMatchesSingleFlows(t *testing.T) {
	cfg, _ := model.Preset("tiny")
	m, err := model.New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddClassifier(3, 2); err != nil {
		t.Fatal(err)
	}
	c := &Classifier{Model: m, Labels: []string{"a", "b", "c"}, Context: 24}
	flows := [][]uint16{
		{codec.FLOW, 1, 2, 3, codec.END},
		{codec.FLOW, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, codec.CUT},
		{codec.FLOW, 200, codec.END},
	}
	row := make([]int32, 5)
	if pos := fillRow(row, flows[1]); pos != 4 || !reflect.DeepEqual(row, []int32{int32(codec.FLOW), 7, 8, 9, int32(codec.CLS)}) {
		t.Errorf("fillRow long = %v pos %d", row, pos)
	}
	if pos := fillRow(row, flows[2]); pos != 3 || !reflect.DeepEqual(row, []int32{int32(codec.FLOW), 200, int32(codec.END), int32(codec.CLS), int32(codec.PAD)}) {
		t.Errorf("fillRow short = %v pos %d", row, pos)
	}
	var single [][]float32
	for _, f := range flows {
		b := NewBatcher(c, 1, func(_ int, p, _ []float32) error { single = append(single, append([]float32(nil), p...)); return nil })
		if err := b.Add(f, 0); err != nil {
			t.Fatal(err)
		}
	}
	var batched [][]float32
	b := NewBatcher(c, 2, func(i int, p, _ []float32) error {
		if i != len(batched) {
			t.Errorf("tag %d out of order", i)
		}
		batched = append(batched, append([]float32(nil), p...))
		return nil
	})
	for i, f := range flows {
		if err := b.Add(f, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range flows {
		for k := range single[i] {
			if d := single[i][k] - batched[i][k]; d > 1e-5 || d < -1e-5 {
				t.Errorf("flow %d class %d: alone %v, in a batch %v", i, k, single[i][k], batched[i][k])
			}
		}
	}
}

// twoClass builds (once) a dataset of dns.pcap vs mqtt.pcap, labels by
// file, flows grouped singly, addresses and ports masked.
var twoClass = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "classify-test-*")
	if err != nil {
		return "", err
	}
	var files []dataset.InputFileRoot
	for _, f := range []string{"dns.pcap", "mqtt.pcap"} {
		p := filepath.Join(demoData, f)
		files = append(files, dataset.InputFileRoot{Path: p, Root: filepath.Dir(p)})
	}
	ds := filepath.Join(dir, "ds")
	_, err = dataset.Build(context.Background(), ds, files, dataset.BuildOptions{Labels: "file", Group: "flow", Seed: 1,
		Split: []dataset.SplitFrac{{Name: "train", Frac: 0.6}, {Name: "valid", Frac: 0.2}, {Name: "test", Frac: 0.2}}, Flow: flow.DefaultConfig(),
		View: codec.View{Mask: codec.MaskAddr | codec.MaskPorts}, Jobs: 1})
	return ds, err
})

func twoClassData(t *testing.T) string {
	t.Helper()
	ds, err := twoClass()
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ds, err := twoClass(); err == nil && ds != "" {
		os.RemoveAll(filepath.Dir(ds))
	}
	os.Exit(code)
}

func tinyJob(t *testing.T, ds string) Job {
	cfg, _ := model.Preset("tiny")
	o := DefaultOptions()
	o.FromScratch, o.Config, o.Context, o.Epochs, o.Batch = true, cfg, 64, 3, 16
	return Job{Dir: filepath.Join(t.TempDir(), "clf"), Data: ds, Options: o}
}

// The end-to-end check: fine-tune from scratch on two separable classes,
// macro-F1 1 on the test split, classify gives eval's labels on the same
// flows, and the baseline runs on the same split.
func TestFinetuneClassifyEval(t *testing.T) {
	ds := twoClassData(t)
	ctx := context.Background()
	job := tinyJob(t, ds)
	res, err := Finetune(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if res.BestEpoch < 1 || res.Steps == 0 {
		t.Fatalf("result %+v", res)
	}
	for _, f := range []string{ModelFile, ConfigFile, LogFile, PlotFile} {
		if _, err := os.Stat(filepath.Join(job.Dir, f)); err != nil {
			t.Errorf("classifier directory lacks %s: %v", f, err)
		}
	}
	lines, err := ReadLog(job.Dir)
	if err != nil || len(lines) != res.Steps+res.Epochs {
		t.Errorf("log: %d lines (%v), want %d steps + %d epochs", len(lines), err, res.Steps, res.Epochs)
	}
	c, err := Load(job.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Labels, []string{"dns", "mqtt"}) || c.Context != 64 || c.View.Mask != codec.MaskAddr|codec.MaskPorts {
		t.Errorf("loaded labels %v context %d view %+v", c.Labels, c.Context, c.View)
	}
	d, err := dataset.Open(ds)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	mapping, err := c.CheckDataset(d)
	if err != nil {
		t.Fatal(err)
	}
	test, err := d.Split("test")
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Evaluate(ctx, test, mapping, 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := metric.Report(p.Labels, p.Preds, 2, c.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if rep.MacroF1 != 1 {
		t.Errorf("test macro-F1 %v, want 1; confusion %v", rep.MacroF1, rep.Confusion)
	}
	// The valid split scored by the saved model matches the checkpoint's
	// recorded valid macro-F1 (the best epoch was the one saved).
	valid, _ := d.Split("valid")
	pv, err := c.Evaluate(ctx, valid, mapping, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	rv, _ := metric.Report(pv.Labels, pv.Preds, 2, nil)
	if got := strconv.FormatFloat(rv.MacroF1, 'f', 6, 64); got != c.Meta[MetaValidF1] {
		t.Errorf("valid macro-F1 of the saved model %s, checkpoint says %s", got, c.Meta[MetaValidF1])
	}

	// classify on the captures: the same label for every test flow.
	man := d.Manifest()
	type key struct {
		file uint32
		id   uint64
	}
	want := map[key]int{}
	for i := range p.Preds {
		want[key{p.File[i], p.FlowID[i]}] = p.Preds[i]
	}
	matched := 0
	for fi, in := range man.Inputs {
		f, err := os.Open(in.Path)
		if err != nil {
			t.Fatal(err)
		}
		n, err := c.Capture(ctx, f, CaptureOptions{Batch: 5, MinPackets: -1}, func(r *FlowResult) error {
			if w, ok := want[key{uint32(fi), r.ID}]; ok {
				matched++
				if r.Best != w { // Best: eval has no open-set rule
					t.Errorf("%s flow %d (%s): classify says %s, eval %s", in.Path, r.ID, r.Key, c.Labels[r.Best], c.Labels[w])
				}
			}
			return nil
		})
		f.Close()
		if err != nil || n != in.Flows {
			t.Errorf("%s: %d flows classified (%v), the dataset kept %d", in.Path, n, err, in.Flows)
		}
	}
	if matched != len(p.Preds) {
		t.Errorf("classify saw %d of the %d test flows", matched, len(p.Preds))
	}

	b, err := Baseline(ctx, d, "test", mapping, 2, BaselineOptions{Trees: 20, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.Pred.Labels, p.Labels) || !reflect.DeepEqual(b.Pred.FlowID, p.FlowID) {
		t.Error("the baseline scored other flows than the classifier")
	}
	br, _ := metric.Report(b.Pred.Labels, b.Pred.Preds, 2, nil)
	if br.MacroF1 < 0.9 || len(b.Features) != 3*20+metric.NumFlowFeatures {
		t.Errorf("baseline macro-F1 %v with %d features", br.MacroF1, len(b.Features))
	}
	if b.KNNPred == nil || !reflect.DeepEqual(b.KNNPred.Labels, p.Labels) || b.K != 5 {
		t.Fatal("the k-NN baseline is missing or scored other flows")
	}
	if kr, _ := metric.Report(b.KNNPred.Labels, b.KNNPred.Preds, 2, nil); kr.MacroF1 < 0.8 {
		t.Errorf("k-NN baseline macro-F1 %v", kr.MacroF1)
	}

	// Early decision: the first packet only still runs and labels flows.
	f, _ := os.Open(man.Inputs[0].Path)
	defer f.Close()
	n, err := c.Capture(ctx, f, CaptureOptions{Early: 1, MinPackets: 0}, func(*FlowResult) error { return nil })
	if err != nil || n == 0 {
		t.Errorf("--early 1: %d flows, %v", n, err)
	}

	// The report of eval classify: the same flows and scores, the
	// baselines beside them, JSON keys as docs/formats.md has them.
	var warned []string
	progressed := 0
	er, err := EvalReport(ctx, ReportOptions{Model: job.Dir, Data: ds, Split: "test", Batch: 7,
		Baseline: BaselineOptions{Packets: 20, Trees: 20, Seed: 1}, Warn: func(s string) { warned = append(warned, s) },
		Progress: func(done, total int) { progressed = done }})
	if err != nil {
		t.Fatal(err)
	}
	if er.MacroF1 != 1 || er.Flows != len(p.Labels) || progressed != er.Flows || er.Baseline == nil || er.KNN == nil || er.OpenSet != nil {
		t.Errorf("report: macro-F1 %v, %d flows (progress %d), baseline %v, k-NN %v", er.MacroF1, er.Flows, progressed, er.Baseline, er.KNN)
	}
	if er.Baseline.MacroF1 != br.MacroF1 || er.Baseline.TrainFlows != b.Train {
		t.Errorf("report's baseline macro-F1 %v on %d train flows, Baseline's %v on %d", er.Baseline.MacroF1, er.Baseline.TrainFlows, br.MacroF1, b.Train)
	}
	js, _ := json.Marshal(er)
	for _, k := range []string{`"macro_f1":1`, `"per_class"`, `"confusion"`, `"split":"test"`, `"baseline":{`, `"knn_baseline":{`, `"train_flows"`} {
		if !strings.Contains(string(js), k) {
			t.Errorf("report JSON lacks %s: %s", k, js)
		}
	}
	if _, err := EvalReport(ctx, ReportOptions{Model: job.Dir, Data: ds, Split: "nope", Batch: 7}); err == nil {
		t.Error("a split the dataset lacks: no error")
	}

	// The classifier directory is not overwritten.
	if _, err := Finetune(ctx, job); !errors.Is(err, ErrExists) {
		t.Errorf("second run into %s: err %v, want ErrExists", job.Dir, err)
	}
}

// randomTrunk is a tiny model with random weights (seed 5), saved as a
// pre-trained trunk: the model and its file.
func randomTrunk(t *testing.T) (*model.Model, string) {
	t.Helper()
	cfg, _ := model.Preset("tiny")
	pre, err := model.New(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pre.safetensors")
	if err := pre.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	return pre, path
}

// The linear probe on a (here random) frozen trunk: only the head changes,
// and the saved probe reproduces its recorded valid score.
func TestFreezeProbe(t *testing.T) {
	ds := twoClassData(t)
	ctx := context.Background()
	pre, prePath := randomTrunk(t)
	job := tinyJob(t, ds)
	job.Options.FromScratch = false
	job.Options.Freeze = true
	job.Options.ProbeEpochs = 30
	job.Pretrained = prePath
	res, err := Finetune(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(job.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Meta[MetaMode] != "freeze" {
		t.Errorf("mode %q", c.Meta[MetaMode])
	}
	trunk := pre.Params()
	if got := c.Model.Params()[:len(trunk)]; !reflect.DeepEqual(got, trunk) {
		t.Error("the frozen trunk changed")
	}
	d, _ := dataset.Open(ds)
	defer d.Close()
	valid, _ := d.Split("valid")
	p, err := c.Evaluate(ctx, valid, nil, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := metric.Report(p.Labels, p.Preds, 2, nil)
	if r.MacroF1 != res.BestF1 {
		t.Errorf("saved probe scores valid macro-F1 %v, training recorded %v", r.MacroF1, res.BestF1)
	}
	if res.BestF1 < 0.8 {
		t.Errorf("probe valid macro-F1 %v: dns and mqtt should separate even on random features", res.BestF1)
	}
}

func TestWrongInputs(t *testing.T) {
	ds := twoClassData(t)
	ctx := context.Background()
	dir := t.TempDir()
	cfg, _ := model.Preset("tiny")
	lm, _ := model.New(cfg, 1)
	lmPath := filepath.Join(dir, "lm.safetensors")
	if err := lm.Save(lmPath, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(lmPath); !errors.Is(err, ErrNotClassifier) {
		t.Errorf("Load(language model): %v, want ErrNotClassifier", err)
	}

	// A classifier whose labels are not the dataset's, and one with another view.
	clf, _ := model.New(cfg, 1)
	clf.AddClassifier(2, 1)
	save := func(name, labels, view string) *Classifier {
		p := filepath.Join(dir, name)
		meta := map[string]string{MetaKind: KindClassifier, MetaLabels: labels, MetaView: view, MetaFlow: "{}", MetaContext: "32"}
		if err := clf.Save(p, meta); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	d, _ := dataset.Open(ds)
	defer d.Close()
	masked := `{"Mask":` + strconv.Itoa(int(codec.MaskAddr|codec.MaskPorts)) + `}`
	if _, err := save("other.safetensors", `["dns","http"]`, masked).CheckDataset(d); !errors.Is(err, ErrLabels) {
		t.Errorf("unknown label mqtt: %v, want ErrLabels", err)
	}
	if _, err := save("view.safetensors", `["dns","mqtt"]`, `{}`).CheckDataset(d); !errors.Is(err, ErrView) {
		t.Errorf("other view: %v, want ErrView", err)
	}
	c := save("ok.safetensors", `["dns","mqtt"]`, masked)
	if _, err := c.CheckDataset(d); err != nil {
		t.Errorf("matching classifier: %v", err)
	}

	// Empty captures: nothing at all, and a header without packets.
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	for name, in := range map[string][]byte{"no bytes": nil, "header only": hdr} {
		if _, err := c.Capture(ctx, bytes.NewReader(in), CaptureOptions{}, func(*FlowResult) error { return nil }); err == nil {
			t.Errorf("%s: no error", name)
		} else if name == "header only" && !errors.Is(err, ErrEmpty) {
			t.Errorf("%s: %v, want ErrEmpty", name, err)
		}
	}

	// A dataset without a valid split; a pre-trained model that is already
	// a classifier; a model file that does not exist.
	noValid := filepath.Join(dir, "novalid")
	in := filepath.Join(demoData, "dns.pcap")
	if _, err := dataset.Build(ctx, noValid, []dataset.InputFileRoot{{Path: in, Root: filepath.Dir(in)}},
		dataset.BuildOptions{Labels: "file", Group: "flow", Seed: 1, Split: []dataset.SplitFrac{{Name: "train", Frac: 0.5}, {Name: "test", Frac: 0.5}}, Jobs: 1}); err != nil {
		t.Fatal(err)
	}
	job := tinyJob(t, noValid)
	if _, err := Finetune(ctx, job); !errors.Is(err, ErrData) {
		t.Errorf("no valid split: %v, want ErrData", err)
	}
	job = tinyJob(t, ds)
	job.Options.FromScratch = false
	job.Pretrained = filepath.Join(dir, "ok.safetensors")
	if _, err := Finetune(ctx, job); !errors.Is(err, ErrOptions) {
		t.Errorf("classifier as pre-trained model: %v, want ErrOptions", err)
	}
	job.Pretrained = filepath.Join(dir, "missing")
	if _, err := Finetune(ctx, job); err == nil {
		t.Error("missing pre-trained model: no error")
	}
	job.Pretrained = ""
	job.Options.Freeze, job.Options.FromScratch = true, true
	if _, err := Finetune(ctx, job); !errors.Is(err, ErrOptions) {
		t.Errorf("--freeze --from-scratch: %v, want ErrOptions", err)
	}
}

// Fine-tuning a saved model follows exactly the path of training the same
// weights from scratch: the pre-trained branch adds nothing of its own.
func TestPretrainedPathMatchesScratch(t *testing.T) {
	ds := twoClassData(t)
	ctx := context.Background()
	scratch := tinyJob(t, ds)
	scratch.Options.Epochs, scratch.Options.LR = 1, 1e-3
	if _, err := Finetune(ctx, scratch); err != nil {
		t.Fatal(err)
	}
	pre, err := model.New(scratch.Options.Config, scratch.Options.Seed)
	if err != nil {
		t.Fatal(err)
	}
	prePath := filepath.Join(t.TempDir(), "pre.safetensors")
	if err := pre.Save(prePath, nil); err != nil {
		t.Fatal(err)
	}
	ft := tinyJob(t, ds)
	ft.Options.Epochs, ft.Options.LR = 1, 1e-3
	ft.Options.FromScratch, ft.Pretrained = false, prePath
	ft.Options.ProbeFirst = false    // the same random head as from scratch, not a probe's
	ft.Options.Pool = model.PoolLast // and the same head input as from scratch
	if _, err := Finetune(ctx, ft); err != nil {
		t.Fatal(err)
	}
	a, err := Load(scratch.Dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(ft.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Model.Params(), b.Model.Params()) {
		t.Error("fine-tuning saved random weights differs from training them from scratch")
	}
}

// LP-FT: the probe is scored as epoch 0, and when fine-tuning only hurts
// (a learning rate that wrecks the trunk) the probe is what is kept: the
// saved trunk is the pre-trained one, bit for bit.
func TestProbeFirst(t *testing.T) {
	ds := twoClassData(t)
	ctx := context.Background()
	cfgJob := tinyJob(t, ds)
	pre, err := model.New(cfgJob.Options.Config, 7)
	if err != nil {
		t.Fatal(err)
	}
	prePath := filepath.Join(t.TempDir(), "pre.safetensors")
	if err := pre.Save(prePath, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		lr        float64
		keepProbe bool
	}{{"wrecking lr", 50, true}, {"sane lr", 1e-3, false}} {
		t.Run(c.name, func(t *testing.T) {
			job := tinyJob(t, ds)
			job.Options.FromScratch, job.Pretrained = false, prePath
			job.Options.ProbeFirst, job.Options.Epochs, job.Options.Patience, job.Options.LR = true, 2, 0, c.lr
			job.Options.ProbeEpochs, job.Options.ProbePatience = 30, 10
			res, err := Finetune(ctx, job)
			if err != nil {
				t.Fatal(err)
			}
			log, err := ReadLog(job.Dir)
			if err != nil {
				t.Fatal(err)
			}
			var probes, epoch0 int
			for _, l := range log {
				if l.Kind == "probe" {
					probes++
				}
				if l.Kind == "valid" && l.Epoch == 0 {
					epoch0++
				}
			}
			if probes == 0 || epoch0 != 1 || res.Epochs != 2 {
				t.Fatalf("log: %d probe lines, %d epoch-0 scores, %d epochs", probes, epoch0, res.Epochs)
			}
			clf, err := Load(job.Dir)
			if err != nil {
				t.Fatal(err)
			}
			trunk := pre.ParamCount()
			same := reflect.DeepEqual(clf.Model.Params()[:trunk], pre.Params())
			if c.keepProbe && (res.BestEpoch != 0 || !same) {
				t.Fatalf("best epoch %d, trunk unchanged %v: the probe should have been kept", res.BestEpoch, same)
			}
			if !c.keepProbe && same && res.BestEpoch != 0 {
				t.Fatal("a fine-tuned epoch was kept but the trunk is the pre-trained one")
			}
		})
	}
}

// A time limit stops the run but still leaves a scored, loadable classifier.
func TestTimeLimitKeepsAModel(t *testing.T) {
	ds := twoClassData(t)
	job := tinyJob(t, ds)
	job.Options.TimeLimit = 1 // nanosecond: stops before the first step
	res, err := Finetune(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != "time limit" || res.BestEpoch != 1 || res.Steps != 0 {
		t.Errorf("result %+v", res)
	}
	if _, err := Load(job.Dir); err != nil {
		t.Error(err)
	}
}

// TestProbeFeatureTimeLimit: a linear probe's feature pass keeps to the
// time limit: with 1 ns it stops after its first batch of training flows
// (drawn at random), trains the head on them, says so in the result, and
// still saves a model that loads. Without a limit every flow is used.
func TestProbeFeatureTimeLimit(t *testing.T) {
	ds := twoClassData(t)
	_, prePath := randomTrunk(t)
	run := func(limit time.Duration) *Result {
		job := tinyJob(t, ds)
		job.Options.FromScratch, job.Options.Freeze = false, true
		job.Options.EvalBatch = 2
		job.Options.TimeLimit = limit
		job.Pretrained = prePath
		res, err := Finetune(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Load(job.Dir); err != nil {
			t.Error(err)
		}
		return res
	}
	whole, cut := run(0), run(1)
	if whole.FeatureCut || whole.TrainFlows <= 2 {
		t.Fatalf("no limit: %d train flows, cut %v", whole.TrainFlows, whole.FeatureCut)
	}
	if !cut.FeatureCut || cut.TrainFlows != 2 || cut.Stopped != "time limit" {
		t.Errorf("1 ns limit: %d train flows of %d, cut %v, stopped %q", cut.TrainFlows, whole.TrainFlows, cut.FeatureCut, cut.Stopped)
	}
}
