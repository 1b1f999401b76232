package flow

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

func TestRecordFields(t *testing.T) {
	tcp := packet.Key{Kind: packet.KindPorts, IPVersion: 6, Proto: 6, PortA: 443, PortB: 51234}
	tcp.A[15], tcp.B[15] = 1, 2
	ether := packet.Key{Kind: packet.KindEther, EtherType: packet.EtherTypeARP}
	ether.A[5], ether.B[0] = 1, 0xff
	icmp := packet.Key{Kind: packet.KindIP, IPVersion: 4, Proto: 1}
	icmp.A[0], icmp.B[0] = 10, 11
	for _, tc := range []struct {
		name string
		rec  Record
		want map[string]string // column -> CSV value
	}{
		{"tcp v6, microseconds, server sent first", Record{
			FlowID: 3, File: "a,b.pcap", StartNs: 1_700_000_000_123_456_000, EndNs: 1_700_000_001_000_001_000,
			Res: pcap.Resolution(6), Key: tcp, FirstAToB: false, Tokens: 9, EndReason: EndFIN, CommunityID: "1:x",
			Counts: Counts{PacketsC2S: 1, PacketsS2C: 2, BytesC2S: 60, BytesS2C: 1514, CapturedC2S: 60, CapturedS2C: 96},
		}, map[string]string{
			"flow_id": "3", "file": "a,b.pcap", "start": "1700000000.123456", "end": "1700000001.000001", "duration": "0.876545",
			"proto": "6", "proto_name": "tcp", "client_addr": "::2", "client_port": "51234", "server_addr": "::1", "server_port": "443",
			"c2s_packets": "1", "s2c_packets": "2", "c2s_bytes": "60", "s2c_bytes": "1514", "c2s_captured_bytes": "60",
			"s2c_captured_bytes": "96", "tokens": "9", "end_reason": "fin", "community_id": "1:x",
		}},
		{"icmp, nanoseconds", Record{StartNs: 5_000_000_001, EndNs: 5_000_000_001, Res: pcap.Resolution(9), Key: icmp, FirstAToB: true},
			map[string]string{"start": "5.000000001", "proto": "1", "proto_name": "icmp", "client_addr": "10.0.0.0", "client_port": "", "server_port": "", "community_id": ""}},
		{"arp, binary resolution", Record{StartNs: 1_500_000_000, Res: pcap.Resolution(0x80 | 20), Key: ether, FirstAToB: true},
			map[string]string{"start": "1.500000000", "proto": "", "proto_name": "arp", "client_addr": "00:00:00:00:00:01", "server_addr": "ff:00:00:00:00:00", "client_port": ""}},
		{"link, seconds", Record{StartNs: 7_900_000_000, Res: pcap.Resolution(0), Key: packet.Key{Kind: packet.KindLink, LinkType: 147}},
			map[string]string{"start": "7", "proto_name": "link-147", "client_addr": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.rec.Fields()
			if len(f) != len(RecordColumns) {
				t.Fatalf("%d fields, %d columns", len(f), len(RecordColumns))
			}
			for c, w := range tc.want {
				if got := f[slices.Index(RecordColumns, c)]; got != w {
					t.Errorf("%s = %q, want %q", c, got, w)
				}
			}
			var obj map[string]any
			js := tc.rec.AppendJSON(nil)
			if err := json.Unmarshal(js, &obj); err != nil {
				t.Fatalf("invalid JSON %s: %v", js, err)
			}
			if len(obj) != len(RecordColumns) {
				t.Errorf("JSON has %d keys", len(obj))
			}
			for i, c := range RecordColumns {
				if f[i] == "" && c != "file" && obj[c] != nil {
					t.Errorf("JSON %s = %v, want null", c, obj[c])
				}
			}
		})
	}
}

func TestRecordJSONEscapes(t *testing.T) {
	r := Record{File: "a\"b\\c\n\x01é.pcap"}
	var obj map[string]any
	if err := json.Unmarshal(r.AppendJSON(nil), &obj); err != nil {
		t.Fatal(err)
	}
	if obj["file"] != r.File {
		t.Errorf("file %q, want %q", obj["file"], r.File)
	}
	if !strings.Contains(string(r.AppendJSON(nil)), `"start":0,`) {
		t.Errorf("start of a seconds-resolution zero time: %s", r.AppendJSON(nil))
	}
}
