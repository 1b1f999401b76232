package classify

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ResultColumns are the CSV columns of classify's output (the JSONL keys
// are the same; docs/formats.md).
var ResultColumns = []string{"file", "flow_id", "community_id", "flow", "at_packet", "after_s", "decided", "label",
	"probability", "open_set_score", "top3"}

// ResultWriter writes one line per decided flow (FlowResult) as text
// (aligned columns with a header), csv (ResultColumns) or jsonl.
type ResultWriter struct {
	format string
	labels []string
	bw     *bufio.Writer
	cw     *csv.Writer
}

// NewResultWriter writes results of a classifier with the given labels to
// w in format ("text", "csv" or "jsonl"), the header first.
func NewResultWriter(w io.Writer, format string, labels []string) *ResultWriter {
	fw := &ResultWriter{format: format, labels: labels, bw: bufio.NewWriter(w)}
	switch format {
	case "csv":
		fw.cw = csv.NewWriter(fw.bw)
		fw.cw.Write(ResultColumns)
	case "text":
		fmt.Fprintf(fw.bw, "%-24s %5s %-52s %4s %9s %-16s %6s  %s\n", "file", "id", "flow", "pkt", "after", "label", "prob", "top-3")
	}
	return fw
}

type topEntry struct {
	Label string  `json:"label"`
	Prob  float64 `json:"probability"`
}

// Write writes the result of a flow of file.
func (fw *ResultWriter) Write(file string, r *FlowResult) error {
	var top []topEntry
	for _, k := range TopK(r.Probs, 3) {
		top = append(top, topEntry{fw.labels[k], round4(r.Probs[k])})
	}
	label := "unknown"
	if r.Class != Unknown {
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

// Flush writes what is buffered to the underlying writer.
func (fw *ResultWriter) Flush() error {
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
