package main

import (
	"context"
	"fmt"
	"io"

	"github.com/trafficgpt/trafficgpt/internal/classify"
	"github.com/trafficgpt/trafficgpt/internal/progress"
)

func init() {
	register(command{name: "classify", summary: "label the flows of captures with a fine-tuned classifier", run: cmdClassify})
}

type classifyOptions struct {
	model  string
	format string
	inputs []string
	cap    classify.CaptureOptions
	live   liveFlags
}

func cmdClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o classifyOptions
	fs := newFlagSet("classify", "classify --model CLF [flags] IN...|--interface IF",
		"trafficgpt classify --model clf --format csv --early 3 capture.pcapng > flows.csv   |   trafficgpt classify --model clf --early 3 --interface eth0 --filter 'tcp or udp'", stderr)
	fs.StringVar(&o.model, "model", "", "classifier directory or .safetensors file (trafficgpt finetune)")
	fs.StringVar(&o.format, "format", "text", "output: text (aligned columns), csv or jsonl")
	fs.IntVar(&o.cap.MinPackets, "min-packets", -1, "skip flows with fewer packets (-1: the training dataset's --min-packets)")
	fs.IntVar(&o.cap.Early, "early", 0, "decide at each flow's K-th packet, from its first K packets (0: when --len tokens are seen or the flow ends)")
	fs.IntVar(&o.cap.Batch, "batch", 16, "flows per forward pass at most (the decided flows waiting are taken together)")
	fs.BoolVar(&o.cap.NoOpenSet, "no-unknown", false, "give every flow its best class, even one the open-set rule (openset.json) would call unknown")
	fs.BoolVar(&o.cap.KeepTrailing, "keep-trailing", false, "accept captures cut mid-record (classify what is complete)")
	o.live.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if o.model == "" {
		return usageError("need --model CLF")
	}
	if err := checkFormat(o.format); err != nil {
		return err
	}
	if err := o.cap.Validate(); err != nil {
		return usageError("%v", err)
	}
	if err := o.live.check(pos); err != nil {
		return err
	}
	if o.live.active() {
		pos = []string{o.live.name()}
	}
	if err := needInputs(pos, "capture files or folders (or --interface IF)"); err != nil {
		return err
	}
	o.inputs = pos
	return runClassify(ctx, o, stdout, stderr)
}

func runClassify(ctx context.Context, o classifyOptions, stdout, stderr io.Writer) error {
	c, err := classify.Load(o.model)
	if err != nil {
		return err
	}
	files, err := captureInputs(o.inputs)
	if o.live.active() {
		files, err = []string{o.live.name()}, nil
	}
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no capture files in %v", o.inputs)
	}
	if c.OpenSet == nil && !o.cap.NoOpenSet {
		fmt.Fprintf(stderr, "classify: %s has no open-set rule (%s): every flow gets one of its %d classes, none is unknown (trafficgpt calibrate adds one)\n",
			o.model, classify.OpenSetFile, len(c.Labels))
	}
	fw := classify.NewResultWriter(stdout, o.format, c.Labels)
	o.cap.Flush = fw.Flush
	total := 0
	var failed []string
	pr := progress.New(stderr, "classify", "B", progress.FileBytes(files))
	defer pr.Finish()
	for _, path := range files {
		n, err := classifyFile(ctx, c, path, o.cap, fw, &o.live, pr)
		total += n
		if err != nil {
			if ctx.Err() != nil {
				fw.Flush()
				return ctx.Err()
			}
			fmt.Fprintf(stderr, "trafficgpt classify: %s: %v\n", path, inputHint(err, o.cap.KeepTrailing))
			failed = append(failed, path)
		}
		// Results of a file are on stdout before the next one starts.
		if err := fw.Flush(); err != nil {
			return err
		}
	}
	pr.Finish()
	fmt.Fprintf(stderr, "classify: %d flows from %d inputs\n", total, len(files)-len(failed))
	if len(failed) > 0 {
		return unreadableError(len(failed), len(files), failed...)
	}
	return nil
}

func classifyFile(ctx context.Context, c *classify.Classifier, path string, o classify.CaptureOptions, fw *classify.ResultWriter, live *liveFlags, pr *progress.Bar) (int, error) {
	f, ctx, err := openSource(ctx, path, live)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if fi, err := statOf(f); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return 0, fmt.Errorf("%w: empty file", classify.ErrEmpty)
	}
	return c.Capture(ctx, pr.Reader(f), o, func(r *classify.FlowResult) error { return fw.Write(path, r) })
}
