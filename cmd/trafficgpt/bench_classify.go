package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/classify"
	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/metric"
	"github.com/trafficgpt/trafficgpt/internal/plot"
)

// classifyBenchSpec is one classifier to time: CLF[@EARLY][=DATASET], or
// random:PRESET:LEN[@EARLY] for random weights (speed does not depend on
// them).
type classifyBenchSpec struct {
	name, model, data string
	preset            string
	len, early        int
}

// defaultClassifyBench: the shape `classify --early 3` runs with a tiny
// classifier at --len 256.
const defaultClassifyBench = "random:tiny:256@3"

func parseClassifyBench(list string) ([]classifyBenchSpec, error) {
	var out []classifyBenchSpec
	for _, s := range strings.Split(list, ",") {
		if s == "" {
			continue
		}
		sp := classifyBenchSpec{name: s}
		rest := s
		if i := strings.LastIndex(rest, "="); i >= 0 {
			rest, sp.data = rest[:i], rest[i+1:]
		}
		if i := strings.LastIndex(rest, "@"); i >= 0 {
			e, err := strconv.Atoi(rest[i+1:])
			if err != nil || e < 0 {
				return nil, usageError("--classify %q: @%s is not a packet count", s, rest[i+1:])
			}
			rest, sp.early = rest[:i], e
		}
		if r, ok := strings.CutPrefix(rest, "random:"); ok {
			preset, l, _ := strings.Cut(r, ":")
			n, err := strconv.Atoi(l)
			if err != nil || n < 2 {
				return nil, usageError("--classify %q: want random:PRESET:LEN", s)
			}
			sp.preset, sp.len = preset, n
		} else {
			sp.model = rest
		}
		out = append(out, sp)
	}
	return out, nil
}

// classifyBenchRow is one measured classifier (a row of the trade-off table).
type classifyBenchRow struct {
	spec    classifyBenchSpec
	view    string
	model   string // layers x width
	len     int
	rate    classify.Rate
	macroF1 float64 // on the test split of spec.data; -1 without
}

// benchClassify times each spec on the captures of input and, with a
// dataset, scores its test split.
func benchClassify(ctx context.Context, specs []classifyBenchSpec, input string, repeats int) ([]classifyBenchRow, int, error) {
	files, err := captureInputs([]string{input})
	if err != nil {
		return nil, 0, err
	}
	var caps [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, 0, err
		}
		caps = append(caps, b)
	}
	if len(caps) == 0 {
		return nil, 0, fmt.Errorf("bench: no captures in %s", input)
	}
	var rows []classifyBenchRow
	for _, sp := range specs {
		var c *classify.Classifier
		if sp.preset != "" {
			c, err = classify.RandomClassifier(sp.preset, sp.len, 7)
		} else {
			c, err = classify.Load(sp.model)
		}
		if err != nil {
			return nil, 0, err
		}
		cfg := c.Model.Config
		row := classifyBenchRow{spec: sp, view: viewName(c), len: c.Context, macroF1: -1,
			model: fmt.Sprintf("%d x %d (%.2fM)", cfg.Layers, cfg.Width, float64(c.Model.ParamCount())/1e6)}
		o := classify.CaptureOptions{Early: sp.early, Batch: 64, MinPackets: -1}
		if _, err := c.Throughput(ctx, caps[:1], o, 1); err != nil { // warm-up: buffers, pages
			return nil, 0, fmt.Errorf("bench %s: %w", sp.name, err)
		}
		if row.rate, err = c.Throughput(ctx, caps, o, repeats); err != nil {
			return nil, 0, fmt.Errorf("bench %s: %w", sp.name, err)
		}
		if sp.data != "" {
			if row.macroF1, err = testMacroF1(ctx, c, sp.data); err != nil {
				return nil, 0, fmt.Errorf("bench %s: %w", sp.name, err)
			}
		}
		rows = append(rows, row)
	}
	return rows, len(caps), nil
}

