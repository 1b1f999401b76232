package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
)

// demoDataDir holds the project's own demo captures, made by
// scripts/gen-demo-traffic.sh and committed with it (testdata/demo/README.md).
const demoDataDir = "../../testdata/demo"

// demoLabel is one row of testdata/demo/labels.csv.
type demoLabel struct {
	file, class            string
	flows, packets, nbytes int
}

func readDemoLabels(t *testing.T) []demoLabel {
	t.Helper()
	f, err := os.Open(filepath.Join(demoDataDir, "labels.csv"))
	if err != nil {
		t.Fatalf("the shipped demo traffic is missing (make it with scripts/gen-demo-traffic.sh): %v", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("labels.csv: %v", err)
	}
	want := []string{"file", "class", "flows", "packets", "bytes", "seconds"}
	if len(recs) == 0 || strings.Join(recs[0], ",") != strings.Join(want, ",") {
		t.Fatalf("labels.csv header = %v, want %v", recs[0], want)
	}
	var rows []demoLabel
	for i, r := range recs[1:] {
		var l demoLabel
		l.file, l.class = r[0], r[1]
		for j, p := range []*int{&l.flows, &l.packets, &l.nbytes} {
			if *p, err = strconv.Atoi(r[2+j]); err != nil {
				t.Fatalf("labels.csv row %d, %s: %v", i+2, want[2+j], err)
			}
		}
		if _, err := strconv.ParseFloat(r[5], 64); err != nil {
			t.Fatalf("labels.csv row %d, seconds: %v", i+2, err)
		}
		rows = append(rows, l)
	}
	return rows
}

// TestDemoData checks the shipped captures: every one is listed in
// labels.csv, round-trips through the codec byte for byte, and has the
// packets, flows and size that labels.csv states (flows as tshark's
// tcp.stream/udp.stream count them must equal the codec's default flows).
func TestDemoData(t *testing.T) {
	rows := readDemoLabels(t)
	files, err := filepath.Glob(filepath.Join(demoDataDir, "*.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	classes := map[string]bool{}
	total := 0
	for _, r := range rows {
		listed[r.file] = true
		classes[r.class] = true
		total += r.nbytes
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is not in labels.csv", f)
		}
	}
	if len(classes) < 5 {
		t.Errorf("%d classes in labels.csv, want at least 5", len(classes))
	}
	// A few MB: enough to train on, small enough to commit.
	if total < 1<<20 || total > 8<<20 {
		t.Errorf("demo captures total %d bytes, want 1-8 MiB", total)
	}
	for _, r := range rows {
		t.Run(r.file, func(t *testing.T) {
			if r.class != strings.TrimSuffix(r.file, ".pcap") {
				t.Errorf("class %q, want the file's name %q", r.class, r.file)
			}
			if r.flows < 40 {
				t.Errorf("%d flows, want at least 40 for classification demos", r.flows)
			}
			data, err := os.ReadFile(filepath.Join(demoDataDir, r.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(data) != r.nbytes {
				t.Errorf("file has %d bytes, labels.csv says %d", len(data), r.nbytes)
			}
			var tok, out bytes.Buffer
			st, err := codec.Tokenize(context.Background(), bytes.NewReader(data), &tok, codec.TokenizeOptions{})
			if err != nil {
				t.Fatalf("tokenize: %v", err)
			}
			if _, err := codec.Detokenize(context.Background(), &tok, &out); err != nil {
				t.Fatalf("detokenize: %v", err)
			}
			if !bytes.Equal(out.Bytes(), data) {
				t.Errorf("round trip differs: %d bytes out, %d in, first difference at byte %d",
					out.Len(), len(data), firstByteDiff(out.Bytes(), data))
			}
			if st.Packets != r.packets || st.Flows != r.flows {
				t.Errorf("codec finds %d packets in %d flows, labels.csv says %d in %d", st.Packets, st.Flows, r.packets, r.flows)
			}
			if st.RawFraming != 0 {
				t.Errorf("%d records with non-canonical framing, want 0 from tcpdump", st.RawFraming)
			}
		})
	}
}

// firstByteDiff is the index of the first byte where a and b differ.
func firstByteDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
