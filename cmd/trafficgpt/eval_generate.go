package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/evalgen"
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
	return runEvalGenerate(ctx, opts, stdout, stderr)
}

// spreadMultiFlags rewrites "--real a b --generated c" into "--real a
// --real b --generated c", so that a shell glob can follow a flag.
func spreadMultiFlags(args []string, names ...string) []string {
	isMulti := func(a string) (string, bool) {
		n := strings.TrimLeft(a, "-")
		if n == a || strings.Contains(n, "=") {
			return "", false
		}
		for _, m := range names {
			if n == m {
				return a, true
			}
		}
		return "", false
	}
	var out []string
	for i := 0; i < len(args); i++ {
		flagArg, ok := isMulti(args[i])
		if !ok {
			out = append(out, args[i])
			continue
		}
		n := 0
		for i+1 < len(args) && (!strings.HasPrefix(args[i+1], "-") || args[i+1] == stdinName) {
			i++
			out = append(out, flagArg, args[i])
			n++
		}
		if n == 0 {
			out = append(out, flagArg) // let the flag package report the missing value
		}
	}
	return out
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
	rep, err := evalgen.Run(ctx, evalgen.Options{
		Real: opts.Real, Generated: opts.Generated, Train: opts.Train,
		Seeds: opts.Seeds, MaxFlows: opts.MaxFlows, Trees: opts.Trees, Tshark: opts.Tshark, Workers: opts.Workers,
		Warn:     func(err error) { fmt.Fprintf(stderr, "trafficgpt eval generate: warning: %v\n", err) },
		Progress: stageProgress(stderr),
	})
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
	printEvalTable(table, rep, opts, time.Since(start))
	if opts.JSON == "" {
		return nil
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if opts.JSON == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return atomicfile.WriteFile(opts.JSON, b)
}

// printEvalTable writes the human-readable report.
func printEvalTable(w io.Writer, rep *evalgen.Report, opts evalGenerateOptions, total time.Duration) {
	rv, gv := rep.Validity["real"], rep.Validity["generated"]
	f := func(v evalgen.Num) string {
		if math.IsNaN(float64(v)) {
			return "-"
		}
		return strconv.FormatFloat(float64(v), 'f', 4, 64)
	}
	fmt.Fprintf(w, "%-34s %20s %20s\n", "", "real", "generated")
	fmt.Fprintf(w, "%-34s %20d %20d\n", "files", rv.Files, gv.Files)
	fmt.Fprintf(w, "%-34s %20.1f %20.1f\n", "MB", float64(rv.Bytes)/1e6, float64(gv.Bytes)/1e6)
	fmt.Fprintf(w, "%-34s %20d %20d\n", "packets", rv.Packets, gv.Packets)
	fmt.Fprintf(w, "%-34s %20d %20d\n", "flows", rv.Flows, gv.Flows)
	fmt.Fprintf(w, "\nheader JSD (bits, 0 = same, 1 = disjoint)\n")
	for i, k := range rep.HeaderJSD.Names {
		label := k
		if k == "mean" {
			label = "mean (paper's six: sport..ttl)"
		}
		fmt.Fprintf(w, "  %-32s %20s\n", label, f(evalgen.Num(rep.HeaderJSD.Values[i])))
	}
	fmt.Fprintf(w, "\nflow JSD (k-fingerprinting features)\n")
	for i, k := range rep.FlowJSD.Names {
		label := k
		if k == "mean" {
			label = "mean (the paper's six)"
		}
		fmt.Fprintf(w, "  %-32s %20s\n", label, f(evalgen.Num(rep.FlowJSD.Values[i])))
	}
	fmt.Fprintf(w, "\ndiscriminator F1 (0.5 = indistinguishable): %s ± %s  (random forest, %d trees, %d seeds, %d flows per side, 30%% held out)\n",
		f(rep.DiscriminatorF1), f(rep.DiscriminatorF1Std), opts.Trees, opts.Seeds, rep.DiscriminatorFlows)
	fmt.Fprintf(w, "\nvalidity%27s %20s %20s\n", "", "real (n)", "generated (n)")
	row := func(name string, a, b evalgen.Num, na, nb int) {
		fmt.Fprintf(w, "  %-32s %20s %20s\n", name, f(a)+fmt.Sprintf(" (%d)", na), f(b)+fmt.Sprintf(" (%d)", nb))
	}
	row("packets decoded", rv.PacketShare, gv.PacketShare, rv.Packets, gv.Packets)
	row("flows decoded", rv.FlowShare, gv.FlowShare, rv.Flows, gv.Flows)
	row("IPv4 header checksum ok", rv.IPv4Share, gv.IPv4Share, rv.IPv4Checked, gv.IPv4Checked)
	row("TCP/UDP checksum ok", rv.L4Share, gv.L4Share, rv.L4Checked, gv.L4Checked)
	row("TCP: SYN first", evalgen.Share(rv.TCPSynStart, rv.TCPFlows), evalgen.Share(gv.TCPSynStart, gv.TCPFlows), rv.TCPFlows, gv.TCPFlows)
	row("TCP: handshake before data", rv.HandshakeShr, gv.HandshakeShr, rv.TCPSynStart, gv.TCPSynStart)
	row("TCP: ACKs consistent", rv.AckShare, gv.AckShare, rv.TCPAcks, gv.TCPAcks)
	fmt.Fprintf(w, "  %-32s %20d %20d\n", "files with read errors", rv.FileErrors, gv.FileErrors)
	if rv.Tshark != nil && gv.Tshark != nil {
		row("tshark: no expert error", rv.Tshark.CleanShr, gv.Tshark.CleanShr, rv.Tshark.Packets, gv.Tshark.Packets)
		fmt.Fprintf(w, "  %-32s %20d %20d\n", "tshark: malformed packets", rv.Tshark.Malformed, gv.Tshark.Malformed)
		fmt.Fprintf(w, "  %-32s %20d %20d\n", "tshark: checksum errors", rv.Tshark.Checksum, gv.Tshark.Checksum)
		for _, t := range []*evalgen.TsharkCounts{rv.Tshark, gv.Tshark} {
			if t.Err != "" {
				fmt.Fprintf(w, "  tshark: %s\n", t.Err)
			}
		}
	}
	if m := rep.Memorization; m != nil {
		fmt.Fprintf(w, "\nmemorisation (against %d training flows)\n%34s %20s %20s\n", m.TrainFlows, "", "real (n)", "generated (n)")
		fmt.Fprintf(w, "  %-32s %20s %20s\n", "exact payload duplicates",
			fmt.Sprintf("%s (%d/%d)", f(m.RealDupShare), m.RealDup, m.RealPayload),
			fmt.Sprintf("%s (%d/%d)", f(m.GeneratedDupShare), m.GeneratedDup, m.GeneratedPayload))
		fmt.Fprintf(w, "  %-32s %20s %20s\n", "NN distance median", f(m.RealNNMedian), f(m.GeneratedNNMedian))
		fmt.Fprintf(w, "  %-32s %20s %20s\n", "NN distance mean", f(m.RealNNMean), f(m.GeneratedNNMean))
		fmt.Fprintf(w, "  %-32s %20s %20s\n", "NN distance 0", f(m.RealNNZero), f(m.GeneratedNNZero))
		fmt.Fprintf(w, "  %-32s %20s\n", "NN median ratio (gen/real)", f(m.NNMedianRatio))
	} else if len(opts.Train) == 0 {
		fmt.Fprintf(w, "\nmemorisation: not measured (no --train)\n")
	}
	fmt.Fprintf(w, "\n%.1fs (reading %.1fs)\n", total.Seconds(), rep.ReadTime.Seconds())
}
