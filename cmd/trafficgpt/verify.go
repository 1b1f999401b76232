package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
	"github.com/trafficgpt/trafficgpt/internal/progress"
)

func init() {
	register(command{name: "verify", summary: "round-trip captures through the token codec in memory and compare bytes", run: cmdVerify})
}

type verifyOptions struct {
	inputs       []string
	keepTrailing bool
	jobs         int
	quiet        bool
	flow         flow.Config
}

func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o verifyOptions
	fs := newFlagSet("verify", "verify [flags] FILE|DIR...", "trafficgpt verify testdata/demo", stderr)
	fs.BoolVar(&o.keepTrailing, "keep-trailing", false, "keep bytes after the last complete record verbatim instead of failing")
	fs.IntVar(&o.jobs, "j", runtime.GOMAXPROCS(0), "files verified in parallel")
	fs.BoolVar(&o.quiet, "q", false, "print only failures and the summary")
	addFlowFlags(fs, &o.flow)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := needInputs(pos, "captures or folders to verify"); err != nil {
		return err
	}
	o.inputs = pos
	return runVerify(ctx, o, stdout, stderr)
}

func runVerify(ctx context.Context, o verifyOptions, stdout, stderr io.Writer) error {
	files, others, err := expandInputs(o.inputs)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		why := pcap.DescribeOthers(others)
		if why == "" {
			why = "the folders are empty"
		}
		return fmt.Errorf("no capture files found in %v: %s", o.inputs, why)
	}
	pr := progress.New(stderr, "verify", "files", float64(len(files)))
	results, err := codec.VerifyFiles(ctx, files, codec.VerifyOptions{Jobs: o.jobs, Prepare: seekableInput, Done: func() { pr.Add(1, "") },
		Tokenize: codec.TokenizeOptions{Flow: o.flow, KeepTrailing: o.keepTrailing}})
	pr.Finish()
	if err != nil {
		return err
	}
	r := codec.NewVerifyReport(files, results, others)
	r.WriteText(stdout, o.quiet, func(err error) error { return inputHint(err, o.keepTrailing) })
	switch {
	case r.Mismatched > 0:
		return fmt.Errorf("%w: %d of %d files did not round-trip", errMismatch, r.Mismatched, len(files))
	case r.Unreadable > 0:
		return unreadableError(r.Unreadable, len(files))
	case r.Packets == 0:
		return fmt.Errorf("no packets in %d capture files: nothing was verified", len(files))
	}
	return nil
}
