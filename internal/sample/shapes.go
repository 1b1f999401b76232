package sample

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// PacketShape is what a shape template says of one packet: its direction,
// its transport payload length (bytes after the TCP/UDP header, from the
// IP length fields, so a capture's snap length does not shrink it) and its
// gap since the flow's previous packet (microseconds, 0 for the first).
type PacketShape struct {
	S2C     bool
	Payload int
	GapUs   uint64
}

// FlowShape is the shape of one real flow (Options.Shapes): its transport
// protocol (6 TCP, 17 UDP) and its packets in order.
type FlowShape struct {
	Proto   uint8
	Packets []PacketShape
}

// ReadShapes returns the shape of every TCP or UDP flow over IPv4 or IPv6
// of the capture at path, or of every capture in the folder path (in file
// and flow order; "-": standard input), for Options.Shapes; a flow keeps
// its first maxPackets packets (0: all). Gaps are capped below
// 2^MaxTimeBits us, as generated gaps are. Flows of other protocols, and
// a flow whose first packet is not IP with TCP or UDP, are skipped; no flow
// left is an error.
func ReadShapes(ctx context.Context, path string, fc flow.Config, maxPackets int) ([]FlowShape, error) {
	ins, err := pcap.Find([]string{path})
	if err != nil {
		return nil, err
	}
	var shapes []FlowShape
	for _, in := range ins {
		got, err := readShapesFile(ctx, in.Path, fc, maxPackets)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Path, err)
		}
		shapes = append(shapes, got...)
	}
	if len(shapes) == 0 {
		return nil, fmt.Errorf("%s: no TCP or UDP flows to take shapes from", path)
	}
	return shapes, nil
}

