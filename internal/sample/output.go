package sample

import (
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// Addressing says which address fields the Writer replaces (doc.go,
// "Addresses").
type Addressing uint8

const (
	// AddrAuto replaces the address fields the model left zero (masked).
	AddrAuto Addressing = iota
	// AddrScheme replaces every address field of flows without a prompt.
	AddrScheme
)

// DefaultEpoch is the capture start of WriteOptions: 2026-01-01T00:00:00Z,
// in microseconds since the Unix epoch.
const DefaultEpoch = 1767225600 * 1_000_000

// WriteOptions configure a Writer.
type WriteOptions struct {
	Seed       uint64
	Rate       float64 // flow arrivals per second (Poisson); default 10
	Epoch      uint64  // first arrival is after this, in microseconds; default DefaultEpoch
	Addressing Addressing
	// StartGaps, when not empty, are the gaps between consecutive flow
	// starts of a real capture (microseconds): each generated gap is one
	// of them, drawn uniformly (a bootstrap of the real arrival process,
	// bursts included); Rate is then unused.
	StartGaps []uint64
	// FlowIdle is the flow idle timeout readers of the file use (default
	// flow.DefaultIdleTimeout): a flow that must share an earlier flow's
	// 5-tuple (a well-known client port, as DHCP's 68 and NTP's 123)
	// starts more than this after that flow's last packet, so that it
	// reads back as a flow of its own, as in a real capture.
	FlowIdle time.Duration
}

// WriteStats count what a Writer wrote.
type WriteStats struct {
	Flows, Packets int
	Bytes          int64
	Rewritten      int // packets whose addresses or TTL were replaced
	Delayed        int // flows started later to keep their 5-tuple apart (FlowIdle)
	Refused        int // flows left out (Flow.Refused)
}

// Writer turns generated flows into one classic pcap (microseconds,
// Ethernet) whose packets are in timestamp order. Flows may arrive in any
// order; a packet is written once no unfinished flow can start before it,
// so memory holds the packets of flows that overlap in time.
type Writer struct {
	pw      *pcap.PacketWriter
	o       WriteOptions
	starts  []uint64 // per flow index: start time in microseconds
	done    []bool
	low     int // lowest flow index not yet added
	pending pktHeap
	svc     map[svcKey]int
	tuples  map[string]uint64 // 5-tuples of the flows added (tupleKey + client port): last packet time (us)
	seq     int
	Stats   WriteStats
}

type svcKey struct {
	etype uint16
	proto uint8
	port  uint16
}

type pendingPkt struct {
	ts        uint64
	flow, seq int
	c2s       bool
	orig      uint32
	data      []byte
}

type pktHeap []pendingPkt

func (h pktHeap) Len() int { return len(h) }
func (h pktHeap) Less(i, j int) bool {
	if h[i].ts != h[j].ts {
		return h[i].ts < h[j].ts
	}
	if h[i].flow != h[j].flow {
		return h[i].flow < h[j].flow
	}
	return h[i].seq < h[j].seq
}
func (h pktHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pktHeap) Push(x any)   { *h = append(*h, x.(pendingPkt)) }
func (h *pktHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// NewWriter writes the pcap header to w and draws the start times of n
// flows: exponential gaps of mean 1/Rate seconds (or gaps drawn from
// StartGaps) from Epoch, in flow index order, from the PCG stream (Seed,
// 2^64-1) (flows use (Seed, index)).
func NewWriter(w io.Writer, n int, o WriteOptions) (*Writer, error) {
	if o.Rate == 0 {
		o.Rate = 10
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return nil, fmt.Errorf("%w: arrival rate %g must be > 0", ErrOptions, o.Rate)
	}
	if o.Epoch == 0 {
		o.Epoch = DefaultEpoch
	}
	if o.FlowIdle <= 0 {
		o.FlowIdle = flow.DefaultIdleTimeout
	}
	pw, err := pcap.NewPacketWriter(w, pcap.Framing{Format: pcap.FormatPcap, Resolution: pcap.Micro}, 1, 65535)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, math.MaxUint64))
	starts := make([]uint64, n)
	t := float64(o.Epoch)
	for i := range starts {
		if len(o.StartGaps) > 0 {
			t += float64(o.StartGaps[rng.IntN(len(o.StartGaps))])
		} else {
			t += rng.ExpFloat64() / o.Rate * 1e6
		}
		starts[i] = uint64(t)
	}
	return &Writer{pw: pw, o: o, starts: starts, done: make([]bool, n), svc: map[svcKey]int{},
		tuples: map[string]uint64{}}, nil
}

