package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
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
		capture = pcap.Largest("testdata/demo", "../shared/data/dev-v1/generated")
	}
	if capture != "" {
		data, err := os.ReadFile(capture)
		if err != nil {
			return err
		}
		best, err := codec.BenchTokenize(ctx, data, 5)
		if err != nil {
			return fmt.Errorf("%s: %w", capture, err)
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
		tps, gfl, err := model.BenchTrainStep(c, o.ctx)
		if err != nil {
			return fmt.Errorf("bench %s: %w", name, err)
		}
		add(fmt.Sprintf("train %s, T=%d", name, o.ctx), fmt.Sprintf("%.0f tokens/s", tps),
			fmt.Sprintf("(%.0f GFLOP/s = %.0f%% of sgemm)", gfl, 100*gfl/gf))
	}
	// Recurrent generation: cost per token near the start and far out.
	c, _ := model.Preset("small")
	near, far, err := model.BenchStep(ctx, c, 100, o.genPos)
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
		st, err := sample.Bench(ctx, c, batch, flows)
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
	add("peak memory", fmt.Sprintf("%.0f MB", float64(model.PeakRSS())/1e6), "(VmHWM of this process)")
	return printBenchTable(stdout, rows)
}
