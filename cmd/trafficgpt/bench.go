package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/trafficgpt/trafficgpt/internal/bench"
)

func init() {
	register(command{name: "bench", summary: "measure this machine: tokenizer, sgemm, training and generation speed", run: cmdBench})
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o bench.Options
	var configs string
	fs := newFlagSet("bench", "bench [flags]", "trafficgpt bench --quick", stderr)
	fs.StringVar(&o.Capture, "capture", "", "capture for the tokenizer benchmark (default: the largest shipped demo capture)")
	fs.BoolVar(&o.Quick, "quick", false, "a one-minute version: small model only, context 1024, generation to position 2000")
	fs.IntVar(&o.Context, "ctx", 12032, "training context length")
	fs.IntVar(&o.GenPos, "gen-pos", 12000, "the far generation position")
	fs.StringVar(&configs, "configs", "small,paper", "model presets to time")
	fs.StringVar(&o.Classify, "classify", bench.DefaultClassify, "classifiers to time, comma-separated: CLF[@EARLY][=DATASET] or random:PRESET:LEN[@EARLY]; with =DATASET its test macro-F1 too")
	fs.StringVar(&o.ClassifyInput, "classify-input", "testdata/demo", "captures the classifiers label")
	fs.IntVar(&o.Repeats, "classify-repeats", 3, "passes over --classify-input per classifier")
	fs.StringVar(&o.Curve, "curve", "", "write the classifiers' flows per CPU-second against test macro-F1 as a PNG")
	fs.BoolVar(&o.ClassifyOnly, "classify-only", false, "time the classifiers only")
	fs.StringVar(&o.Table, "table", "", "write the classifiers' trade-off table (Markdown) to this file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("unexpected arguments %v", pos)
	}
	o.Configs = strings.Split(configs, ",")
	if err := o.Validate(); err != nil {
		return usageError("%v", err)
	}
	return runBench(ctx, o, stdout, stderr)
}

func runBench(ctx context.Context, o bench.Options, stdout, stderr io.Writer) error {
	o.Row = func(r bench.Row) { fmt.Fprintf(stderr, "  %s: %s %s\n", r.What, r.Value, r.Note) }
	r, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	return r.WriteText(stdout)
}
