package flow

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/packet"
)

// Hand-built raw IPv4 (link type 228) packets.

func ip4(src, dst byte, proto uint8, id uint16, frag uint16, l4 []byte) []byte {
	b := []byte{0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, src, 10, 0, 0, dst}
	binary.BigEndian.PutUint16(b[2:], uint16(20+len(l4)))
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], frag)
	return append(b, l4...)
}

func tcpSeg(sp, dp uint16, flags uint8) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b, sp)
	binary.BigEndian.PutUint16(b[2:], dp)
	b[12] = 5 << 4
	b[13] = flags
	return b
}

func udpSeg(sp, dp uint16, n int) []byte {
	b := make([]byte, 8+n)
	binary.BigEndian.PutUint16(b, sp)
	binary.BigEndian.PutUint16(b[2:], dp)
	binary.BigEndian.PutUint16(b[4:], uint16(8+n))
	return b
}

const (
	syn    = packet.TCPSyn
	ack    = packet.TCPAck
	fin    = packet.TCPFin
	rst    = packet.TCPRst
	synack = syn | ack
	finack = fin | ack
)

// c is the client (10.0.0.2:40000), s the server (10.0.0.1:80).
func c2s(flags uint8) []byte { return ip4(2, 1, 6, 0, 0, tcpSeg(40000, 80, flags)) }
func s2c(flags uint8) []byte { return ip4(1, 2, 6, 0, 0, tcpSeg(80, 40000, flags)) }

type step struct {
	ms   int64 // timestamp in ms
	link uint32
	data []byte
	// expected assignment
	flow uint64
	c2s  bool
}

type seqCase struct {
	name  string
	cfg   Config
	steps []step
	ended []Ended // Flow, Reason, Packets compared, in Finish order
}

func st(ms int64, data []byte, flow uint64, c2s bool) step {
	return step{ms: ms, link: packet.LinkIPv4, data: data, flow: flow, c2s: c2s}
}

func ethStep(ms int64, data []byte, flow uint64, c2s bool) step {
	return step{ms: ms, link: packet.LinkEthernet, data: data, flow: flow, c2s: c2s}
}

func arp(src, dst byte) []byte {
	b := make([]byte, 14+28)
	copy(b, []byte{2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 8, 6})
	return b
}

func seqCases() []seqCase {
	handshake := func(t0 int64, flow uint64) []step {
		return []step{
			st(t0, c2s(syn), flow, true),
			st(t0+1, s2c(synack), flow, false),
			st(t0+2, c2s(ack), flow, true),
			st(t0+3, c2s(finack), flow, true),
			st(t0+4, s2c(finack), flow, false),
			st(t0+5, c2s(ack), flow, true),
		}
	}
	return []seqCase{
		{
			name:  "tcp reuse after fin",
			steps: append(handshake(0, 0), handshake(100, 1)...),
			ended: []Ended{{Flow: 0, Reason: EndFIN, Packets: 6}, {Flow: 1, Reason: EndEOF, Packets: 6}},
		},
		{
			name:  "tcp fin then grace",
			steps: append(handshake(0, 0), st(5000, c2s(ack), 1, true)),
			ended: []Ended{{Flow: 0, Reason: EndFIN, Packets: 6}, {Flow: 1, Reason: EndEOF, Packets: 1}},
		},
		{
			name: "tcp late ack within grace",
			steps: append(handshake(0, 0), st(1000, s2c(ack), 0, false), st(2500, c2s(ack), 0, true),
				st(5000, c2s(ack), 1, true)),
			ended: []Ended{{Flow: 0, Reason: EndFIN, Packets: 8}, {Flow: 1, Reason: EndEOF, Packets: 1}},
		},
		{
			name: "rst then syn",
			steps: []step{
				st(0, c2s(syn), 0, true),
				st(1, s2c(rst|ack), 0, false),
				st(2, c2s(syn), 1, true),
				st(3, s2c(synack), 1, false),
			},
			ended: []Ended{{Flow: 0, Reason: EndRST, Packets: 2}, {Flow: 1, Reason: EndEOF, Packets: 2}},
		},
		{
			name: "syn retransmission is the same flow",
			steps: []step{
				st(0, c2s(syn), 0, true),
				st(1000, c2s(syn), 0, true),
				st(3000, c2s(syn), 0, true),
			},
			ended: []Ended{{Flow: 0, Reason: EndEOF, Packets: 3}},
		},
		{
			name: "idle timeout",
			cfg:  Config{IdleTimeout: 10 * time.Second},
			steps: []step{
				st(0, ip4(2, 1, 17, 0, 0, udpSeg(5000, 53, 4)), 0, true),
				st(10000, ip4(1, 2, 17, 0, 0, udpSeg(53, 5000, 4)), 0, false),
				st(20001, ip4(1, 2, 17, 0, 0, udpSeg(53, 5000, 4)), 1, true),
			},
			ended: []Ended{{Flow: 0, Reason: EndIdle, Packets: 2}, {Flow: 1, Reason: EndEOF, Packets: 1}},
		},
		{
			name: "udp icmp arp separate",
			steps: []step{
				st(0, ip4(2, 1, 17, 0, 0, udpSeg(5000, 53, 4)), 0, true),
				st(1, ip4(2, 1, 1, 0, 0, make([]byte, 8)), 1, true),
				ethStep(2, arp(2, 1), 2, true),
				ethStep(3, arp(1, 2), 2, false),
				st(4, ip4(1, 2, 1, 0, 0, make([]byte, 8)), 1, false),
				st(5, ip4(1, 2, 17, 0, 0, udpSeg(53, 5000, 4)), 0, false),
				step{ms: 6, link: 147, data: []byte{1, 2, 3}, flow: 3, c2s: true},
			},
			ended: []Ended{{Flow: 0, Reason: EndEOF, Packets: 2}, {Flow: 1, Reason: EndEOF, Packets: 2}, {Flow: 2, Reason: EndEOF, Packets: 2}, {Flow: 3, Reason: EndEOF, Packets: 1}},
		},
		{
			name: "fragments follow first fragment",
			steps: []step{
				st(0, ip4(2, 1, 17, 77, 0x2000, udpSeg(5000, 53, 16)), 0, true),
				st(1, ip4(2, 1, 17, 77, 3, make([]byte, 8)), 0, true),
				st(2, ip4(1, 2, 17, 0, 0, udpSeg(53, 5000, 4)), 0, false),
				// unknown datagram: its own (address pair, protocol) flow
				st(3, ip4(1, 2, 17, 78, 3, make([]byte, 8)), 1, true),
				st(4, ip4(2, 1, 17, 79, 3, make([]byte, 8)), 1, false),
			},
			ended: []Ended{{Flow: 0, Reason: EndEOF, Packets: 3}, {Flow: 1, Reason: EndEOF, Packets: 2}},
		},
		{
			name: "timestamps going backwards",
			cfg:  Config{IdleTimeout: 10 * time.Second},
			steps: []step{
				st(50000, c2s(syn), 0, true),
				st(0, s2c(synack), 0, false),  // far in the past: counts as now
				st(59000, c2s(ack), 0, true),  // 9 s after the clock
				st(70000, c2s(ack), 1, true),  // 11 s: idle
				st(-5000, s2c(ack), 1, false), // negative, still the same flow
			},
			ended: []Ended{{Flow: 0, Reason: EndIdle, Packets: 3}, {Flow: 1, Reason: EndEOF, Packets: 2}},
		},
	}
}

