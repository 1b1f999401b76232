package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/evalgen"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
	"github.com/trafficgpt/trafficgpt/internal/progress"
)

func init() {
	register(command{
		name:    "eval generate",
		summary: "compare generated captures with real ones: JSD, discriminator, validity, memorisation",
		run:     cmdEvalGenerate,
	})
}

// evalGenerateOptions are the inputs of runEvalGenerate: the evaluation's
// and where its report goes.
type evalGenerateOptions struct {
	evalgen.Options
	JSON  string // write the JSON report here ("" = none, "-" = stdout)
	Plots string // write one PNG per field and feature into this folder
}

const evalGenerateUsage = "eval generate --real REAL... --generated GEN... [--train TRAIN...] [--json OUT] [--plots DIR]"

func cmdEvalGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts := evalGenerateOptions{}
	fs := newFlagSet("eval generate", evalGenerateUsage,
		"trafficgpt eval generate --real testdata/demo/mqtt.pcap --generated gen.pcap --train testdata/demo --json report.json --plots plots/",
		stderr)
	fs.Func("real", "real capture `files or folders` (repeatable; several paths may follow one flag)", appendTo(&opts.Real))
	fs.Func("generated", "generated capture `files or folders`", appendTo(&opts.Generated))
	fs.Func("train", "the generator's training captures: enables the memorisation report", appendTo(&opts.Train))
	fs.StringVar(&opts.JSON, "json", "", "write the JSON report to `file` (- for stdout)")
	fs.StringVar(&opts.Plots, "plots", "", "write a PNG per header field and flow feature into `dir`")
	fs.IntVar(&opts.Seeds, "seeds", 5, "discriminator runs with different seeds")
	fs.IntVar(&opts.MaxFlows, "max-flows", 5000, "flows per side sampled for the discriminator and nearest-neighbour distances")
	fs.IntVar(&opts.Trees, "trees", 100, "trees of the discriminator's random forest")
	fs.StringVar(&opts.Tshark, "tshark", "auto", "expert-info check of both sides with tshark: auto (if on PATH), on, off")
	fs.IntVar(&opts.Workers, "workers", 2, "capture files read in parallel")
	fs.Uint64Var(&opts.FloorSeed, "floor-seed", 1, "seed of the split of the real flows into the two halves whose comparison is the floor")
	fs.StringVar(&opts.Labels, "labels", "", "per-class rows, classes named like dataset build: file (file name) or dir (first folder under each argument)")
	pos, err := parseFlags(fs, spreadMultiFlags(args, "real", "generated", "train"))
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("unexpected argument %q (paths follow --real, --generated or --train)", pos[0])
	}
	if err := opts.Validate(); err != nil {
		return usageError("%v", err)
	}
	return runEvalGenerate(ctx, opts, stdout, stderr)
}

func runEvalGenerate(ctx context.Context, opts evalGenerateOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	// "-" (one side's capture on standard input) is read once into a
	// temporary file: the evaluation reads each capture twice (tshark).
	cleanup, err := pcap.ReopenStdin(stdin, &opts.Real, &opts.Generated, &opts.Train)
	if errors.Is(err, pcap.ErrStdinTwice) {
		return usageError("%v", err)
	} else if err != nil {
		return err
	}
	defer cleanup()
	if opts.Plots != "" {
		if err := os.MkdirAll(opts.Plots, 0o755); err != nil {
			return err
		}
	}
	eo := opts.Options
	eo.Warn = func(err error) { fmt.Fprintf(stderr, "trafficgpt eval generate: warning: %v\n", err) }
	eo.Progress = progress.Stages(stderr, func(stage string) string {
		return map[bool]string{true: "seeds", false: "files"}[stage == "discriminator"]
	})
	rep, err := evalgen.Run(ctx, eo)
	if err != nil {
		return err
	}
	if opts.Plots != "" {
		if err := rep.WritePlots(opts.Plots); err != nil {
			return err
		}
	}
	table := stdout
	if opts.JSON == "-" {
		table = stderr // stdout carries the JSON alone
	}
	rep.WriteText(table, eo, time.Since(start))
	return atomicfile.WriteJSON(opts.JSON, rep, stdout)
}