// Start is flow i's start time in microseconds.
func (w *Writer) Start(i int) uint64 { return w.starts[i] }

// flowAddrs are a flow's replacement addresses, oriented client -> server,
// and which of them apply.
type flowAddrs struct {
	mac            [2][6]byte
	ip4            [2][4]byte
	ip6            [2][16]byte
	port           [2]uint16
	setMAC, setIP  [2]bool
	setPort        [2]bool
	v6             bool
	structuredFlow bool
}

// AddFlow decodes f, assigns addresses, fixes checksums and queues its
// packets; it writes the packets no later flow can precede.
func (w *Writer) AddFlow(f *Flow) error {
	if f.Index < 0 || f.Index >= len(w.starts) || w.done[f.Index] {
		return fmt.Errorf("sample: flow index %d out of range or added twice", f.Index)
	}
	if f.Refused {
		// Left out (it copies training payload): nothing to write, but
		// later flows need not wait for it.
		w.done[f.Index] = true
		w.Stats.Refused++
		return w.advance()
	}
	pkts, err := w.packets(f, true)
	if err != nil {
		return err
	}
	w.done[f.Index] = true
	w.Stats.Flows++
	for _, p := range pkts {
		heap.Push(&w.pending, p)
	}
	return w.advance()
}

// packets decodes f and gives its packets their addresses, checksums and
// times (count: the flow is being added: add the rewritten packets to
// Stats and record its 5-tuple).
func (w *Writer) packets(f *Flow, count bool) ([]pendingPkt, error) {
	if f.Index < 0 || f.Index >= len(w.starts) {
		return nil, fmt.Errorf("sample: flow index %d out of range", f.Index)
	}
	start := w.starts[f.Index]
	var pkts []pendingPkt
	hdr, err := codec.DecodeFlow(f.Tokens, 0, func(p codec.Packet) error {
		pkts = append(pkts, pendingPkt{ts: p.Ticks, flow: f.Index, seq: len(pkts), c2s: p.C2S, orig: p.OrigLen,
			data: append([]byte(nil), p.Data...)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sample: flow %d does not decode: %w", f.Index, err)
	}
	if hdr.LinkType != 1 {
		return nil, fmt.Errorf("sample: flow %d: link type %d, the output is Ethernet", f.Index, hdr.LinkType)
	}
	res := hdr.Resolution
	var fa flowAddrs
	var l packet.Layers
	var tuple string
	for i := range pkts {
		p := &pkts[i]
		p.ts = start + uint64(res.TicksToNanos(p.ts)/1000)
		_ = packet.Decode(1, p.data, &l)
		if i == 0 {
			tuple = w.plan(&fa, f, &l, p.data)
		}
		if w.rewrite(&fa, &l, p.data, p.c2s) && count {
			w.Stats.Rewritten++
		}
	}
	if tuple == "" || len(pkts) == 0 {
		return pkts, nil
	}
	// A flow that kept an earlier flow's 5-tuple starts after that flow
	// has timed out (plus a second), or the two read back as one.
	if end, ok := w.tuples[tuple]; ok {
		if free := end + uint64(w.o.FlowIdle/time.Microsecond) + 1_000_000; pkts[0].ts < free {
			shift := free - pkts[0].ts
			for i := range pkts {
				pkts[i].ts += shift
			}
			if count {
				w.Stats.Delayed++
			}
		}
	}
	if count {
		w.tuples[tuple] = max(w.tuples[tuple], pkts[len(pkts)-1].ts)
	}
	return pkts, nil
}

// Render calls fn with each packet of f as AddFlow would write it
// (timestamp in microseconds, original length, bytes valid during the
// call), in flow order, without writing or queueing anything; the server
// numbering of the Writer's scheme advances as with AddFlow.
func (w *Writer) Render(f *Flow, fn func(ts uint64, origLen uint32, data []byte) error) error {
	pkts, err := w.packets(f, false)
	if err != nil {
		return err
	}
	for _, p := range pkts {
		if err := fn(p.ts, p.orig, p.data); err != nil {
			return err
		}
	}
	return nil
}

// advance writes the queued packets that no flow still to come can precede.
func (w *Writer) advance() error {
	for w.low < len(w.done) && w.done[w.low] {
		w.low++
	}
	limit := uint64(math.MaxUint64)
	if w.low < len(w.starts) {
		limit = w.starts[w.low]
	}
	return w.flush(limit)
}

// plan picks the flow's replacement addresses from its first packet
// (client -> server) and returns the flow's 5-tuple as the file will have
// it ("" without ports).
func (w *Writer) plan(fa *flowAddrs, f *Flow, l *packet.Layers, d []byte) string {
	all := w.o.Addressing == AddrScheme && f.Prompt < 0
	zero := func(b []byte) bool {
		for _, x := range b {
			if x != 0 {
				return false
			}
		}
		return true
	}
	var ports [2]uint16
	if l.HasPorts() {
		ports = [2]uint16{l.SrcPort, l.DstPort}
	}
	key := svcKey{l.EtherType, l.Proto, ports[1]}
	s, ok := w.svc[key]
	if !ok {
		s = len(w.svc) + 1
		w.svc[key] = s
	}
	c := f.Index + 1
	if l.SrcMAC >= 0 && l.DstMAC >= 0 {
		fa.mac[0] = [6]byte{0x02, 0x00, 0x0a, 0x00, byte(c >> 8), byte(c)}
		fa.mac[1] = [6]byte{0x02, 0x00, 0x0a, 0x01, byte(s >> 8), byte(s)}
		fa.setMAC[0] = all || zero(d[l.SrcMAC:l.SrcMAC+6])
		fa.setMAC[1] = all || zero(d[l.DstMAC:l.DstMAC+6])
	}
	if l.SrcIPOff >= 0 && l.DstIPOff >= 0 {
		n := 4
		if l.IPVersion == 6 {
			n, fa.v6 = 16, true
		}
		// IPv4: clients 10.0.x.y, servers 10.1.x.y (y in 1..254);
		// IPv6: fd00:0:0:1::c and fd00:0:0:2::s.
		h := (c - 1) % (256 * 254)
		fa.ip4[0] = [4]byte{10, 0, byte(h / 254), byte(h%254 + 1)}
		hs := (s - 1) % (256 * 254)
		fa.ip4[1] = [4]byte{10, 1, byte(hs / 254), byte(hs%254 + 1)}
		fa.ip6[0] = [16]byte{0: 0xfd, 7: 1}
		binary.BigEndian.PutUint32(fa.ip6[0][12:], uint32(c))
		fa.ip6[1] = [16]byte{0: 0xfd, 7: 2}
		binary.BigEndian.PutUint32(fa.ip6[1][12:], uint32(s))
		// A masked pair is zero on both sides; 0.0.0.0 to the IPv4
		// broadcast is a real DHCP client's (Options.Hosts) and stays.
		dhcp := n == 4 && string(d[l.DstIPOff:l.DstIPOff+4]) == "\xff\xff\xff\xff"
		fa.setIP[0] = all || zero(d[l.SrcIPOff:l.SrcIPOff+n]) && !dhcp
		fa.setIP[1] = all || zero(d[l.DstIPOff:l.DstIPOff+n])
	}
	if l.HasPorts() {
		// Ephemeral client port from the flow's own stream; the server
		// port is the model's (it names the service) unless zero.
		rng := rand.New(rand.NewPCG(w.o.Seed, uint64(f.Index)|1<<63))
		fa.port[0] = uint16(49152 + rng.IntN(16384))
		fa.port[1] = ports[1]
		// A repeated prompt gets a new client port: one 5-tuple per flow.
		fa.setPort[0] = all || f.Repeat || ports[0] == 0
		fa.setPort[1] = false
		// One 5-tuple per flow in a file: an ephemeral client port (>=
		// 1024) that an earlier flow already used with the same hosts and
		// server port is drawn again (two flows of one 5-tuple read back
		// as one, and tshark follows them as one stream). Well-known
		// client ports (DHCP's 68, NTP's 123) are kept: real clients
		// share them; packets() starts such a flow after the earlier one
		// has timed out.
		key := w.tupleKey(fa, l, d, ports)
		used := func() bool { _, ok := w.tuples[key+string(port16(fa, ports))]; return ok }
		for try := 0; used() && (fa.setPort[0] || ports[0] >= 1024) && try < 64; try++ {
			fa.setPort[0] = true
			fa.port[0] = uint16(49152 + rng.IntN(16384))
		}
		return key + string(port16(fa, ports))
	}
	return ""
}

// rewrite applies fa to one packet (c2s: client is the source), replaces a
// zero TTL / hop limit with 64, and recomputes the IPv4 header and TCP/UDP
// checksums when anything changed.
func (w *Writer) rewrite(fa *flowAddrs, l *packet.Layers, d []byte, c2s bool) bool {
	changed := false
	put := func(off int, v []byte) {
		if off >= 0 && off+len(v) <= len(d) && string(d[off:off+len(v)]) != string(v) {
			copy(d[off:], v)
			changed = true
		}
	}
	src, dst := 0, 1
	if !c2s {
		src, dst = 1, 0
	}
	if fa.setMAC[src] {
		put(l.SrcMAC, fa.mac[src][:])
	}
	if fa.setMAC[dst] {
		put(l.DstMAC, fa.mac[dst][:])
	}
	ip := func(i int) []byte {
		if fa.v6 {
			return fa.ip6[i][:]
		}
		return fa.ip4[i][:]
	}
	if (l.IPVersion == 6) == fa.v6 && l.SrcIPOff >= 0 {
		if fa.setIP[src] {
			put(l.SrcIPOff, ip(src))
		}
		if fa.setIP[dst] {
			put(l.DstIPOff, ip(dst))
		}
	}
	if l.HasPorts() && l.SrcPortOff+4 <= len(d) {
		var b [2]byte
		if fa.setPort[src] {
			binary.BigEndian.PutUint16(b[:], fa.port[src])
			put(l.SrcPortOff, b[:])
		}
		if fa.setPort[dst] {
			binary.BigEndian.PutUint16(b[:], fa.port[dst])
			put(l.SrcPortOff+2, b[:])
		}
	}
	if l.TTLOff >= 0 && l.TTLOff < len(d) && d[l.TTLOff] == 0 {
		d[l.TTLOff] = 64
		changed = true
	}
	if !changed {
		return false
	}
	// Offsets do not move, so the decoded layers still describe d.
	if l.IPCsumOff >= 0 && l.NetOff+l.IPHdrLen <= len(d) {
		binary.BigEndian.PutUint16(d[l.IPCsumOff:], packet.IPv4HeaderChecksum(d[l.NetOff:l.NetOff+l.IPHdrLen]))
	}
	if s, ok := packet.L4Checksum(l, d); ok {
		binary.BigEndian.PutUint16(d[l.L4CsumOff:], s)
	}
	return true
}

func (w *Writer) flush(limit uint64) error {
	for w.pending.Len() > 0 && w.pending[0].ts < limit {
		p := heap.Pop(&w.pending).(pendingPkt)
		if err := w.pw.WritePacket(p.ts, p.orig, p.data); err != nil {
			return err
		}
		w.Stats.Packets++
		w.Stats.Bytes += int64(len(p.data))
	}
	return nil
}

// Close writes the packets still queued and flushes. Flows never added
// are missing from the capture.
func (w *Writer) Close() error {
	if err := w.flush(math.MaxUint64); err != nil {
		return err
	}
	return w.pw.Flush()
}

// ReadStartGaps reads the gaps between the flow starts of the capture at
// path (StartGaps): generated flows can start like a real capture's.
func ReadStartGaps(ctx context.Context, path string, fc flow.Config) ([]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var starts []int64
	if _, err := codec.EncodeFlows(ctx, f, codec.EncodeOptions{Flow: fc, View: codec.View{MaxPackets: 1}}, func(ef *codec.EncodedFlow) error {
		starts = append(starts, ef.FirstNs)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(starts) < 2 {
		return nil, fmt.Errorf("%s: %d flows, need 2 for a gap between starts", path, len(starts))
	}
	return StartGaps(starts), nil
}

// StartGaps returns the gaps (microseconds) between consecutive flow starts
// (each flow's first packet, in nanoseconds), in time order.
func StartGaps(startsNs []int64) []uint64 {
	s := slices.Clone(startsNs)
	slices.Sort(s)
	var gaps []uint64
	for i := 1; i < len(s); i++ {
		gaps = append(gaps, uint64(s[i]-s[i-1])/1000)
	}
	return gaps
}

// tupleKey is a flow's protocol, final addresses (client, server) and
// server port, as plan leaves them, for the 5-tuple check.
func (w *Writer) tupleKey(fa *flowAddrs, l *packet.Layers, d []byte, ports [2]uint16) string {
	n := 4
	if l.IPVersion == 6 {
		n = 16
	}
	b := []byte{l.Proto, byte(ports[1] >> 8), byte(ports[1])}
	if l.SrcIPOff < 0 || l.DstIPOff < 0 || l.SrcIPOff+n > len(d) || l.DstIPOff+n > len(d) {
		return string(b)
	}
	for i, off := range []int{l.SrcIPOff, l.DstIPOff} {
		switch {
		case !fa.setIP[i]:
			b = append(b, d[off:off+n]...)
		case n == 16:
			b = append(b, fa.ip6[i][:]...)
		default:
			b = append(b, fa.ip4[i][:]...)
		}
	}
	return string(b)
}

// port16 is the flow's final client port, big-endian.
func port16(fa *flowAddrs, ports [2]uint16) []byte {
	p := ports[0]
	if fa.setPort[0] {
		p = fa.port[0]
	}
	return []byte{byte(p >> 8), byte(p)}
}