func viewName(c *classify.Classifier) string {
	v := c.View
	var parts []string
	if v.MaxPackets > 0 {
		parts = append(parts, fmt.Sprintf("%d packets", v.MaxPackets))
	}
	switch {
	case v.HeaderOnly:
		parts = append(parts, "headers only")
	case v.MaxPayload > 0:
		parts = append(parts, fmt.Sprintf("payload <= %d B", v.MaxPayload))
	}
	if len(parts) == 0 {
		return "whole flows"
	}
	return strings.Join(parts, ", ")
}

func testMacroF1(ctx context.Context, c *classify.Classifier, data string) (float64, error) {
	ds, err := dataset.Open(data)
	if err != nil {
		return 0, err
	}
	defer ds.Close()
	mapping, err := c.CheckDataset(ds)
	if err != nil {
		return 0, err
	}
	s, err := ds.Split("test")
	if err != nil {
		return 0, err
	}
	p, err := c.Evaluate(ctx, s, mapping, 64, nil)
	if err != nil {
		return 0, err
	}
	rep, err := metric.Report(p.Labels, p.Preds, len(c.Labels), c.Labels)
	return rep.MacroF1, err
}

// writeClassifyCurve writes the trade-off table (Markdown) to w and the
// curve (flows per CPU-second against test macro-F1) to png.
func writeClassifyCurve(w io.Writer, png string, rows []classifyBenchRow, input, load string) error {
	fmt.Fprintf(w, "| classifier | model | view | --len | --early | test macro-F1 | flows/s | flows/CPU-s | tokens/s |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|\n")
	var series []plot.ErrSeries
	for _, r := range rows {
		f1 := "-"
		if r.macroF1 >= 0 {
			f1 = fmt.Sprintf("%.4f", r.macroF1)
			series = append(series, plot.ErrSeries{Name: fmt.Sprintf("%s, early %d", filepath.Base(r.spec.model), r.spec.early),
				X: []float64{r.rate.FlowsPerCPUSec()}, Y: []float64{r.macroF1}, Err: []float64{0}})
		}
		name := r.spec.model
		if name == "" {
			name = "random " + r.spec.preset
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d | %d | %s | %.0f | %.0f | %.0f |\n", filepath.Base(name), r.model, r.view, r.len,
			r.spec.early, f1, r.rate.FlowsPerSec(), r.rate.FlowsPerCPUSec(), r.rate.TokensPerSec())
	}
	fmt.Fprintf(w, "\n(%s; classify's whole path from capture bytes: flow assembly, tokenizing, the model, the open-set score; batches of 64; load average %s)\n", input, load)
	if png == "" || len(series) == 0 {
		return nil
	}
	return plot.ErrorLines(png, "classification: speed against macro-F1", "flows per CPU-second", "test macro-F1", series, true, nil)
}

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
	specs, err := parseClassifyBench(o.classify)
	if err != nil || len(specs) == 0 {
		return err
	}
	if _, err := os.Stat(o.classifyInput); err != nil && !o.classifyOnly {
		// The default input is the repository's demo captures: elsewhere
		// the other rows still run.
		add("classify", "skipped", fmt.Sprintf("(no captures: %v; --classify-input DIR)", err))
		return nil
	}
	crows, ncap, err := benchClassify(ctx, specs, o.classifyInput, o.repeats)
	if err != nil {
		return err
	}
	for _, r := range crows {
		add(fmt.Sprintf("classify %s, --early %d", r.spec.name, r.spec.early), fmt.Sprintf("%.0f flows/s", r.rate.FlowsPerSec()),
			fmt.Sprintf("(%.0f tokens/s, %.0f flows/CPU-s; %d flows of %d captures in %s; len %d, %s; load %s)", r.rate.TokensPerSec(),
				r.rate.FlowsPerCPUSec(), r.rate.Flows/r.rate.Repeats, ncap, o.classifyInput, r.len, r.view, loadAverage()))
	}
	if o.table != "" || o.curve != "" {
		var md strings.Builder
		if err := writeClassifyCurve(&md, o.curve, crows, o.classifyInput, loadAverage()); err != nil {
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
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "benchmark\tresult\tnote\n")
	for _, r := range *rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.what, r.value, r.note)
	}
	return tw.Flush()
}
