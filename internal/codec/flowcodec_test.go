package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// buildPacket makes an Ethernet frame with an IPv4 or IPv6 header and a TCP
// or UDP segment, with correct lengths and checksums.
func buildPacket(v6 bool, proto uint8, c2s bool, payload []byte) []byte {
	macA := []byte{2, 0, 0, 0, 0, 1}
	macB := []byte{2, 0, 0, 0, 0, 2}
	ipA4, ipB4 := []byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}
	ipA6 := append(bytes.Repeat([]byte{0xfd}, 15), 1)
	ipB6 := append(bytes.Repeat([]byte{0xfd}, 15), 2)
	sp, dp := uint16(40000), uint16(443)
	if !c2s {
		macA, macB = macB, macA
		ipA4, ipB4 = ipB4, ipA4
		ipA6, ipB6 = ipB6, ipA6
		sp, dp = dp, sp
	}
	var l4 []byte
	if proto == 6 {
		l4 = make([]byte, 20)
		l4[12] = 5 << 4
		l4[13] = 0x18
		binary.BigEndian.PutUint16(l4[14:], 502)
	} else {
		l4 = make([]byte, 8)
		binary.BigEndian.PutUint16(l4[4:], uint16(8+len(payload)))
	}
	binary.BigEndian.PutUint16(l4[0:], sp)
	binary.BigEndian.PutUint16(l4[2:], dp)
	l4 = append(l4, payload...)
	var p []byte
	p = append(p, macB...)
	p = append(p, macA...)
	if v6 {
		p = append(p, 0x86, 0xdd)
		ip := make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(len(l4)))
		ip[6] = proto
		ip[7] = 64
		copy(ip[8:], ipA6)
		copy(ip[24:], ipB6)
		p = append(p, ip...)
	} else {
		p = append(p, 0x08, 0x00)
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
		binary.BigEndian.PutUint16(ip[4:], 0x1234)
		ip[8] = 64
		ip[9] = proto
		copy(ip[12:], ipA4)
		copy(ip[16:], ipB4)
		binary.BigEndian.PutUint16(ip[10:], ipv4HeaderChecksum(ip))
		p = append(p, ip...)
	}
	p = append(p, l4...)
	var lay layout
	w := walker{src: walkSource{data: p, lay: &lay}, omit: func(spanKind, int) bool { return false }}
	w.walk(1)
	cs := lay.l4Off + 16
	if proto == 17 {
		cs = lay.l4Off + 6
	}
	binary.BigEndian.PutUint16(p[cs:], predictL4Checksum(p, &lay))
	return p
}

type testPkt struct {
	c2s     bool
	ticks   uint64
	origLen uint32
	data    []byte
}

func roundTrip(t *testing.T, link uint32, pkts []testPkt, v View) ([]Token, []Packet) {
	t.Helper()
	e := NewFlowEncoder(v)
	toks := e.Begin(nil, Header{LinkType: link, Resolution: pcap.Micro, Label: -1}, pkts[0].ticks)
	for _, p := range pkts {
		toks = e.Packet(toks, p.c2s, p.ticks, true, p.origLen, p.data)
	}
	toks = e.End(toks)
	var got []Packet
	_, err := DecodeFlow(toks, pkts[0].ticks, func(p Packet) error {
		p.Data = append([]byte(nil), p.Data...)
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, Format(toks))
	}
	return toks, got
}

func TestFlowRoundTrip(t *testing.T) {
	mk := func(v6 bool, proto uint8) []testPkt {
		var ps []testPkt
		ts := uint64(1_700_000_000_000_000)
		for i := 0; i < 6; i++ {
			d := buildPacket(v6, proto, i%2 == 0, bytes.Repeat([]byte{byte(i)}, i*37))
			ts += uint64(i*i*1000 + 15)
			ps = append(ps, testPkt{i%2 == 0, ts, uint32(len(d)), d})
		}
		return ps
	}
	cases := map[string][]testPkt{
		"tcp4": mk(false, 6), "udp4": mk(false, 17), "tcp6": mk(true, 6), "udp6": mk(true, 17),
	}
	// Broken fields must survive: bad checksum, Ethernet padding, truncation,
	// caplen > origlen, time going backwards.
	bad := mk(false, 6)
	bad[1].data = append([]byte(nil), bad[1].data...)
	bad[1].data[len(bad[1].data)-1] ^= 0xff
	bad[2].data = append(append([]byte(nil), bad[2].data...), 0, 0, 0, 0)
	bad[2].origLen += 4
	bad[3].origLen += 100
	bad[4].origLen -= 3
	bad[5].ticks = bad[0].ticks - 5
	cases["broken"] = bad
	short := mk(false, 6)
	short[2].data = short[2].data[:30]
	cases["cut-in-header"] = short
	for name, pkts := range cases {
		t.Run(name, func(t *testing.T) {
			toks, got := roundTrip(t, 1, pkts, View{})
			if len(got) != len(pkts) {
				t.Fatalf("got %d packets, want %d", len(got), len(pkts))
			}
			bytesIn := 0
			for i := range pkts {
				bytesIn += len(pkts[i].data)
				if !bytes.Equal(got[i].Data, pkts[i].data) || got[i].OrigLen != pkts[i].origLen ||
					got[i].Ticks != pkts[i].ticks || got[i].C2S != pkts[i].c2s {
					t.Fatalf("packet %d differs:\n got %x len %d ts %d\nwant %x len %d ts %d\n%s", i,
						got[i].Data, got[i].OrigLen, got[i].Ticks, pkts[i].data, pkts[i].origLen, pkts[i].ticks, Format(toks))
				}
			}
			t.Logf("%s: %d tokens for %d packets (%d bytes)", name, len(toks), len(pkts), bytesIn)
		})
	}
}

