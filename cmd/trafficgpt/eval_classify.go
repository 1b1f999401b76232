package main

import (
	"context"
	"fmt"
	"io"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/classify"
	"github.com/trafficgpt/trafficgpt/internal/progress"
)

func init() {
	register(command{name: "eval classify", summary: "score a classifier on a dataset split, next to a random-forest baseline", run: cmdEvalClassify})
}

type evalClassifyOptions struct {
	classify.ReportOptions
	json, plots string
}

func cmdEvalClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o evalClassifyOptions
	fs := newFlagSet("eval classify", "eval classify --model CLF --data DIR [--split test] [--json OUT] [--plots DIR]",
		"trafficgpt eval classify --model clf --data ds --json report.json --plots plots/", stderr)
	fs.StringVar(&o.Model, "model", "", "classifier directory or .safetensors file")
	fs.StringVar(&o.Data, "data", "", "labelled dataset directory built with the classifier's view")
	fs.StringVar(&o.Split, "split", "test", "split to score")
	fs.StringVar(&o.json, "json", "", "write the JSON report to `file` (- for stdout)")
	fs.StringVar(&o.plots, "plots", "", "write confusion-matrix heat maps (PNG) into `dir`")
	fs.BoolVar(&o.NoBaseline, "no-baseline", false, "skip the random-forest baseline (it re-reads the dataset's captures)")
	fs.IntVar(&o.Batch, "batch", 32, "flows per forward pass")
	fs.IntVar(&o.Baseline.Packets, "baseline-packets", 20, "packets per flow the baseline's features look at")
	fs.IntVar(&o.Baseline.Trees, "trees", 100, "trees of the baseline's random forest")
	fs.Uint64Var(&o.Baseline.Seed, "seed", 1, "seed of the baseline's forest")
	fs.StringVar(&o.Unknown, "unknown", "", "open-set check: a dataset (the classifier's view) of classes it was not trained on; reports AUROC and rejection rates")
	fs.Float64Var(&o.FRR, "frr", 0.01, "with --unknown: false-rejection rate on the valid split at which each open-set score is thresholded")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("unexpected arguments %v", pos)
	}
	if err := o.ReportOptions.Validate(); err != nil {
		return usageError("%v", err)
	}
	return runEvalClassify(ctx, o, stdout, stderr)
}

func runEvalClassify(ctx context.Context, o evalClassifyOptions, stdout, stderr io.Writer) error {
	var pr *progress.Bar
	o.Warn = func(w string) { fmt.Fprintf(stderr, "warning: %s\n", w) }
	o.Progress = func(done, total int) {
		if pr == nil {
			pr = progress.New(stderr, "eval classify", "flows", float64(total))
		}
		pr.Set(float64(done), "")
	}
	r, err := classify.EvalReport(ctx, o.ReportOptions)
	pr.Finish()
	if err != nil {
		return err
	}
	if o.plots != "" {
		if err := r.WritePlots(o.plots); err != nil {
			return err
		}
	}
	if err := atomicfile.WriteJSON(o.json, r, stdout); err != nil || o.json == atomicfile.Stdout {
		return err // the JSON alone on stdout
	}
	r.WriteText(stdout)
	return nil
}
