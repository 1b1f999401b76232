package flow

import (
	"encoding/csv"
	"fmt"
	"io"
	"time"
)

// RecordWriter writes Records as the `flows` command lists them: text
// (aligned columns for people), csv (RecordColumns, then Fields) or jsonl
// (AppendJSON).
type RecordWriter struct {
	w      io.Writer
	format string
	cw     *csv.Writer
	line   []byte
}

// NewRecordWriter returns a writer of format text, csv or jsonl to w.
func NewRecordWriter(w io.Writer, format string) (*RecordWriter, error) {
	rw := &RecordWriter{w: w, format: format}
	switch format {
	case "csv":
		rw.cw = csv.NewWriter(w)
	case "text", "jsonl":
	default:
		return nil, fmt.Errorf("flow: record format %q: want text, csv or jsonl", format)
	}
	return rw, nil
}

// WriteHeader writes the column names (csv, text; jsonl has none).
func (rw *RecordWriter) WriteHeader() error {
	switch rw.format {
	case "csv":
		rw.cw.Write(RecordColumns)
		return rw.Flush()
	case "text":
		_, err := fmt.Fprintf(rw.w, "%-5s %-58s %8s %10s %10s %9s  %s\n", "id", "flow (client -> server)", "packets", "bytes", "duration", "tokens", "end")
		return err
	}
	return nil
}

// Write writes one record (csv: buffered until Flush).
func (rw *RecordWriter) Write(r *Record) error {
	switch rw.format {
	case "csv":
		return rw.cw.Write(r.Fields())
	case "jsonl":
		rw.line = append(r.AppendJSON(rw.line[:0]), '\n')
		_, err := rw.w.Write(rw.line)
		return err
	}
	_, err := fmt.Fprintf(rw.w, "%-5d %-58s %8d %10d %9.3fs %9d  %s\n", r.FlowID, r.Key.Directed(r.FirstAToB), r.Packets(), r.BytesC2S+r.BytesS2C,
		time.Duration(r.EndNs-r.StartNs).Seconds(), r.Tokens, r.EndReason)
	return err
}

// Flush writes what a csv writer buffered.
func (rw *RecordWriter) Flush() error {
	if rw.cw == nil {
		return nil
	}
	rw.cw.Flush()
	return rw.cw.Error()
}
