package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/sample"
)

func init() {
	register(command{name: "bench", summary: "measure this machine: tokenizer, sgemm, training and generation speed", run: cmdBench})
}

type benchOptions struct {
	capture string
	quick   bool
	ctx     int
	genPos  int
	configs []string
	// classification rows (bench_classify.go)
	classify      string
	classifyInput string
	curve, table  string
	repeats       int
	classifyOnly  bool
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o benchOptions
	var configs string
	fs := newFlagSet("bench", "bench [flags]", "trafficgpt bench --quick", stderr)
	fs.StringVar(&o.capture, "capture", "", "capture for the tokenizer benchmark (default: the largest shipped demo capture)")
	fs.BoolVar(&o.quick, "quick", false, "a one-minute version: small model only, context 1024, generation to position 2000")
	fs.IntVar(&o.ctx, "ctx", 12032, "training context length")
	fs.IntVar(&o.genPos, "gen-pos", 12000, "the far generation position")
	fs.StringVar(&configs, "configs", "small,paper", "model presets to time")
	fs.StringVar(&o.classify, "classify", defaultClassifyBench, "classifiers to time, comma-separated: CLF[@EARLY][=DATASET] or random:PRESET:LEN[@EARLY]; with =DATASET its test macro-F1 too")
	fs.StringVar(&o.classifyInput, "classify-input", "testdata/demo", "captures the classifiers label")
	fs.IntVar(&o.repeats, "classify-repeats", 3, "passes over --classify-input per classifier")
	fs.StringVar(&o.curve, "curve", "", "write the classifiers' flows per CPU-second against test macro-F1 as a PNG")
	fs.BoolVar(&o.classifyOnly, "classify-only", false, "time the classifiers only")
	fs.StringVar(&o.table, "table", "", "write the classifiers' trade-off table (Markdown) to this file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("unexpected arguments %v", pos)
	}
	o.configs = strings.Split(configs, ",")
	if o.quick {
		o.ctx, o.genPos, o.configs, o.repeats = 1024, 2000, []string{"small"}, 1
	}
	return runBench(ctx, o, stdout, stderr)
}

// benchRow is one line of the table.
type benchRow struct{ what, value, note string }

func runBench(ctx context.Context, o benchOptions, stdout, stderr io.Writer) error {
	var rows []benchRow
	add := func(what, value, note string) {
		rows = append(rows, benchRow{what, value, note})
		fmt.Fprintf(stderr, "  %s: %s %s\n", what, value, note)
	}
	if o.classifyOnly {
		return benchClassifyRows(ctx, o, stdout, add, &rows)
	}
	// Tokenizer against tcpdump's copy rate on the same file.
	capture := o.capture
	if capture == "" {
		capture = largestCapture("testdata/demo", "../shared/data/dev-v1/generated")
	}
	if capture != "" {
		data, err := os.ReadFile(capture)
		if err != nil {
			return err
		}
		best := time.Duration(1 << 62)
		for i := 0; i < 5; i++ {
			t0 := time.Now()
			if _, err := codec.Tokenize(ctx, bytes.NewReader(data), io.Discard, codec.TokenizeOptions{}); err != nil {
				return fmt.Errorf("%s: %w", capture, err)
			}
			best = min(best, time.Since(t0))
		}
		mbs := float64(len(data)) / best.Seconds() / 1e6
		add("tokenize", fmt.Sprintf("%.0f MB/s", mbs), fmt.Sprintf("(%s, %.1f MB, lossless check on, 1 core)", filepath.Base(capture), float64(len(data))/1e6))
		if td, err := exec.LookPath("tcpdump"); err == nil {
			tbest := time.Duration(1 << 62)
			for i := 0; i < 5; i++ {
				t0 := time.Now()
				if err := exec.CommandContext(ctx, td, "-r", capture, "-w", "/dev/null").Run(); err != nil {
					break
				}
				tbest = min(tbest, time.Since(t0))
			}
			tmbs := float64(len(data)) / tbest.Seconds() / 1e6
			add("tcpdump -r X -w /dev/null", fmt.Sprintf("%.0f MB/s", tmbs), fmt.Sprintf("(tokenize/tcpdump = %.2f; tcpdump's time includes its start-up)", mbs/tmbs))
		}
	}
	// sgemm, the reference for training throughput.
	// The best of three probes: one probe swings with whatever else runs.
	gf := 0.0
	for i := 0; i < 3; i++ {
		gf = max(gf, model.MeasureGFLOPS(1024, time.Second))
	}
	add("sgemm 1024^3", fmt.Sprintf("%.0f GFLOP/s", gf), fmt.Sprintf("(%s, %d threads)", model.Backend(), model.Threads()))
	// Training steps.
	for _, name := range o.configs {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := model.Preset(name)
		if err != nil {
			return usageError("%v", err)
		}
		tps, gfl, err := benchTrainStep(c, o.ctx)
		if err != nil {
			return fmt.Errorf("bench %s: %w", name, err)
		}
		add(fmt.Sprintf("train %s, T=%d", name, o.ctx), fmt.Sprintf("%.0f tokens/s", tps),
			fmt.Sprintf("(%.0f GFLOP/s = %.0f%% of sgemm)", gfl, 100*gfl/gf))
	}
	// Recurrent generation: cost per token near the start and far out.
	c, _ := model.Preset("small")
	near, far, err := benchGenerate(ctx, c, 100, o.genPos)
	if err != nil {
		return err
	}
	add("generate small, position 100", fmt.Sprintf("%.0f tokens/s", near), "(batch 1)")
	add(fmt.Sprintf("generate small, position %d", o.genPos), fmt.Sprintf("%.0f tokens/s", far), fmt.Sprintf("(%.2fx the rate at 100)", far/near))
	// Batched sampling end to end (grammar, rules, top-k, model): the
	// same flows at batch 1 and batch 8.
	flows := 32
	if o.quick {
		flows = 4
	}
	var rate [2]float64
	for i, batch := range []int{1, 8} {
		st, err := benchSampling(ctx, c, batch, flows)
		if err != nil {
			return err
		}
		rate[i] = st.TokensPerSecond()
		add(fmt.Sprintf("sample small, batch %d", batch), fmt.Sprintf("%.0f tokens/s", rate[i]),
			fmt.Sprintf("(%d flows of <= 4 packets, %.0f%% of row-steps busy)", flows, 100*float64(st.Tokens)/float64(max(st.Steps*int64(batch), 1))))
	}
	add("sample small, batch 8 / batch 1", fmt.Sprintf("%.2fx", rate[1]/rate[0]), "(random weights, top-k 40)")
	if err := benchClassifyRows(ctx, o, nil, add, &rows); err != nil {
		return err
	}
	add("peak memory", fmt.Sprintf("%.0f MB", float64(peakRSSBytes())/1e6), "(VmHWM of this process)")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "benchmark\tresult\tnote\n")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.what, r.value, r.note)
	}
	return tw.Flush()
}

