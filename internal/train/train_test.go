package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

var (
	dsOnce sync.Once
	dsDir  string
	dsErr  error
)

// demoDataset builds (once per test binary) a small dataset from two demo
// captures, flows split 90/10 at random.
func demoDataset(t *testing.T) string {
	t.Helper()
	gen := filepath.Join("..", "..", "testdata", "demo") // two real classes in the repository
	dsOnce.Do(func() {
		tmp, err := os.MkdirTemp("", "train-test-ds-")
		if err != nil {
			dsErr = err
			return
		}
		dsDir = filepath.Join(tmp, "ds")
		var files []dataset.InputFileRoot
		for _, f := range []string{"dns.pcap", "mqtt.pcap"} {
			files = append(files, dataset.InputFileRoot{Path: filepath.Join(gen, f), Root: gen})
		}
		_, dsErr = dataset.Build(context.Background(), dsDir, files, dataset.BuildOptions{
			Split: []dataset.SplitFrac{{Name: "train", Frac: 0.9}, {Name: "valid", Frac: 0.1}},
			Group: "flow", Seed: 1, MinPackets: 1, Flow: flow.DefaultConfig(), Jobs: 2})
	})
	if dsErr != nil {
		t.Fatalf("building the test dataset: %v", dsErr)
	}
	return dsDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dsDir != "" {
		os.RemoveAll(filepath.Dir(dsDir))
	}
	os.Exit(code)
}

func tinyOptions(steps int) Options {
	c, _ := model.Preset("tiny")
	return Options{Config: c, Context: 128, Batch: 4, Accum: 1, Steps: steps, LR: 1e-2, MinLR: 1e-3,
		Warmup: 20, Clip: 1, WeightDecay: 0.1, Dropout: -1, EvalEvery: 100, EvalBatches: 4, SaveEvery: 100, Seed: 7}
}

func run(t *testing.T, ctx context.Context, dir string, o Options, resume bool, onStep func(Status)) (*Result, error) {
	t.Helper()
	data, ds, err := OpenData(demoDataset(t), o)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	return Run(ctx, Job{Dir: dir, Options: o, Data: data, Resume: resume, OnStep: onStep,
		Warn: func(s string) { t.Log("warn:", s) }})
}

