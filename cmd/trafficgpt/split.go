package main

import (
	"context"
	"fmt"
	"io"

	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

func init() {
	register(command{name: "split", summary: "split captures by flow into two sets of captures of whole flows (held-out halves A and B)", run: cmdSplit})
}

type splitOptions struct {
	inputs []string
	split  dataset.CaptureSplitOptions
}

func cmdSplit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o splitOptions
	fs := newFlagSet("split", "split -a DIR_A -b DIR_B [--frac 0.5] [--seed N] FILE|DIR...",
		"trafficgpt split -a half-a -b half-b --seed 1 captures/   (then: pre-train on half-a, compare generated flows with half-b)", stderr)
	fs.StringVar(&o.split.DirA, "a", "", "output `folder` of part A (paths under each input folder are kept)")
	fs.StringVar(&o.split.DirB, "b", "", "output `folder` of part B")
	fs.Float64Var(&o.split.FracA, "frac", 0.5, "share of the flows that go to A")
	fs.Uint64Var(&o.split.Seed, "seed", 1, "seed of the split (a flow's part is a hash of seed, file and flow id)")
	addFlowFlags(fs, &o.split.Flow)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := needInputs(pos, "captures"); err != nil {
		return err
	}
	if err := o.split.Validate(); err != nil {
		return usageError("%v", err)
	}
	o.inputs = pos
	return runSplit(ctx, o, stdout)
}

func runSplit(ctx context.Context, o splitOptions, stdout io.Writer) error {
	ins, err := pcap.Find(o.inputs)
	if err != nil {
		return err
	}
	if len(ins) == 0 {
		return fmt.Errorf("no capture files in %v", o.inputs)
	}
	st, err := dataset.SplitCaptures(ctx, ins, o.split)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d files: A %s (%d flows, %d packets), B %s (%d flows, %d packets)\n",
		st.Files, o.split.DirA, st.FlowsA, st.PacketsA, o.split.DirB, st.FlowsB, st.PacketsB)
	return nil
}
