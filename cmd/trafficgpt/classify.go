package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/trafficgpt/trafficgpt/internal/classify"
)

func init() {
	register(command{name: "classify", summary: "label the flows of captures with a fine-tuned classifier", run: cmdClassify})
}

type classifyOptions struct {
	model  string
	format string
	inputs []string
	cap    classify.CaptureOptions
}

func cmdClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o classifyOptions
	fs := newFlagSet("classify", "classify --model CLF [flags] IN...",
		"trafficgpt classify --model clf --format csv --early 8 capture.pcapng > flows.csv", stderr)
	fs.StringVar(&o.model, "model", "", "classifier directory or .safetensors file (trafficgpt finetune)")
	fs.StringVar(&o.format, "format", "text", "output: text (aligned columns), csv or jsonl")
	fs.IntVar(&o.cap.MinPackets, "min-packets", -1, "skip flows with fewer packets (-1: the training dataset's --min-packets)")
	fs.IntVar(&o.cap.Early, "early", 0, "decide from the first K packets of each flow (0: as many as --len allows)")
	fs.IntVar(&o.cap.Batch, "batch", 16, "flows per forward pass")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if o.model == "" {
		return usageError("need --model CLF")
	}
	switch o.format {
	case "text", "csv", "jsonl":
	default:
		return usageError("--format %q: want text, csv or jsonl", o.format)
	}
	if o.cap.Early < 0 || o.cap.Batch < 1 {
		return usageError("--early must be >= 0 and --batch >= 1")
	}
	if err := needInputs(pos, "capture files or folders"); err != nil {
		return err
	}
	o.inputs = pos
	return runClassify(ctx, o, stdout, stderr)
}

// flowWriter prints one line per flow in the chosen format.
type flowWriter struct {
	format string
	labels []string
	bw     *bufio.Writer
	cw     *csv.Writer
}

func newFlowWriter(w io.Writer, format string, labels []string) *flowWriter {
	fw := &flowWriter{format: format, labels: labels, bw: bufio.NewWriter(w)}
	switch format {
	case "csv":
		fw.cw = csv.NewWriter(fw.bw)
		fw.cw.Write([]string{"file", "flow", "packets", "label", "probability", "top3"})
	case "text":
		fmt.Fprintf(fw.bw, "%-24s %-52s %7s %-16s %6s  %s\n", "file", "flow", "packets", "label", "prob", "top-3")
	}
	return fw
}

type topEntry struct {
	Label string  `json:"label"`
	Prob  float64 `json:"probability"`
}

func (fw *flowWriter) write(file string, r *classify.FlowResult) error {
	var top []topEntry
	for _, k := range classify.TopK(r.Probs, 3) {
		top = append(top, topEntry{fw.labels[k], round4(r.Probs[k])})
	}
	label := fw.labels[r.Class]
	switch fw.format {
	case "csv":
		var ts []string
		for _, t := range top {
			ts = append(ts, fmt.Sprintf("%s:%.4f", t.Label, t.Prob))
		}
		return fw.cw.Write([]string{file, r.Key, strconv.Itoa(r.Packets), label, fmt.Sprintf("%.4f", r.Prob), strings.Join(ts, ";")})
	case "jsonl":
		var buf strings.Builder
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // keep "->" in flow keys readable
		err := enc.Encode(struct {
			File    string     `json:"file"`
			Flow    string     `json:"flow"`
			FlowID  uint64     `json:"flow_id"`
			Packets int        `json:"packets"`
			Label   string     `json:"label"`
			Prob    float64    `json:"probability"`
			Top3    []topEntry `json:"top3"`
		}{file, r.Key, r.ID, r.Packets, label, round4(r.Prob), top})
		if err != nil {
			return err
		}
		_, err = fw.bw.WriteString(buf.String())
		return err
	}
	var ts []string
	for _, t := range top {
		ts = append(ts, fmt.Sprintf("%s %.3f", t.Label, t.Prob))
	}
	_, err := fmt.Fprintf(fw.bw, "%-24s %-52s %7d %-16s %6.4f  %s\n", file, r.Key, r.Packets, label, r.Prob, strings.Join(ts, ", "))
	return err
}

func (fw *flowWriter) flush() error {
	if fw.cw != nil {
		fw.cw.Flush()
		if err := fw.cw.Error(); err != nil {
			return err
		}
	}
	return fw.bw.Flush()
}

func round4(x float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'f', 4, 64), 64)
	return v
}

func runClassify(ctx context.Context, o classifyOptions, stdout, stderr io.Writer) error {
	c, err := classify.Load(o.model)
	if err != nil {
		return err
	}
	files, err := captureInputs(o.inputs)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no capture files in %v", o.inputs)
	}
	fw := newFlowWriter(stdout, o.format, c.Labels)
	total := 0
	var failed []string
	for _, path := range files {
		n, err := classifyFile(ctx, c, path, o.cap, fw)
		total += n
		if err != nil {
			if ctx.Err() != nil {
				fw.flush()
				return ctx.Err()
			}
			fmt.Fprintf(stderr, "trafficgpt classify: %s: %v\n", path, err)
			failed = append(failed, path)
		}
		// Results of a file are on stdout before the next one starts.
		if err := fw.flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "classify: %d flows from %d files\n", total, len(files)-len(failed))
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d files failed: %s", len(failed), len(files), strings.Join(failed, ", "))
	}
	return nil
}

func classifyFile(ctx context.Context, c *classify.Classifier, path string, o classify.CaptureOptions, fw *flowWriter) (int, error) {
	f, err := openInput(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if fi, err := statOf(f); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return 0, fmt.Errorf("%w: empty file", classify.ErrEmpty)
	}
	return c.Capture(ctx, f, o, func(r *classify.FlowResult) error { return fw.write(path, r) })
}
