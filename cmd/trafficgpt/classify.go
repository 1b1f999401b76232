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
	switch o.format {
	case "text", "csv", "jsonl":
	default:
		return usageError("--format %q: want text, csv or jsonl", o.format)
	}
	if o.cap.Early < 0 || o.cap.Batch < 1 {
		return usageError("--early must be >= 0 and --batch >= 1")
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

// flowWriter prints one line per decided flow in the chosen format.
type flowWriter struct {
	format string
	labels []string
	bw     *bufio.Writer
	cw     *csv.Writer
}

// classifyColumns are the CSV columns (the JSONL keys are the same).
var classifyColumns = []string{"file", "flow_id", "community_id", "flow", "at_packet", "after_s", "decided", "label",
	"probability", "open_set_score", "top3"}

func newFlowWriter(w io.Writer, format string, labels []string) *flowWriter {
	fw := &flowWriter{format: format, labels: labels, bw: bufio.NewWriter(w)}
	switch format {
	case "csv":
		fw.cw = csv.NewWriter(fw.bw)
		fw.cw.Write(classifyColumns)
	case "text":
		fmt.Fprintf(fw.bw, "%-24s %5s %-52s %4s %9s %-16s %6s  %s\n", "file", "id", "flow", "pkt", "after", "label", "prob", "top-3")
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
	label := "unknown"
	if r.Class != classify.Unknown {
		label = fw.labels[r.Class]
	}
	after := r.After.Seconds()
	switch fw.format {
	case "csv":
		var ts []string
		for _, t := range top {
			ts = append(ts, fmt.Sprintf("%s:%.4f", t.Label, t.Prob))
		}
		return fw.cw.Write([]string{file, strconv.FormatUint(r.ID, 10), r.CommunityID, r.Key, strconv.Itoa(r.AtPacket),
			strconv.FormatFloat(after, 'f', 6, 64), r.Why.String(), label, fmt.Sprintf("%.4f", r.Prob),
			strconv.FormatFloat(r.Score, 'g', 6, 64), strings.Join(ts, ";")})
	case "jsonl":
		var buf strings.Builder
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // keep "->" in flow keys readable
		err := enc.Encode(struct {
			File        string     `json:"file"`
			FlowID      uint64     `json:"flow_id"`
			CommunityID string     `json:"community_id"`
			Flow        string     `json:"flow"`
			AtPacket    int        `json:"at_packet"`
			After       float64    `json:"after_s"`
			Decided     string     `json:"decided"`
			Label       string     `json:"label"`
			Prob        float64    `json:"probability"`
			Score       float64    `json:"open_set_score"`
			Top3        []topEntry `json:"top3"`
		}{file, r.ID, r.CommunityID, r.Key, r.AtPacket, after, r.Why.String(), label, round4(r.Prob), r.Score, top})
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
	_, err := fmt.Fprintf(fw.bw, "%-24s %5d %-52s %4d %8.3fs %-16s %6.4f  %s\n", file, r.ID, r.Key, r.AtPacket, after, label, r.Prob, strings.Join(ts, ", "))
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
	fw := newFlowWriter(stdout, o.format, c.Labels)
	o.cap.Flush = fw.flush
	total := 0
	var failed []string
	pr := newProgress(stderr, "classify", "B", inputBytes(files))
	defer pr.finish()
	for _, path := range files {
		n, err := classifyFile(ctx, c, path, o.cap, fw, &o.live, pr)
		total += n
		if err != nil {
			if ctx.Err() != nil {
				fw.flush()
				return ctx.Err()
			}
			fmt.Fprintf(stderr, "trafficgpt classify: %s: %v\n", path, inputHint(err, o.cap.KeepTrailing))
			failed = append(failed, path)
		}
		// Results of a file are on stdout before the next one starts.
		if err := fw.flush(); err != nil {
			return err
		}
	}
	pr.finish()
	fmt.Fprintf(stderr, "classify: %d flows from %d inputs\n", total, len(files)-len(failed))
	if len(failed) > 0 {
		return unreadableError(len(failed), len(files), failed...)
	}
	return nil
}

func classifyFile(ctx context.Context, c *classify.Classifier, path string, o classify.CaptureOptions, fw *flowWriter, live *liveFlags, pr *progress) (int, error) {
	f, ctx, err := openSource(ctx, path, live)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if fi, err := statOf(f); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return 0, fmt.Errorf("%w: empty file", classify.ErrEmpty)
	}
	return c.Capture(ctx, pr.reader(f), o, func(r *classify.FlowResult) error { return fw.write(path, r) })
}