// benchTrainStep times forward+backward at batch 1 and context T (one
// warm-up step, then the best of two).
func benchTrainStep(c model.Config, T int) (tokensPerSec, gflops float64, err error) {
	c.Dropout = 0
	m, err := model.New(c, 1)
	if err != nil {
		return 0, 0, err
	}
	m.Allocate(1, T)
	r := rand.New(rand.NewPCG(1, 2))
	tok, tgt := make([]int32, T), make([]int32, T)
	for i := range tok {
		tok[i] = int32(r.IntN(256))
		tgt[i] = int32(r.IntN(256))
	}
	best := time.Duration(1 << 62)
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		m.ZeroGrad()
		if _, err := m.Forward(tok, tgt, 1, T); err != nil {
			return 0, 0, err
		}
		if err := m.Backward(); err != nil {
			return 0, 0, err
		}
		if i > 0 {
			best = min(best, time.Since(t0))
		}
	}
	tps := float64(T) / best.Seconds()
	return tps, model.TrainFLOPsPerToken(c, T) * tps / 1e9, nil
}

// benchGenerate measures Step's rate at two positions: two states are
// advanced to near and far, then timed in alternating rounds of 16 tokens
// (128 tokens each in all), so that a change of machine load or clock
// speed during the run affects both alike.
func benchGenerate(ctx context.Context, c model.Config, near, far int) (float64, float64, error) {
	m, err := model.New(c, 1)
	if err != nil {
		return 0, 0, err
	}
	tok := []int32{7}
	states := make([]*model.State, 2)
	for i, at := range []int{near, far} {
		if states[i], err = m.NewState(1); err != nil {
			return 0, 0, err
		}
		for pos := 0; pos < at; pos++ {
			if pos&1023 == 0 && ctx.Err() != nil {
				return 0, 0, ctx.Err()
			}
			if _, err := m.Step(states[i], tok); err != nil {
				return 0, 0, err
			}
		}
	}
	const rounds, per = 8, 16
	var spent [2]time.Duration
	for range rounds {
		for i, st := range states {
			t0 := time.Now()
			for range per {
				if _, err := m.Step(st, tok); err != nil {
					return 0, 0, err
				}
			}
			spent[i] += time.Since(t0)
		}
	}
	return rounds * per / spent[0].Seconds(), rounds * per / spent[1].Seconds(), nil
}

// benchSampling generates flows with a randomly initialised model at the
// given batch (at most 4 packets and 600 tokens per flow, top-k 40).
func benchSampling(ctx context.Context, c model.Config, batch, flows int) (sample.Stats, error) {
	m, err := model.New(c, 1)
	if err != nil {
		return sample.Stats{}, err
	}
	o := sample.Options{Sampling: sample.Sampling{Temperature: 1, TopK: 40}, Seed: 1, Batch: batch,
		MaxPackets: 4, MaxTokens: 600, Label: -1, Refill: 4096}
	return sample.Generate(ctx, m, flows, o, func(*sample.Flow) error { return nil })
}

// largestCapture returns the largest capture file in the first folder that has one.
func largestCapture(dirs ...string) string {
	for _, d := range dirs {
		files, err := captureInputs([]string{d})
		if err != nil || len(files) == 0 {
			continue
		}
		best, size := "", int64(-1)
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && fi.Size() > size {
				best, size = f, fi.Size()
			}
		}
		return best
	}
	return ""
}

// peakRSSBytes reads VmHWM from /proc/self/status.
func peakRSSBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
