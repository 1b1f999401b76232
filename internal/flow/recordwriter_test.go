package flow

import (
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

func TestRecordWriter(t *testing.T) {
	k := packet.Key{Kind: packet.KindPorts, IPVersion: 4, Proto: 17, PortA: 53, PortB: 40000}
	k.A[0], k.B[0] = 10, 11
	rec := Record{FlowID: 2, File: "dns.pcap", StartNs: 1_000_000_000, EndNs: 1_250_000_000, Res: pcap.Resolution(6), Key: k,
		FirstAToB: false, Tokens: 42, EndReason: EndIdle, Counts: Counts{PacketsC2S: 1, PacketsS2C: 1, BytesC2S: 80, BytesS2C: 120}}
	for _, tc := range []struct {
		format string
		want   []string // lines (prefixes for text)
	}{
		{"csv", []string{strings.Join(RecordColumns, ","), "2,dns.pcap,1.000000,1.250000,0.250000,17,udp,"}},
		{"jsonl", []string{`{"flow_id":2,"file":"dns.pcap",`}},
		{"text", []string{"id    flow (client -> server)", "2     "}},
	} {
		var b strings.Builder
		rw, err := NewRecordWriter(&b, tc.format)
		if err != nil {
			t.Fatal(err)
		}
		if err := rw.WriteHeader(); err != nil {
			t.Fatal(err)
		}
		if err := rw.Write(&rec); err != nil {
			t.Fatal(err)
		}
		if err := rw.Flush(); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if len(lines) != len(tc.want) {
			t.Fatalf("%s: %d lines, want %d:\n%s", tc.format, len(lines), len(tc.want), b.String())
		}
		for i, w := range tc.want {
			if !strings.HasPrefix(lines[i], w) {
				t.Errorf("%s line %d: %q, want prefix %q", tc.format, i, lines[i], w)
			}
		}
		if tc.format == "text" && !strings.HasSuffix(lines[1], "       2        200     0.250s        42  idle") {
			t.Errorf("text row %q", lines[1])
		}
	}
	if _, err := NewRecordWriter(nil, "xml"); err == nil {
		t.Error("format xml accepted")
	}
}
