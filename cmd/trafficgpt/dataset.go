package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
	"github.com/trafficgpt/trafficgpt/internal/progress"
)

func init() {
	register(command{name: "dataset build", summary: "labelled captures -> token shards with leakage-safe splits", run: cmdDatasetBuild})
	register(command{name: "dataset merge", summary: "join the parts of a sharded build (--shard I/N) into one dataset", run: cmdDatasetMerge})
	register(command{name: "dataset stats", summary: "print a dataset's flows, packets and tokens per split and class", run: cmdDatasetStats})
}

type datasetBuildOptions struct {
	out           string
	inputs        []string
	build         dataset.BuildOptions
	shard, shards int
}

func cmdDatasetBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o datasetBuildOptions
	var vf viewFlags
	var split string
	fs := newFlagSet("dataset build", "dataset build -o DIR [flags] INPUT...",
		"trafficgpt dataset build -o ds --labels file --group flow --split train=0.6,valid=0.2,test=0.2 --mask addr+ports testdata/demo   (your folders: --labels dir captures/, split by file)", stderr)
	fs.StringVar(&o.out, "o", "", "output dataset directory (must not exist, or be empty)")
	fs.StringVar(&o.build.Labels, "labels", "", "label source: dir (INPUT/<label>/...), file (file name), csv:FILE (per-flow CSV); empty: unlabelled")
	fs.StringVar(&o.build.LabelColumn, "label-column", "app", "column of the csv labels to use")
	fs.StringVar(&split, "split", "train=0.8,valid=0.1,test=0.1", "split names and fractions")
	fs.StringVar(&o.build.Group, "group", "file", "keep all flows of a group in one split: file or flow")
	fs.BoolVar(&o.build.Presplit, "presplit", false, "inputs are INPUT/<split>/<label>/...: keep their splits")
	fs.Uint64Var(&o.build.Seed, "seed", 1, "random seed (splits, class caps)")
	fs.IntVar(&o.build.MinPackets, "min-packets", 1, "drop flows with fewer packets")
	fs.IntVar(&o.build.MaxPerClass, "max-per-class", 0, "keep at most this many flows per class (0: all)")
	fs.BoolVar(&o.build.Dedup, "dedup", false, "drop flows whose tokens equal an earlier flow's")
	fs.BoolVar(&o.build.LabelTokens, "label-tokens", false, "put the label token after <flow> (for class-conditioned generation)")
	fs.BoolVar(&o.build.KeepTrailing, "keep-trailing", false, "read captures cut mid-record up to their last complete record (else they are skipped as unreadable)")
	fs.IntVar(&o.build.SpillTokens, "spill-tokens", dataset.DefaultSpillTokens, "tokens a flow may hold in memory while it is read; longer flows go to a temporary file ($TMPDIR)")
	fs.BoolVar(&o.build.MergePayloads, "merge-payloads", false, "also keep flows that share a payload of >= 32 bytes in one split (default: count them in the audit; constant messages of one class are not copies)")
	fs.BoolVar(&o.build.AcceptSplitWarnings, "accept-split-warnings", false, "build even if a split misses its target fraction by more than 5 points or lacks a class it could hold (the warnings go into manifest.json)")
	fs.IntVar(&o.build.Jobs, "j", runtime.GOMAXPROCS(0), "files processed in parallel")
	shardFlag := fs.String("shard", "", "I/N: build only the I-th (0-based) of N disjoint parts of the inputs (by file), for `dataset merge`")
	vf.register(fs, "none")
	addFlowFlags(fs, &o.build.Flow)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if o.out == "" {
		return usageError("need -o DIR")
	}
	if err := needInputs(pos, "input captures or folders"); err != nil {
		return err
	}
	if o.build.View, err = vf.view(); err != nil {
		return err
	}
	if !o.build.Presplit {
		if o.build.Split, err = dataset.ParseSplit(split); err != nil {
			return usageError("%v", err)
		}
	}
	for _, p := range pos {
		if p == stdinName {
			// Labels (dir, file) and the manifest (name, SHA-256, size) come
			// from the inputs' names, and a build reads each file twice.
			return usageError("dataset build reads captures by name (labels and the manifest need them): save standard input to a file first")
		}
	}
	o.inputs = pos
	if *shardFlag != "" {
		if o.shard, o.shards, err = dataset.ParseShard(*shardFlag); err != nil {
			return usageError("%v", err)
		}
	}
	return runDatasetBuild(ctx, o, stdout, stderr)
}

func runDatasetBuild(ctx context.Context, o datasetBuildOptions, stdout, stderr io.Writer) error {
	files, others, err := pcap.FindAll(o.inputs)
	if err != nil {
		return err
	}
	total := progress.FileBytes(pcap.Paths(files))
	if line := pcap.DescribeOthers(others); line != "" {
		fmt.Fprintln(stderr, "note:", line)
	}
	if len(files) == 0 {
		return fmt.Errorf("no capture files found in %v", o.inputs)
	}
	o.build.Inputs = o.inputs
	pr := progress.New(stderr, "dataset", "B", total)
	o.build.Progress = func(n int64) { pr.Add(float64(n), "") }
	var warnings []string
	o.build.Warn = func(s string) { warnings = append(warnings, s) }
	t0 := time.Now()
	if o.shards > 0 {
		_, err := dataset.BuildShard(ctx, o.out, files, o.build, o.shard, o.shards)
		pr.Finish()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: part %d of %d (%d of %d files) in %.1fs; join the parts with: trafficgpt dataset merge -o DIR PART...\n",
			o.out, o.shard, o.shards, (len(files)-o.shard+o.shards-1)/o.shards, len(files), time.Since(t0).Seconds())
		return nil
	}
	m, err := dataset.Build(ctx, o.out, files, o.build)
	pr.Finish()
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if err != nil {
		return err
	}
	el := time.Since(t0).Seconds()
	fmt.Fprintf(stdout, "%s: %d files (%d skipped), %.1f MB in %.1fs (%.1f MB/s), %d groups\n",
		o.out, len(m.Inputs), len(m.Skipped), total/1e6, el, total/1e6/el, m.Groups)
	m.WriteStats(stdout)
	if len(m.Skipped) > 0 {
		return unreadableError(len(m.Skipped), len(m.Skipped)+len(m.Inputs))
	}
	return nil
}

func cmdDatasetMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var out string
	fs := newFlagSet("dataset merge", "dataset merge -o DIR PART...",
		"for i in 0 1 2; do trafficgpt dataset build --shard $i/3 -o part$i --labels file --group flow testdata/demo; done; trafficgpt dataset merge -o ds part0 part1 part2", stderr)
	fs.StringVar(&out, "o", "", "output dataset directory")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if out == "" || len(pos) == 0 {
		return usageError("need -o DIR and the part directories")
	}
	m, err := dataset.Merge(ctx, out, pos)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: merged %d parts\n", out, len(pos))
	m.WriteStats(stdout)
	return nil
}

func cmdDatasetStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dataset stats", "dataset stats DIR", "trafficgpt dataset stats ds", stderr)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("need one dataset directory")
	}
	ds, err := dataset.Open(pos[0])
	if err != nil {
		return err
	}
	defer ds.Close()
	return ds.WriteStats(stdout)
}
