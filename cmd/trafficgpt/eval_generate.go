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
		FloorSeed: opts.FloorSeed, Labels: opts.Labels,
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
	fl := rep.Floor
	fmt.Fprintf(w, "\nthe floor: real flows split by flow (seed %d) into halves A (%d flows) and B (%d flows); A vs B is what\n"+
		"two samples of the same real traffic score, gen vs B puts the generated flows on the same reference\n", fl.Seed, fl.RealFlowsA, fl.RealFlowsB)
	scores := func(title, meanLabel string, all, floor, vsB, ratio evalgen.Scores) {
		fmt.Fprintf(w, "\n%-34s %12s %12s %12s %10s\n", title, "gen vs real", "floor A|B", "gen vs B", "x floor")
		for i, k := range all.Names {
			label := k
			if k == "mean" {
				label = meanLabel
			}
			fmt.Fprintf(w, "  %-32s %12s %12s %12s %10s\n", label, f(evalgen.Num(all.Values[i])), f(evalgen.Num(floor.Get(k))),
				f(evalgen.Num(vsB.Get(k))), ratioString(ratio.Get(k)))
		}
	}
	scores("header JSD (bits, 0 = same)", "mean (paper's six: sport..ttl)", rep.HeaderJSD, fl.HeaderJSD, fl.GeneratedVsB.HeaderJSD, fl.Ratio.HeaderJSD)
	scores("flow JSD (k-fingerprinting)", "mean (the paper's six)", rep.FlowJSD, fl.FlowJSD, fl.GeneratedVsB.FlowJSD, fl.Ratio.FlowJSD)
	fmt.Fprintf(w, "\ndiscriminator F1 (0.5 = indistinguishable): %s ± %s; floor %s ± %s, gen vs B %s (%s the floor)\n"+
		"  (random forest, %d trees, %d seeds, %d flows per side, 30%% held out)\n",
		f(rep.DiscriminatorF1), f(rep.DiscriminatorF1Std), f(fl.DiscriminatorF1), f(fl.DiscriminatorF1Std),
		f(fl.GeneratedVsB.DiscriminatorF1), ratioString(float64(fl.Ratio.DiscriminatorF1)), opts.Trees, opts.Seeds, rep.DiscriminatorFlows)
	if len(rep.Classes) > 0 {
		fmt.Fprintf(w, "\nper class (x floor: gen vs B over A vs B)%14s %14s %16s %10s %10s\n", "flows r/g", "header JSD", "flow JSD", "disc. F1", "handshake")
		for _, c := range rep.Classes {
			fmt.Fprintf(w, "  %-38s %6d/%-7d %6s %6s %7s %7s %5s %5s %5s/%s\n", c.Label, c.RealFlows, c.GeneratedFlows,
				f(evalgen.Num(c.HeaderJSD.Get("mean"))), ratioString(c.Floor.Ratio.HeaderJSD.Get("mean")),
				f(evalgen.Num(c.FlowJSD.Get("mean"))), ratioString(c.Floor.Ratio.FlowJSD.Get("mean")),
				f(c.DiscriminatorF1), ratioString(float64(c.Floor.Ratio.DiscriminatorF1)),
				f(c.TCPHandshakeReal), f(c.TCPHandshakeGenerated))
		}
	}
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
		fmt.Fprintf(w, "  membership (%d training vs as many held-out real flows, distance to the nearest generated flow):\n"+
			"    median train %s, held-out %s; P(train closer) %s (0.5 = no sign of memorisation)\n",
			m.MembershipFlows, f(m.MembershipTrainNN), f(m.MembershipHeldoutNN), f(m.MembershipAUC))
	} else if len(opts.Train) == 0 {
		fmt.Fprintf(w, "\nmemorisation: not measured (no --train)\n")
	}
	fmt.Fprintf(w, "\n%.1fs (reading %.1fs)\n", total.Seconds(), rep.ReadTime.Seconds())
}

// ratioString prints a ratio to the floor ("2.1x"; "-" when undefined).
func ratioString(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "-"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "x"
}
