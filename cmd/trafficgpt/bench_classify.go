package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/classify"
)

// defaultClassifyBench: the shape `classify --early 3` runs with a tiny
// classifier at --len 256.
const defaultClassifyBench = "random:tiny:256@3"

// loadAverage is /proc/loadavg's first three fields ("" elsewhere).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// benchClassifyRows adds the classification rows to bench's table (and
// prints the table itself when stdout is given: --classify-only).
func benchClassifyRows(ctx context.Context, o benchOptions, stdout io.Writer, add func(what, value, note string), rows *[]benchRow) error {
	specs, err := classify.ParseBenchSpecs(o.classify)
	if err != nil {
		return usageError("--classify %v", err)
	}
	if len(specs) == 0 {
		return nil
	}
	if _, err := os.Stat(o.classifyInput); err != nil && !o.classifyOnly {
		// The default input is the repository's demo captures: elsewhere
		// the other rows still run.
		add("classify", "skipped", fmt.Sprintf("(no captures: %v; --classify-input DIR)", err))
		return nil
	}
	crows, ncap, err := classify.Bench(ctx, specs, o.classifyInput, o.repeats)
	if err != nil {
		return err
	}
	for _, r := range crows {
		add(fmt.Sprintf("classify %s, --early %d", r.Spec.Name, r.Spec.Early), fmt.Sprintf("%.0f flows/s", r.Rate.FlowsPerSec()),
			fmt.Sprintf("(%.0f tokens/s, %.0f flows/CPU-s; %d flows of %d captures in %s; len %d, %s; load %s)", r.Rate.TokensPerSec(),
				r.Rate.FlowsPerCPUSec(), r.Rate.Flows/r.Rate.Repeats, ncap, o.classifyInput, r.Len, r.View, loadAverage()))
	}
	if o.table != "" || o.curve != "" {
		var md strings.Builder
		if err := classify.WriteBenchTable(&md, o.curve, crows, o.classifyInput, loadAverage()); err != nil {
			return err
		}
		if o.table != "" {
			if err := atomicfile.WriteFile(o.table, []byte(md.String())); err != nil {
				return err
			}
		}
	}
	if stdout == nil {
		return nil
	}
	return printBenchTable(stdout, *rows)
}

// printBenchTable prints bench's table.
func printBenchTable(w io.Writer, rows []benchRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "benchmark\tresult\tnote\n")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.what, r.value, r.note)
	}
	return tw.Flush()
}