func readShapesFile(ctx context.Context, path string, fc flow.Config, maxPackets int) ([]FlowShape, error) {
	// Flows in the order of their first packets; active maps a flow id
	// to its place while it lasts (memory: the shapes, plus O(active)).
	var out []FlowShape
	var skip []bool
	var last []int64 // previous packet's time, ns
	active := map[uint64]int{}
	err := scanCapture(ctx, path, fc, flow.Visitor{
		Packet: func(p *flow.Scanned) error {
			l := p.Layers
			i, ok := active[p.Flow.Flow]
			if !ok {
				i = len(out)
				active[p.Flow.Flow] = i
				out = append(out, FlowShape{Proto: l.Proto})
				last = append(last, p.TsNanos)
				skip = append(skip, p.DecodeErr != nil || l.IPVersion == 0 || l.Fragment ||
					(l.Proto != packet.ProtoTCP && l.Proto != packet.ProtoUDP))
			}
			s := &out[i]
			if skip[i] || maxPackets > 0 && len(s.Packets) >= maxPackets {
				return nil
			}
			gap := uint64(0)
			if d := p.TsNanos - last[i]; d > 0 {
				gap = min(uint64(d)/1000, 1<<MaxTimeBits-1)
			}
			last[i] = p.TsNanos
			s.Packets = append(s.Packets, PacketShape{S2C: !p.Flow.C2S, Payload: payloadLen(l), GapUs: gap})
			return nil
		},
		Ended: func(e flow.Ended) error {
			delete(active, e.Flow)
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	kept := out[:0]
	for i, s := range out {
		if !skip[i] {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

// payloadLen is a packet's transport payload length by its IP length
// field (what was sent, whatever was captured); 0 when the headers are
// not all there.
func payloadLen(l *packet.Layers) int {
	if l.NetOff < 0 || l.PayloadOff < 0 || l.Proto != packet.ProtoTCP && l.Proto != packet.ProtoUDP {
		return 0
	}
	return max(l.NetOff+l.IPTotalLen-l.PayloadOff, 0)
}

// flowPlan is flow idx's packet budget and shape template. With Shapes,
// the template is Shapes[order[idx mod len(Shapes)]] for a seeded
// permutation order (shapeOrder): the flows take the real shapes without
// replacement, so n generated flows have the shapes' distribution as
// closely as n draws can (independent draws would add their own sampling
// noise), and a flow sampled again keeps its template; its packet count
// capped by MaxPackets is the budget. With Lengths, a packet count drawn
// first from the flow's stream (draw); else MaxPackets and no template.
// A flow's plan depends on the seed, its index and (Lengths, ShapeMix) its
// sample number only.
func flowPlan(o *Options, idx int, draw func(int) int) (int, *FlowShape) {
	if len(o.Shapes) == 0 {
		return packetBudget(o.Lengths, o.MaxPackets, draw), nil
	}
	s := &o.Shapes[shapeOrder(o)[idx%len(o.Shapes)]]
	if o.ShapeMix {
		s = mixShape(o.Shapes, s, draw)
	}
	n := len(s.Packets)
	if o.MaxPackets > 0 && n > o.MaxPackets {
		n = o.MaxPackets
	}
	return n, s
}

// shapeOrder is the seeded permutation of Shapes that flowPlan deals
// templates from (rand.NewPCG(Seed, 2^62)), computed once per Options.
func shapeOrder(o *Options) []int {
	if len(o.shapeOrder) != len(o.Shapes) {
		rng := rand.New(rand.NewPCG(o.Seed, 1<<62))
		o.shapeOrder = rng.Perm(len(o.Shapes))
	}
	return o.shapeOrder
}

// mixShape is a new template from base (its protocol, packet count and
// directions, and its gaps): when other flows among shapes have the same
// protocol, packet count and directions, the payload lengths are one of
// theirs, drawn at random, so the flow keeps a real flow's timing whole
// (the gaps within a flow go together: a per-packet mix of gaps breaks
// that) and a like flow's sizes. When no other flow is like base, each
// packet after the first takes its payload length and gap from a flow
// drawn at random among shapes, when that flow has a packet at the same
// place going the same way with the same protocol, else keeps base's.
// Either way the template follows the capture's distributions without
// being any one of its flows (Options.ShapeMix), unless real flows share
// a shape.
func mixShape(shapes []FlowShape, base *FlowShape, draw func(int) int) *FlowShape {
	m := &FlowShape{Proto: base.Proto, Packets: slices.Clone(base.Packets)}
	var like []int
	for i := range shapes {
		if &shapes[i] != base && sameDirections(&shapes[i], base) {
			like = append(like, i)
		}
	}
	if len(like) > 0 {
		d := &shapes[like[draw(len(like))]]
		for k := range m.Packets {
			m.Packets[k].Payload = d.Packets[k].Payload
		}
		return m
	}
	for k := 1; k < len(m.Packets); k++ {
		d := &shapes[draw(len(shapes))]
		if d.Proto == m.Proto && k < len(d.Packets) && d.Packets[k].S2C == m.Packets[k].S2C {
			m.Packets[k].Payload, m.Packets[k].GapUs = d.Packets[k].Payload, d.Packets[k].GapUs
		}
	}
	return m
}

// sameDirections reports whether a and b have the same protocol, packet
// count and direction of every packet.
func sameDirections(a, b *FlowShape) bool {
	if a.Proto != b.Proto || len(a.Packets) != len(b.Packets) {
		return false
	}
	for k := range a.Packets {
		if a.Packets[k].S2C != b.Packets[k].S2C {
			return false
		}
	}
	return true
}

// The template's rules (rules.tmpl; doc.go, "Shapes") are soft: each
// narrows the allowed set only when something it allows is left, so the
// grammar, the header rules, the TCP shape and the payload grammars win
// where they disagree with the template.

// tmplPacket is the template's packet k (1-based), nil past its end.
func (r *rules) tmplPacket(k int) *PacketShape {
	if r.tmpl == nil || k < 1 || k > len(r.tmpl.Packets) {
		return nil
	}
	return &r.tmpl.Packets[k-1]
}

// narrow keeps in allowed only the tokens keep says, unless that leaves
// nothing.
func narrow(allowed []bool, keep func(t int) bool) {
	for t, ok := range allowed {
		if ok && keep(t) {
			goto some
		}
	}
	return
some:
	for t := range allowed {
		allowed[t] = allowed[t] && keep(t)
	}
}

// tmplTime forces the current packet's gap to the template's: its
// magnitude token, then its number bytes (codec "Numbers").
func (r *rules) tmplTime(allowed []bool) {
	p := r.tmplPacket(r.packets)
	if p == nil {
		return
	}
	n := p.GapUs
	k := 0
	for v := n; v > 0; v >>= 1 {
		k++
	}
	switch r.phase {
	case pFlags, pTimeMag:
		narrow(allowed, func(t int) bool { return t == int(codec.Mag0)+k })
	case pTimeBytes:
		// need bytes are still due of numberBytes(k); they hold the low
		// k-1 bits big-endian.
		low := n & (1<<max(k-1, 0) - 1)
		b := int(low >> (8 * (r.need - 1)) & 0xff)
		narrow(allowed, func(t int) bool { return t == b })
	}
}

// tmplBody narrows what may follow body byte len(body) of the current
// packet: the payload runs to the template's length (no packet end
// before, no byte after), and the next packet goes the template's way, or
// the flow ends after the template's last packet.
func (r *rules) tmplBody(allowed []bool) {
	p := r.tmplPacket(r.packets)
	if p == nil || !r.sh.hdrDone {
		return
	}
	isEnd := func(t int) bool {
		return t == int(codec.PKTC2S) || t == int(codec.PKTS2C) || t == int(codec.END)
	}
	if got := len(r.body) - r.sh.payOff; got < p.Payload {
		narrow(allowed, func(t int) bool { return !isEnd(t) })
		return
	}
	narrow(allowed, isEnd)
	switch next := r.tmplPacket(r.packets + 1); {
	case next == nil:
		narrow(allowed, func(t int) bool { return t == int(codec.END) })
	case next.S2C:
		narrow(allowed, func(t int) bool { return t == int(codec.PKTS2C) })
	default:
		narrow(allowed, func(t int) bool { return t == int(codec.PKTC2S) })
	}
}

// scanCapture runs flow.Scan over the capture at path ("-": standard
// input) with v.
func scanCapture(ctx context.Context, path string, fc flow.Config, v flow.Visitor) error {
	f := os.Stdin
	if path != pcap.Stdin {
		var err error
		if f, err = os.Open(path); err != nil {
			return err
		}
		defer f.Close()
	}
	r, err := pcap.NewReader(bufio.NewReaderSize(f, 256<<10), pcap.ReaderOptions{})
	if err != nil {
		return err
	}
	return flow.Scan(ctx, r, fc, v)
}
