package codec

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/flow"
)

// TestVerifyFiles: the demo captures (one of them gzipped) round-trip, a
// file that is no capture is unreadable, and Prepare and Done run per file.
func TestVerifyFiles(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile("../../testdata/demo/dns.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	gzPath := filepath.Join(dir, "dns.pcap.gz")
	junk := filepath.Join(dir, "junk.pcap")
	if err := os.WriteFile(gzPath, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(junk, []byte("not a capture at all, not at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := []string{"../../testdata/demo/dns.pcap", "../../testdata/demo/mqtt.pcap", gzPath, junk}
	var done, prepared, cleaned atomic.Int32
	res, err := VerifyFiles(context.Background(), files, VerifyOptions{Jobs: 2,
		Prepare: func(p string) (string, func(), error) { prepared.Add(1); return p, func() { cleaned.Add(1) }, nil },
		Done:    func() { done.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res[:3] {
		if r.Err != nil || r.Mismatch != nil || r.Stats.Packets == 0 {
			t.Errorf("%s: %+v", files[i], r)
		}
	}
	if res[2].Stats.Packets != res[0].Stats.Packets || !res[2].Stats.Gzipped {
		t.Errorf("gzipped copy: %d packets, plain %d", res[2].Stats.Packets, res[0].Stats.Packets)
	}
	if res[3].Err == nil {
		t.Errorf("%s: no error", junk)
	}
	if done.Load() != 4 || prepared.Load() != 4 || cleaned.Load() != 4 {
		t.Errorf("done %d, prepared %d, cleaned up %d; want 4 each", done.Load(), prepared.Load(), cleaned.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := VerifyFiles(ctx, files, VerifyOptions{}); err == nil {
		t.Error("canceled: no error")
	}
}

// TestCompareWriter: the first differing byte, output longer or shorter
// than the file.
func TestCompareWriter(t *testing.T) {
	tests := []struct {
		want, got []string // got: the writes
		err       string   // "" = equal
	}{
		{[]string{"abcdef"}, []string{"abc", "def"}, ""},
		{[]string{"abcdef"}, []string{"abc", "dXf"}, "byte 4 differs"},
		{[]string{"abc"}, []string{"abc", "d"}, "longer than the capture (3 bytes)"},
	}
	for _, tc := range tests {
		c := &compareWriter{want: bufio.NewReader(strings.NewReader(strings.Join(tc.want, "")))}
		var err error
		for _, w := range tc.got {
			if _, err = c.Write([]byte(w)); err != nil {
				break
			}
		}
		switch {
		case tc.err == "" && err != nil, tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q vs %q: %v, want %q", tc.got, tc.want, err, tc.err)
		}
	}
	if got := firstDiff([]byte("abc"), []byte("ab")); got != 2 {
		t.Errorf("firstDiff(abc, ab) = %d, want 2", got)
	}
}

// TestBenchTokenize: a positive time for a capture, the tokenizer's error
// for bytes that are none.
func TestBenchTokenize(t *testing.T) {
	b, err := os.ReadFile("../../testdata/demo/dns.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if d, err := BenchTokenize(context.Background(), b, 2); err != nil || d <= 0 {
		t.Errorf("BenchTokenize: %v, %v", d, err)
	}
	if _, err := BenchTokenize(context.Background(), []byte("no capture"), 1); err == nil {
		t.Error("BenchTokenize of no capture: no error")
	}
}

// TestEncodedFlowRecord: a flow's listing row carries its id, times,
// tokens and Community ID, one field per column.
func TestEncodedFlowRecord(t *testing.T) {
	f, err := os.Open("../../testdata/demo/dns.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	_, err = EncodeFlows(context.Background(), f, EncodeOptions{Flow: flow.DefaultConfig(), CountOnly: true}, func(ef *EncodedFlow) error {
		r := ef.Record("dns.pcap")
		if r.FlowID != ef.ID || r.File != "dns.pcap" || r.Tokens != ef.NumTokens || r.StartNs > r.EndNs || r.CommunityID == "" ||
			r.EndReason != ef.Reason || len(r.Fields()) != len(flow.RecordColumns) {
			t.Errorf("flow %d: record %+v", ef.ID, r)
		}
		n++
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("%d flows, %v", n, err)
	}
}

// TestVerifyReportText: per-file lines (quiet keeps failures and empty
// files), the non-captures and the summary's counts.
func TestVerifyReportText(t *testing.T) {
	files := []string{"a.pcap", "b.pcap", "c.pcap", "d.pcap"}
	results := []VerifyResult{
		{Stats: Stats{Packets: 10, Flows: 2, Tokens: 400, PaperTokens: 500}},
		{Stats: Stats{}},
		{Err: errors.New("cut")},
		{Mismatch: errors.New("byte 7")},
	}
	r := NewVerifyReport(files, results, []string{"notes.txt"})
	if r.OK != 2 || r.Empty != 1 || r.Unreadable != 1 || r.Mismatched != 1 || r.Packets != 10 {
		t.Fatalf("counts %+v", r)
	}
	for _, quiet := range []bool{false, true} {
		var b strings.Builder
		r.WriteText(&b, quiet, func(err error) error { return fmt.Errorf("%w (hint)", err) })
		want := "ok       a.pcap: 10 packets, 2 flows, 400 tokens, 40.0 tokens/packet\n" +
			"empty    b.pcap: no packets\n" +
			"ERROR    c.pcap: cut (hint)\n" +
			"MISMATCH d.pcap: byte 7\n" +
			"1 files in the input folders are not captures and were skipped: notes.txt\n" +
			"2 files byte-identical (1 of them without packets), 1 unreadable, 1 mismatched, 1 not captures; 10 packets, 40.0 tokens/packet (paper's layout: 50.0)\n"
		if quiet {
			want = strings.TrimPrefix(want, "ok       a.pcap: 10 packets, 2 flows, 400 tokens, 40.0 tokens/packet\n")
		}
		if b.String() != want {
			t.Errorf("quiet %v:\n%s\nwant:\n%s", quiet, b.String(), want)
		}
	}
}