func runSeq(t *testing.T, tc seqCase) []Ended {
	a := NewAssembler(tc.cfg)
	var l packet.Layers
	for i, s := range tc.steps {
		packet.Decode(s.link, s.data, &l)
		as := a.AddLayers(s.ms*1e6, &l, s.data, 0)
		if as.Flow != s.flow || as.C2S != s.c2s {
			t.Fatalf("step %d: got flow %d c2s %v, want %d %v", i, as.Flow, as.C2S, s.flow, s.c2s)
		}
	}
	return a.Finish(nil)
}

func TestAssemblerSequences(t *testing.T) {
	for _, tc := range seqCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := runSeq(t, tc)
			if len(got) != len(tc.ended) {
				t.Fatalf("ended %d flows, want %d: %+v", len(got), len(tc.ended), got)
			}
			for i, w := range tc.ended {
				g := got[i]
				if g.Flow != w.Flow || g.Reason != w.Reason || g.Packets != w.Packets {
					t.Errorf("ended[%d] = flow %d %v %d packets, want flow %d %v %d", i, g.Flow, g.Reason, g.Packets, w.Flow, w.Reason, w.Packets)
				}
			}
			// Determinism: same input, same output.
			if again := runSeq(t, tc); !slices.Equal(got, again) {
				t.Errorf("second run differs")
			}
		})
	}
}

// TestAssemblerManyFlows checks expiry order and that memory is recycled.
func TestAssemblerManyFlows(t *testing.T) {
	a := NewAssembler(Config{IdleTimeout: time.Second})
	var ended []Ended
	total := 0
	for i := 0; i < 100000; i++ {
		var k packet.Key
		k.Kind = packet.KindPorts
		binary.BigEndian.PutUint32(k.A[:], uint32(i))
		as := a.Add(int64(i)*1e6, k, true, 0, false) // 1000 flows/s, each seen once
		if !as.New || as.Flow != uint64(i) {
			t.Fatalf("packet %d: %+v", i, as)
		}
		ended = a.Ended(ended[:0])
		for j, e := range ended {
			if e.Reason != EndIdle || (j > 0 && e.Flow <= ended[j-1].Flow) {
				t.Fatalf("bad ended %+v", e)
			}
		}
		total += len(ended)
		if a.Active() > 1002 {
			t.Fatalf("%d active flows", a.Active())
		}
	}
	total += len(a.Finish(nil))
	if total != 100000 || len(a.slots) > 1003 {
		t.Errorf("total %d, slots %d", total, len(a.slots))
	}
}

