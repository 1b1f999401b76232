package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/evalgen"
	"github.com/trafficgpt/trafficgpt/internal/progress"
)

func init() {
	register(command{
		name:    "eval generate",
		summary: "compare generated captures with real ones: JSD, discriminator, validity, memorisation",
		run:     cmdEvalGenerate,
	})
}

// evalGenerateOptions are the inputs of runEvalGenerate.
type evalGenerateOptions struct {
	Real, Generated, Train []string // files or folders (searched recursively for captures)
	JSON                   string   // write the JSON report here ("" = none, "-" = stdout)
	Plots                  string   // write one PNG per field and feature into this folder
	Seeds                  int      // discriminator runs (seeds 1..Seeds)
	MaxFlows               int      // flows per side for the discriminator and the NN distances
	Trees                  int      // random forest size
	Tshark                 string   // "auto" (when on PATH), "on", "off"
	Workers                int      // capture files read in parallel
	FloorSeed              uint64   // split of the real flows into the floor's halves
	Labels                 string   // per-class rows: "file", "dir" or "" (none)
}

const evalGenerateUsage = "eval generate --real REAL... --generated GEN... [--train TRAIN...] [--json OUT] [--plots DIR]"

func cmdEvalGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts := evalGenerateOptions{}
	fs := newFlagSet("eval generate", evalGenerateUsage,
		"trafficgpt eval generate --real testdata/demo/mqtt.pcap --generated gen.pcap --train testdata/demo --json report.json --plots plots/",
		stderr)
	fs.Func("real", "real capture `files or folders` (repeatable; several paths may follow one flag)", func(s string) error {
		opts.Real = append(opts.Real, s)
		return nil
	})
	fs.Func("generated", "generated capture `files or folders`", func(s string) error {
		opts.Generated = append(opts.Generated, s)
		return nil
	})
	fs.Func("train", "the generator's training captures: enables the memorisation report", func(s string) error {
		opts.Train = append(opts.Train, s)
		return nil
	})
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
	if len(opts.Real) == 0 || len(opts.Generated) == 0 {
		return usageError("need --real and --generated")
	}
	if opts.Seeds < 1 || opts.MaxFlows < 10 || opts.Trees < 1 || opts.Workers < 1 {
		return usageError("--seeds, --trees and --workers must be positive, --max-flows at least 10")
	}
	switch opts.Tshark {
	case "auto", "on", "off":
	default:
		return usageError("--tshark must be auto, on or off, not %q", opts.Tshark)
	}
	if opts.Labels != "" && opts.Labels != "file" && opts.Labels != "dir" {
		return usageError("--labels must be file or dir, not %q", opts.Labels)
	}
	return runEvalGenerate(ctx, opts, stdout, stderr)
}

func runEvalGenerate(ctx context.Context, opts evalGenerateOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	// "-" (one side's capture on standard input) is read once into a
	// temporary file: the evaluation reads each capture twice (tshark).
	sides := []*[]string{&opts.Real, &opts.Generated, &opts.Train}
	if n := countStdin(sides...); n > 1 {
		return usageError("standard input (-) named %d times", n)
	}
	for _, side := range sides {
		for i, p := range *side {
			if p != stdinName {
				continue
			}
			tmp, cleanup, err := seekableInput(p)
			if err != nil {
				return err
			}
			defer cleanup()
			(*side)[i] = tmp
		}
	}
	if opts.Plots != "" {
		if err := os.MkdirAll(opts.Plots, 0o755); err != nil {
			return err
		}
	}
	eo := evalgen.Options{
		Real: opts.Real, Generated: opts.Generated, Train: opts.Train,
		Seeds: opts.Seeds, MaxFlows: opts.MaxFlows, Trees: opts.Trees, Tshark: opts.Tshark, Workers: opts.Workers,
		FloorSeed: opts.FloorSeed, Labels: opts.Labels,
		Warn: func(err error) { fmt.Fprintf(stderr, "trafficgpt eval generate: warning: %v\n", err) },
		Progress: progress.Stages(stderr, func(stage string) string {
			return map[bool]string{true: "seeds", false: "files"}[stage == "discriminator"]
		}),
	}
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
