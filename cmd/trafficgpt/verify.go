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
	var ok, bad, mism, packets, empty int
	var tokens, paper int64
	for i, r := range results {
		switch {
		case r.Mismatch != nil:
			mism++
			fmt.Fprintf(stdout, "MISMATCH %s: %v\n", files[i], r.Mismatch)
		case r.Err != nil:
			bad++
			fmt.Fprintf(stdout, "ERROR    %s: %v\n", files[i], inputHint(r.Err, o.keepTrailing))
		default:
			ok++
			if r.Stats.Packets == 0 {
				empty++
				fmt.Fprintf(stdout, "empty    %s: no packets\n", files[i])
				continue
			}
			packets += r.Stats.Packets
			tokens += r.Stats.Tokens
			paper += r.Stats.PaperTokens
			if !o.quiet {
				fmt.Fprintf(stdout, "ok       %s: %d packets, %d flows, %d tokens, %.1f tokens/packet\n",
					files[i], r.Stats.Packets, r.Stats.Flows, r.Stats.Tokens, float64(r.Stats.Tokens)/float64(max(r.Stats.Packets, 1)))
			}
		}
	}
	if line := pcap.DescribeOthers(others); line != "" {
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintf(stdout, "%d files byte-identical (%d of them without packets), %d unreadable, %d mismatched, %d not captures; %d packets, %.1f tokens/packet (paper's layout: %.1f)\n",
		ok, empty, bad, mism, len(others), packets, float64(tokens)/float64(max(packets, 1)), float64(paper)/float64(max(packets, 1)))
	switch {
	case mism > 0:
		return fmt.Errorf("%w: %d of %d files did not round-trip", errMismatch, mism, len(files))
	case bad > 0:
		return unreadableError(bad, len(files))
	case packets == 0:
		return fmt.Errorf("no packets in %d capture files: nothing was verified", len(files))
	}
	return nil
}