func TestFlowSavesTokens(t *testing.T) {
	var pkts []testPkt
	for i := 0; i < 10; i++ {
		d := buildPacket(false, 6, i%2 == 0, nil)
		pkts = append(pkts, testPkt{i%2 == 0, uint64(1000 + i*20), uint32(len(d)), d})
	}
	toks, _ := roundTrip(t, 1, pkts, View{})
	// 54-byte ACKs: after the first packet, 54 - 12 (MAC) - 8 (IP) - 4
	// (ports) - 2 (len) - 2 (IP csum) - 2 (TCP csum) = 24 bytes + <dir> + time.
	per := float64(len(toks)-5) / 10
	if per > 30 {
		t.Errorf("%.1f tokens per ACK packet, want <= 30\n%s", per, Format(toks))
	}
}

func TestViews(t *testing.T) {
	var pkts []testPkt
	for i := 0; i < 8; i++ {
		d := buildPacket(false, 6, i%2 == 0, bytes.Repeat([]byte{0xab}, 300))
		pkts = append(pkts, testPkt{i%2 == 0, uint64(1000 + i*20), uint32(len(d)), d})
	}
	for _, v := range []View{
		{Mask: MaskAddr | MaskPorts}, {HeaderOnly: true}, {MaxPayload: 16, Mask: MaskAddr | MaskPorts | MaskMAC | MaskTTL | MaskIPID},
		{MaxPackets: 3}, {MaxTokens: 100}, {MaxTokens: 20},
	} {
		t.Run(fmt.Sprintf("%+v", v), func(t *testing.T) {
			toks, got := roundTrip(t, 1, pkts, v)
			if v.MaxTokens > 0 && len(toks) > v.MaxTokens {
				t.Errorf("%d tokens > MaxTokens %d", len(toks), v.MaxTokens)
			}
			for i, p := range got {
				if p.OrigLen != pkts[i].origLen {
					t.Errorf("packet %d: orig len %d, want %d", i, p.OrigLen, pkts[i].origLen)
				}
				if int(p.OrigLen) < len(p.Data) {
					t.Errorf("packet %d: caplen %d > len %d", i, len(p.Data), p.OrigLen)
				}
			}
			if v.MaxPackets > 0 && len(got) != v.MaxPackets {
				t.Errorf("%d packets, want %d", len(got), v.MaxPackets)
			}
			if toks[len(toks)-1] != CUT && toks[len(toks)-1] != END {
				t.Errorf("flow does not end in <end>/<cut>")
			}
		})
	}
}

func TestNumber(t *testing.T) {
	for _, n := range []uint64{0, 1, 2, 3, 5, 255, 256, 1000, 1 << 20, 1<<63 + 12345, ^uint64(0)} {
		toks := AppendNumber(nil, n)
		got, used, err := ReadNumber(toks)
		if err != nil || got != n || used != len(toks) {
			t.Errorf("%d: got %d used %d/%d err %v", n, got, used, len(toks), err)
		}
	}
}

func TestTokenKinds(t *testing.T) {
	d := buildPacket(false, 6, true, []byte("hello"))
	e := NewFlowEncoder(View{})
	toks := e.Begin(nil, Header{LinkType: 1, Resolution: pcap.Micro, Label: -1}, 0)
	toks = e.Packet(toks, true, 0, true, uint32(len(d)), d)
	toks = e.Packet(toks, true, 70000, true, uint32(len(d)), d)
	toks = e.End(toks)
	toks = append(toks, CLS, PAD)
	kinds := make([]Kind, len(toks))
	TokenKinds(toks, kinds)
	count := map[Kind]int{}
	for _, k := range kinds {
		count[k]++
	}
	// first packet: 54 header bytes - 6 (length, checksums) = 48; second: 54 - 30 (also MACs, addresses, ports) = 24.
	if count[KindPayload] != 10 || count[KindHeader] != 48+24 || count[KindPad] != 1 || count[KindTime] != 1+3 {
		t.Errorf("kinds %v\n%s", count, Format(toks))
	}
}

func TestViewValidate(t *testing.T) {
	for _, c := range []struct {
		v    View
		want string
	}{
		{View{}, ""},
		{View{MaxTokens: 8, MaxPackets: 4, MaxPayload: 64}, ""},
		{View{MaxPayload: -1}, "view limits must not be negative"},
		{View{MaxPackets: -1}, "view limits must not be negative"},
		{View{MaxTokens: 7}, "--max-tokens 7 is too small for a flow header and a packet"},
	} {
		err := c.v.Validate()
		if (c.want == "" && err != nil) || (c.want != "" && (err == nil || err.Error() != c.want)) {
			t.Errorf("%+v: %v, want %q", c.v, err, c.want)
		}
	}
}