// TestAssemblerRandom drives the assembler with a seeded random mix of TCP,
// UDP and fragment packets, timestamps that jump back and forth, and checks
// the invariants: every packet is in exactly one flow, ids are sequential,
// a flow never receives packets after it ended, and each flow ends once.
func TestAssemblerRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	a := NewAssembler(Config{IdleTimeout: 5 * time.Second, TCPCloseGrace: time.Second, FragTimeout: 2 * time.Second, MaxFragments: 8})
	ended := map[uint64]int{} // flow -> packets reported
	assigned := map[uint64]int{}
	var next uint64
	var l packet.Layers
	var buf []Ended
	ts := int64(0)
	collect := func(es []Ended) {
		for _, e := range es {
			if _, dup := ended[e.Flow]; dup {
				t.Fatalf("flow %d ended twice", e.Flow)
			}
			ended[e.Flow] = e.Packets
		}
	}
	flags := []uint8{syn, synack, ack, finack, rst, 0}
	n := 200000
	if testing.Short() {
		n = 30000
	}
	for i := 0; i < n; i++ {
		ts += int64(r.IntN(400)-50) * 1e6 // sometimes backwards
		src, dst := byte(1+r.IntN(3)), byte(1+r.IntN(3))
		var data []byte
		switch r.IntN(4) {
		case 0:
			data = ip4(src, dst, 6, 0, 0, tcpSeg(uint16(1000+r.IntN(2)), uint16(80+r.IntN(2)), flags[r.IntN(len(flags))]))
		case 1:
			data = ip4(src, dst, 17, 0, 0, udpSeg(53, uint16(1000+r.IntN(3)), 4))
		case 2:
			data = ip4(src, dst, 17, uint16(r.IntN(4)), 0x2000, udpSeg(53, 1000, 16))
		default:
			data = ip4(src, dst, 17, uint16(r.IntN(4)), uint16(1+r.IntN(3)), make([]byte, 8))
		}
		packet.Decode(packet.LinkIPv4, data, &l)
		as := a.AddLayers(ts, &l, data, 0)
		if as.New {
			if as.Flow != next {
				t.Fatalf("packet %d: new flow %d, want %d", i, as.Flow, next)
			}
			next++
		} else if as.Flow >= next {
			t.Fatalf("packet %d: unknown flow %d", i, as.Flow)
		}
		buf = a.Ended(buf[:0])
		collect(buf)
		if _, gone := ended[as.Flow]; gone {
			t.Fatalf("packet %d assigned to ended flow %d", i, as.Flow)
		}
		assigned[as.Flow]++
	}
	collect(a.Finish(nil))
	if uint64(len(ended)) != next {
		t.Fatalf("%d flows ended, %d started", len(ended), next)
	}
	for f, n := range assigned {
		if ended[f] != n {
			t.Fatalf("flow %d: %d packets assigned, %d reported", f, n, ended[f])
		}
	}
	if a.Active() != 0 || len(a.frags) > 8 {
		t.Errorf("after Finish: %d active, %d fragments remembered", a.Active(), len(a.frags))
	}
	t.Logf("%d flows", next)
}

func TestStats(t *testing.T) {
	f := &Flow{Packets: []Packet{
		{TsNanos: 1000, C2S: true, OrigLen: 100, Data: make([]byte, 60)},
		{TsNanos: 500, C2S: false, OrigLen: 40, Data: make([]byte, 40)}, // timestamp went backwards
		{TsNanos: 3000, C2S: true, OrigLen: 60, Data: make([]byte, 60)},
	}}
	got := f.Stats()
	want := Stats{Packets: 3, PacketsC2S: 2, PacketsS2C: 1, Bytes: 200, BytesC2S: 160, BytesS2C: 40, Captured: 160, First: 500, Last: 3000, Duration: 2500}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// TestFragmentMemoryBounded: the fragment table stays within MaxFragments
// whatever the mix of new and repeated datagram ids.
func TestFragmentMemoryBounded(t *testing.T) {
	a := NewAssembler(Config{MaxFragments: 16})
	var l packet.Layers
	for i := 0; i < 100000; i++ {
		id := uint16(i)
		if i%2 == 0 {
			id = 7 // a repeated id, refreshed in place
		}
		data := ip4(2, 1, 17, id, 0x2000, udpSeg(5000, 53, 16))
		packet.Decode(packet.LinkIPv4, data, &l)
		a.AddLayers(int64(i), &l, data, 0)
		if len(a.frags) > 16 || len(a.fragQ)-a.fragHd != len(a.frags) || len(a.fragQ) > 200 {
			t.Fatalf("packet %d: %d remembered, queue %d from %d", i, len(a.frags), len(a.fragQ), a.fragHd)
		}
	}
}
