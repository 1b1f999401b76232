package dataset

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteStats writes the tables dataset build and dataset stats print:
// flows, packets and tokens per split and class, the dropped counts, the
// leakage audit, the warnings and the labels.
func (m *Manifest) WriteStats(w io.Writer) {
	fmt.Fprintf(w, "%-8s %-24s %8s %10s %12s\n", "split", "class", "flows", "packets", "tokens")
	for _, name := range m.SplitNames() {
		si := m.Splits[name]
		fmt.Fprintf(w, "%-8s %-24s %8d %10d %12d\n", name, "(all)", si.Flows, si.Packets, si.Tokens)
		var classes []string
		for c := range si.PerClass {
			classes = append(classes, c)
		}
		sort.Strings(classes)
		for _, c := range classes {
			fmt.Fprintf(w, "%-8s %-24s %8d\n", "", c, si.PerClass[c])
		}
	}
	d := m.Dropped
	fmt.Fprintf(w, "dropped: %d unlabelled, %d too short, %d duplicates, %d over the class cap; %d files skipped\n",
		d.Unlabelled, d.TooShort, d.Duplicates, d.OverCap, len(m.Skipped))
	a := m.Audit
	verdict := "clean"
	if !a.Clean {
		verdict = "LEAKS"
	}
	fmt.Fprintf(w, "audit: %s: %d files, %d connections in more than one split; also there: %d 5-tuples at other times, %d payloads (>= %d bytes)",
		verdict, a.FilesAcrossSplits, a.KeysAcrossSplits, a.KeysReused, a.PayloadsAcrossSplits, MinAuditPayload)
	if len(a.PayloadsPerClass) > 0 {
		var per []string
		for c, n := range a.PayloadsPerClass {
			per = append(per, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(per)
		fmt.Fprintf(w, " (per class: %s)", strings.Join(per[:min(len(per), 12)], ", "))
		if len(per) > 12 {
			fmt.Fprintf(w, ", ...")
		}
	}
	fmt.Fprintln(w)
	for _, x := range m.Warnings {
		fmt.Fprintf(w, "WARNING: %s\n", x)
	}
	if len(m.Labels) > 0 {
		fmt.Fprintf(w, "labels (%d): %s\n", len(m.Labels), strings.Join(m.Labels[:min(len(m.Labels), 20)], ", "))
	}
}

// WriteStats writes what dataset stats prints: the manifest's tables
// (Manifest.WriteStats), the token-length percentiles of each split (from
// the shard indices) and the dataset's warnings.
func (d *Dataset) WriteStats(w io.Writer) error {
	d.m.WriteStats(w)
	fmt.Fprintf(w, "\n%-8s %8s %8s %8s %8s %8s\n", "split", "p50", "p90", "p99", "max", "mean")
	for _, name := range d.m.SplitNames() {
		sp, err := d.Split(name)
		if err != nil {
			return err
		}
		if l, ok := sp.Lengths(); ok {
			fmt.Fprintf(w, "%-8s %8d %8d %8d %8d %8.0f\n", name, l.P50, l.P90, l.P99, l.Max, l.Mean)
		}
	}
	for _, s := range d.Warnings() {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
	return nil
}