func TestPretrainTinyLearns(t *testing.T) {
	const steps = 300
	dir := t.TempDir()
	res, err := run(t, context.Background(), dir, tinyOptions(steps), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	uniform := math.Log(512)
	if res.Valid == nil {
		t.Fatal("no valid metrics")
	}
	t.Logf("step %d: train loss %.3f, valid %+v, %.0f tokens/s", res.Step, res.TrainLoss, *res.Valid, res.TokensPerSec)
	if bound := uniform / 2; res.Valid.Loss > bound {
		t.Errorf("valid loss %.3f after %d steps, want < %.3f (uniform %.3f)", res.Valid.Loss, steps, bound, uniform)
	}
	for _, k := range []string{"structure", "time", "header", "payload"} {
		if _, ok := res.Valid.KindLoss[k]; !ok {
			t.Errorf("no %s loss in %v", k, res.Valid.KindLoss)
		}
	}
	// The directory is self-describing.
	for _, f := range []string{ModelFile, StateFile, ConfigFile, LogFile, PlotFile} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	m, meta, err := model.Load(filepath.Join(dir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config != tinyOptions(steps).ModelConfig() {
		t.Errorf("stored config %+v", m.Config)
	}
	if meta[MetaStep] != itoa(steps) || meta[MetaDatasetHash] == "" || meta[MetaDatasetPath] == "" || meta[model.MetaCodecVersion] != itoa(codec.Version) {
		t.Errorf("metadata %v", meta)
	}
	lines, err := ReadLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	var train, valid int
	for _, l := range lines {
		switch l.Kind {
		case "train":
			train++
		case "valid":
			valid++
		}
	}
	if train != steps || valid != steps/100+1+boolInt(steps%100 != 0) {
		t.Errorf("log has %d train and %d valid lines for %d steps", train, valid, steps)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestResumeIsBitIdentical cancels a run mid-way (between checkpoints, with
// gradient accumulation and dropout), resumes it and compares the final
// weights with an uninterrupted run's, bit for bit.
func TestResumeIsBitIdentical(t *testing.T) {
	o := tinyOptions(30)
	o.Accum, o.Dropout, o.SaveEvery, o.EvalEvery, o.Batch, o.Context = 2, 0.1, 8, 10, 2, 64
	full := t.TempDir()
	if _, err := run(t, context.Background(), full, o, false, nil); err != nil {
		t.Fatal(err)
	}

	cut := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	res, err := run(t, ctx, cut, o, false, func(s Status) {
		if s.Step == 13 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled run: err = %v, want context.Canceled", err)
	}
	if res.Step != 13 || res.Stopped != "canceled" {
		t.Fatalf("canceled at step %d (%q), want 13", res.Step, res.Stopped)
	}
	if st, err := ReadState(cut); err != nil || st.Step != 13 {
		t.Fatalf("state after cancel: %+v, %v", st, err)
	}
	// A kill between the state (the commit point) and its model copy leaves
	// model.safetensors of another step: the resume must not care.
	other, _ := os.ReadFile(filepath.Join(full, ModelFile))
	if err := os.WriteFile(filepath.Join(cut, ModelFile), other, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = run(t, context.Background(), cut, o, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StartStep != 13 || res.Step != 30 {
		t.Errorf("resumed from %d to %d, want 13 to 30", res.StartStep, res.Step)
	}
	a, _, err := model.Load(filepath.Join(full, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := model.Load(filepath.Join(cut, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := a.Params(), b.Params()
	for i := range pa {
		if math.Float32bits(pa[i]) != math.Float32bits(pb[i]) {
			t.Fatalf("param %d: uninterrupted %g, resumed %g", i, pa[i], pb[i])
		}
	}
	// The logs agree step by step.
	la, _ := ReadLog(full)
	lb, _ := ReadLog(cut)
	if len(la) != len(lb) {
		t.Fatalf("log lines: %d uninterrupted, %d resumed", len(la), len(lb))
	}
	for i := range la {
		if la[i].Kind != lb[i].Kind || la[i].Step != lb[i].Step || la[i].Loss != lb[i].Loss {
			t.Fatalf("log line %d: %+v vs %+v", i, la[i], lb[i])
		}
	}
}

func TestBadInput(t *testing.T) {
	ds := demoDataset(t)
	o := tinyOptions(4)
	trained := t.TempDir()
	if _, err := run(t, context.Background(), trained, o, false, nil); err != nil {
		t.Fatal(err)
	}
	other := o
	other.Config.Width = 64
	huge := o
	huge.MemLimit = 1 << 20
	tests := []struct {
		name   string
		dir    string
		o      Options
		resume bool
		want   error
		msg    string
	}{
		{"resume with another config", trained, other, true, ErrResume, "another model config"},
		{"fresh run over a run", trained, o, false, ErrExists, "--resume"},
		{"resume without checkpoint", t.TempDir(), o, true, ErrResume, "no trainer.state"},
		{"resume of a missing directory", filepath.Join(t.TempDir(), "nope"), o, true, ErrResume, "does not exist"},
		{"context beyond memory", t.TempDir(), huge, false, ErrMemory, "lower --ctx"},
		{"bad options", t.TempDir(), Options{Config: o.Config, Context: 8, Batch: 1, Accum: 1, Steps: 1}, false, ErrOptions, "lr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := listDir(tc.dir)
			_, err := run(t, context.Background(), tc.dir, tc.o, tc.resume, func(Status) { t.Error("trained despite bad input") })
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
			if after := listDir(tc.dir); after != before {
				t.Errorf("directory changed: %q -> %q", before, after)
			}
		})
	}
	// A dataset of another codec version is refused by OpenData.
	bad := filepath.Join(t.TempDir(), "ds")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile(filepath.Join(ds, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	old := strings.Replace(string(man), `"codec_version": `+itoa(codec.Version), `"codec_version": 999`, 1)
	if old == string(man) {
		old = strings.Replace(string(man), `"codec_version":`+itoa(codec.Version), `"codec_version":999`, 1)
	}
	if err := os.WriteFile(filepath.Join(bad, "manifest.json"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenData(bad, o); err == nil || !strings.Contains(err.Error(), "codec version") {
		t.Errorf("dataset of codec version 999: err = %v", err)
	}
	if _, _, err := OpenData(filepath.Join(t.TempDir(), "missing"), o); !errors.Is(err, dataset.ErrDataset) {
		t.Errorf("missing dataset: err = %v", err)
	}
}

func listDir(dir string) string {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

// fakeLoader repeats one sequence; its state is the batch counter.
type fakeLoader struct {
	seq []int32
	n   int
}

func (f *fakeLoader) Next(tok, tgt []int32, kinds []uint8) error {
	for i := range tok {
		j := (i + f.n) % (len(f.seq) - 1)
		tok[i], tgt[i] = f.seq[j], f.seq[j+1]
		if kinds != nil {
			kinds[i] = codec.KindPayload
		}
	}
	f.n++
	return nil
}
func (f *fakeLoader) State() ([]byte, error) { return []byte(itoa(f.n)), nil }
func (f *fakeLoader) Restore(b []byte) error {
	f.n = 0
	for _, c := range b {
		f.n = 10*f.n + int(c-'0')
	}
	return nil
}

// TestAccumulationMatchesLargeBatch: Accum micro-batches of B give the same
// step as one batch of Accum*B (up to float rounding).
func TestAccumulationMatchesLargeBatch(t *testing.T) {
	seq := make([]int32, 97)
	for i := range seq {
		seq[i] = int32((i * 37) % 300)
	}
	final := func(B, A int) []float32 {
		o := tinyOptions(3)
		o.Batch, o.Accum, o.Context, o.EvalEvery, o.EvalBatches = B, A, 16, 0, 0
		dir := t.TempDir()
		ld := &fakeLoader{seq: seq}
		// Same data: the large batch's rows are the micro-batches' rows.
		if _, err := Run(context.Background(), Job{Dir: dir, Options: o, Data: Data{Train: &rowLoader{ld, A}}}); err != nil {
			t.Fatal(err)
		}
		m, _, err := model.Load(filepath.Join(dir, ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		return m.Params()
	}
	a, b := final(4, 1), final(1, 4)
	var maxd float64
	for i := range a {
		maxd = max(maxd, math.Abs(float64(a[i]-b[i])))
	}
	if maxd > 1e-4 {
		t.Errorf("accumulated and large-batch weights differ by up to %g", maxd)
	}
}

// rowLoader makes each row of a batch one fakeLoader batch, so batch 4 and
// 4 micro-batches of 1 see the same rows.
type rowLoader struct {
	f *fakeLoader
	_ int
}

func (r *rowLoader) Next(tok, tgt []int32, kinds []uint8) error {
	const T = 16
	for b := 0; b < len(tok)/T; b++ {
		var k []uint8
		if kinds != nil {
			k = kinds[b*T : (b+1)*T]
		}
		if err := r.f.Next(tok[b*T:(b+1)*T], tgt[b*T:(b+1)*T], k); err != nil {
			return err
		}
	}
	return nil
}
func (r *rowLoader) State() ([]byte, error) { return r.f.State() }
func (r *rowLoader) Restore(b []byte) error { return r.f.Restore(b) }

// TestStateChecksum: a flipped byte in trainer.state is an error, not a
// resume from damaged weights or optimizer moments.
func TestStateChecksum(t *testing.T) {
	o := tinyOptions(4)
	o.SaveEvery, o.EvalEvery = 4, 100
	dir := t.TempDir()
	if _, err := run(t, context.Background(), dir, o, false, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, StateFile)
	b, _ := os.ReadFile(p)
	for _, off := range []int{len(stateMagic) + 20, len(b) / 2, len(b) - 9} {
		bad := append([]byte(nil), b...)
		bad[off] ^= 1
		os.WriteFile(p, bad, 0o644)
		if _, err := ReadState(dir); !errors.Is(err, ErrResume) || !errors.Is(err, codec.ErrChecksum) {
			t.Errorf("byte %d flipped: %v", off, err)
		}
	}
}
