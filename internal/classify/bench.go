package classify

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/metric"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
	"github.com/trafficgpt/trafficgpt/internal/plot"
)

// BenchSpec is one classifier to time (`trafficgpt bench --classify`):
// CLF[@EARLY][=DATASET], or random:PRESET:LEN[@EARLY] for random weights
// (speed does not depend on them).
type BenchSpec struct {
	Name, Model, Data string
	Preset            string
	Len, Early        int
}

// ParseBenchSpecs parses a comma-separated list of BenchSpecs.
func ParseBenchSpecs(list string) ([]BenchSpec, error) {
	var out []BenchSpec
	for _, s := range strings.Split(list, ",") {
		if s == "" {
			continue
		}
		sp := BenchSpec{Name: s}
		rest := s
		if i := strings.LastIndex(rest, "="); i >= 0 {
			rest, sp.Data = rest[:i], rest[i+1:]
		}
		if i := strings.LastIndex(rest, "@"); i >= 0 {
			e, err := strconv.Atoi(rest[i+1:])
			if err != nil || e < 0 {
				return nil, fmt.Errorf("%q: @%s is not a packet count", s, rest[i+1:])
			}
			rest, sp.Early = rest[:i], e
		}
		if r, ok := strings.CutPrefix(rest, "random:"); ok {
			preset, l, _ := strings.Cut(r, ":")
			n, err := strconv.Atoi(l)
			if err != nil || n < 2 {
				return nil, fmt.Errorf("%q: want random:PRESET:LEN", s)
			}
			sp.Preset, sp.Len = preset, n
		} else {
			sp.Model = rest
		}
		out = append(out, sp)
	}
	return out, nil
}

// BenchRow is one measured classifier (a row of the trade-off table).
type BenchRow struct {
	Spec    BenchSpec
	View    string // the classifier's view in words
	Model   string // layers x width (parameters)
	Len     int
	Rate    Rate
	MacroF1 float64 // on the test split of Spec.Data; -1 without
}

// Bench times each spec classifying the captures under input (one warm-up
// pass, then repeats passes: Throughput, batches of 64) and, with a
// dataset, scores its test split. It returns the rows and the number of
// captures.
func Bench(ctx context.Context, specs []BenchSpec, input string, repeats int) ([]BenchRow, int, error) {
	files, err := pcap.Find([]string{input})
	if err != nil {
		return nil, 0, err
	}
	var caps [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			return nil, 0, err
		}
		caps = append(caps, b)
	}
	if len(caps) == 0 {
		return nil, 0, fmt.Errorf("bench: no captures in %s", input)
	}
	var rows []BenchRow
	for _, sp := range specs {
		var c *Classifier
		if sp.Preset != "" {
			c, err = RandomClassifier(sp.Preset, sp.Len, 7)
		} else {
			c, err = Load(sp.Model)
		}
		if err != nil {
			return nil, 0, err
		}
		cfg := c.Model.Config
		row := BenchRow{Spec: sp, View: viewName(c.View), Len: c.Context, MacroF1: -1,
			Model: fmt.Sprintf("%d x %d (%.2fM)", cfg.Layers, cfg.Width, float64(c.Model.ParamCount())/1e6)}
		o := CaptureOptions{Early: sp.Early, Batch: 64, MinPackets: -1}
		if _, err := c.Throughput(ctx, caps[:1], o, 1); err != nil { // warm-up: buffers, pages
			return nil, 0, fmt.Errorf("bench %s: %w", sp.Name, err)
		}
		if row.Rate, err = c.Throughput(ctx, caps, o, repeats); err != nil {
			return nil, 0, fmt.Errorf("bench %s: %w", sp.Name, err)
		}
		if sp.Data != "" {
			if row.MacroF1, err = testMacroF1(ctx, c, sp.Data); err != nil {
				return nil, 0, fmt.Errorf("bench %s: %w", sp.Name, err)
			}
		}
		rows = append(rows, row)
	}
	return rows, len(caps), nil
}

// viewName says a view in words: "20 packets, headers only", "whole flows".
func viewName(v codec.View) string {
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

func testMacroF1(ctx context.Context, c *Classifier, data string) (float64, error) {
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

// WriteBenchTable writes the trade-off table of rows (Markdown) to w and,
// when png is set and some row has a macro-F1, the curve of flows per
// CPU-second against test macro-F1 to png. load is the machine's load
// average during the run.
func WriteBenchTable(w io.Writer, png string, rows []BenchRow, input, load string) error {
	fmt.Fprintf(w, "| classifier | model | view | --len | --early | test macro-F1 | flows/s | flows/CPU-s | tokens/s |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|\n")
	var series []plot.ErrSeries
	for _, r := range rows {
		f1 := "-"
		if r.MacroF1 >= 0 {
			f1 = fmt.Sprintf("%.4f", r.MacroF1)
			series = append(series, plot.ErrSeries{Name: fmt.Sprintf("%s, early %d", filepath.Base(r.Spec.Model), r.Spec.Early),
				X: []float64{r.Rate.FlowsPerCPUSec()}, Y: []float64{r.MacroF1}, Err: []float64{0}})
		}
		name := r.Spec.Model
		if name == "" {
			name = "random " + r.Spec.Preset
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d | %d | %s | %.0f | %.0f | %.0f |\n", filepath.Base(name), r.Model, r.View, r.Len,
			r.Spec.Early, f1, r.Rate.FlowsPerSec(), r.Rate.FlowsPerCPUSec(), r.Rate.TokensPerSec())
	}
	fmt.Fprintf(w, "\n(%s; classify's whole path from capture bytes: flow assembly, tokenizing, the model, the open-set score; batches of 64; load average %s)\n", input, load)
	if png == "" || len(series) == 0 {
		return nil
	}
	return plot.ErrorLines(png, "classification: speed against macro-F1", "flows per CPU-second", "test macro-F1", series, true, nil)
}
