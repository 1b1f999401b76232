package sample

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"slices"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
	"github.com/trafficgpt/trafficgpt/internal/tshark"
)

// packetCheck follows one row's flow for the decoder-level validation
// (Options.CheckPackets): it decodes each packet as it ends and holds what
// later packets must agree with.
type packetCheck struct {
	dec      codec.FlowDecoder
	started  bool // the flow header is parsed (dec reset)
	pktStart int  // token index of the current packet's first token (-1: none yet)
	// judged: the current packet was judged before the row came back to
	// its end (a restore to the state before the next packet): learn only.
	judged  bool
	snapLen int // tokens before the saved packet start (-1: no snapshot; a forced packet)
	tries   int // times the packet after the snapshot was sampled again
	replay  bool
	lay     packet.Layers
	// The flow's first packet (its direction c2s), which later ones agree
	// with: link/network/transport types and the 5-tuple.
	haveRef      bool
	refC2S       bool
	refEtype     uint16
	refProto     uint8
	refSrc, refD netip.Addr
	refPorts     [2]uint16
	// TCP: each direction's next sequence number once it has sent.
	next [2]uint32
	seen [2]bool
	// payload is the transport payload length of the packet judge last
	// passed (-1: not known).
	payload int
}

// judge decodes one packet's tokens (committing the decoder's state) and
// reports what makes it unfit for the output, learning from it either way.
// structured is the rules' verdict on the flow (a prompt flow that is not
// Ethernet/IP/TCP-UDP is only decoded).
func (pc *packetCheck) judge(toks []codec.Token, structured bool) error {
	pc.payload = -1
	p, err := pc.dec.Packet(toks)
	if err != nil {
		return err
	}
	if !structured {
		return nil
	}
	d, l := p.Data, &pc.lay
	if len(d) > MaxFrame {
		return fmt.Errorf("frame of %d bytes > %d", len(d), MaxFrame)
	}
	if err := packet.Decode(1, d, l); err != nil {
		return err
	}
	switch {
	case l.IPVersion != 4 && l.IPVersion != 6:
		return fmt.Errorf("EtherType %#04x: not IPv4 or IPv6", l.EtherType)
	case l.VLANs > 0:
		return fmt.Errorf("VLAN tag")
	case l.Fragment:
		return fmt.Errorf("IP fragment")
	case l.Proto != 6 && l.Proto != 17:
		return fmt.Errorf("IP protocol %d: not TCP or UDP", l.Proto)
	case l.L4Off < 0 || l.PayloadOff < 0 || l.PayloadOff > len(d):
		return fmt.Errorf("transport header cut short")
	case l.IPTotalLen != len(d)-l.NetOff:
		return fmt.Errorf("IP length %d, packet carries %d", l.IPTotalLen, len(d)-l.NetOff)
	}
	pc.payload = len(d) - l.PayloadOff
	src, dst := l.Src, l.Dst
	ports := [2]uint16{l.SrcPort, l.DstPort}
	if !pc.haveRef {
		pc.haveRef, pc.refC2S, pc.refEtype, pc.refProto = true, p.C2S, l.EtherType, l.Proto
		pc.refSrc, pc.refD, pc.refPorts = src, dst, ports
	} else {
		if p.C2S != pc.refC2S {
			src, dst, ports = dst, src, [2]uint16{ports[1], ports[0]}
		}
		switch {
		case l.EtherType != pc.refEtype || l.Proto != pc.refProto:
			return fmt.Errorf("EtherType %#04x protocol %d, the flow's first packet %#04x %d", l.EtherType, l.Proto, pc.refEtype, pc.refProto)
		case src != pc.refSrc || dst != pc.refD || ports != pc.refPorts:
			return fmt.Errorf("5-tuple differs from the flow's first packet")
		}
	}
	if l.Proto != 6 {
		return nil
	}
	dir := 0
	if !p.C2S {
		dir = 1
	}
	tcp := d[l.L4Off:]
	seq, ack := binary.BigEndian.Uint32(tcp[4:]), binary.BigEndian.Uint32(tcp[8:])
	var err2 error
	switch {
	case pc.seen[dir] && seq != pc.next[dir]:
		err2 = fmt.Errorf("TCP sequence number %d, the direction's next is %d", seq, pc.next[dir])
	case l.TCPFlags&packet.TCPAck != 0 && pc.seen[1-dir] && ack != pc.next[1-dir]:
		err2 = fmt.Errorf("TCP acknowledges %d, the other direction's next is %d", ack, pc.next[1-dir])
	}
	n := seq + uint32(len(d)-l.PayloadOff)
	if l.TCPFlags&packet.TCPSyn != 0 {
		n++
	}
	if l.TCPFlags&packet.TCPFin != 0 {
		n++
	}
	pc.next[dir], pc.seen[dir] = n, true
	return err2
}

// checkPacket follows the token t just pushed to row b (the rules were in
// phase before it): at a packet's end it judges the packet, and at a
// sampled packet's start it saves the row's state (model.SaveRow: the state
// before that packet and the logits its first token was drawn from). A
// sampled packet the decoder rejects takes the row back there (RestoreRow,
// the grammar and rules replayed to that point) and checkPacket returns
// true: the caller draws the packet's first token again from the saved
// logits. After PacketRetries the packet stays (Flow.BadPackets).
func (gn *generator) checkPacket(b int, rw *row, before phase, t codec.Token) (bool, error) {
	pc, f := rw.pc, rw.flow
	n := len(f.Tokens)
	if !pc.started {
		if rw.r.phase != pHeader {
			h, _, err := codec.ParseHeader(f.Tokens)
			if err != nil {
				return false, err
			}
			pc.dec.Reset(h, 0)
			pc.started, pc.pktStart, pc.snapLen = true, -1, -1
		}
		return false, nil
	}
	start := t == codec.PKTC2S || t == codec.PKTS2C
	if before == pBody && (start || t == codec.END || t == codec.CUT) && pc.pktStart >= 0 {
		bad := pc.judge(f.Tokens[pc.pktStart:n-1], rw.r.structured)
		k := rw.r.packets // the judged packet's number (1-based)
		if start {
			k--
		}
		// A packet whose payload misses its template's length (where a
		// rule, such as a payload grammar, outweighed the template) is
		// sampled again like a rejected one, but kept after the retries.
		tp := rw.r.tmplPacket(k)
		off := bad == nil && tp != nil && pc.payload >= 0 && pc.payload != tp.Payload
		switch {
		case pc.replay || pc.judged:
			pc.judged = false
		case (bad != nil || off) && pc.tries < gn.o.PacketRetries && pc.snapLen >= 0 && pc.pktStart >= len(rw.forced):
			pc.tries++
			gn.stats.PacketResamples++
			if bad == nil {
				gn.stats.ShapeResamples++
			}
			if err := gn.m.RestoreRow(gn.st, b, &gn.snaps[b]); err != nil {
				return false, err
			}
			return true, gn.replay(rw, pc.snapLen)
		case bad == nil:
			pc.tries = 0
		case pc.pktStart < len(rw.forced):
			// A prompt's packet: forced, kept as it is.
		default:
			pc.tries = 0
			f.BadPackets++
			gn.stats.BadPackets++
		}
	}
	if start {
		pc.pktStart, pc.snapLen = n-1, -1
		if !pc.replay && n-1 >= len(rw.forced) {
			if err := gn.m.SaveRow(gn.st, b, &gn.snaps[b]); err != nil {
				return false, err
			}
			pc.snapLen = n - 1
		}
	}
	return false, nil
}

// replay rebuilds row rw's grammar, rules and decoder check from the first
// upto tokens of its flow (the flow's tokens are cut there): the row's
// state after a restore to before a packet.
func (gn *generator) replay(rw *row, upto int) error {
	f, old := rw.flow, rw.pc
	toks := slices.Clone(f.Tokens[:upto])
	f.Tokens, f.Packets = f.Tokens[:0], 0
	rw.g, rw.r = newFlowRules(gn.o, f.Index, rw.r.maxPackets, rw.r.handshake, rw.r.close, rw.r.tmpl)
	rw.pc = &packetCheck{replay: true, tries: old.tries}
	for _, t := range toks {
		before := rw.r.phase
		if err := rw.push(t); err != nil {
			return fmt.Errorf("sample: flow %d: replay: %w", f.Index, err)
		}
		if _, err := gn.checkPacket(0, rw, before, t); err != nil {
			return err
		}
	}
	rw.pc.replay = false
	rw.pc.snapLen = upto
	// The packet that ends at upto was judged before: its end only teaches.
	rw.pc.judged = rw.pc.pktStart >= 0
	return nil
}

// TsharkCheck is a FlowCheck by tshark (internal/tshark): the flows are
// written as a Writer with wo for n flows would write them (addresses,
// checksums, times; server numbers may differ), each in its own pcapng
// section of one stream read by one tshark process, and a flow passes when
// none of its packets has an expert error or is malformed.
func TsharkCheck(n int, wo WriteOptions) FlowCheck {
	return func(ctx context.Context, flows []*Flow) ([]bool, error) {
		w, err := NewWriter(io.Discard, n, wo)
		if err != nil {
			return nil, err
		}
		counts := make([]int, len(flows))
		var clean []bool
		err = tshark.Run(ctx, func(out io.Writer) error {
			mw := pcap.NewMultiWriter(out)
			for i, f := range flows {
				if err := mw.Section(); err != nil {
					return err
				}
				if err := w.Render(f, func(ts uint64, orig uint32, data []byte) error {
					counts[i]++
					return mw.WritePacket(0, 1, ts*1000, orig, data)
				}); err != nil {
					return err
				}
			}
			return mw.Flush()
		}, func(v tshark.Verdict) { clean = append(clean, v.Clean()) })
		if err != nil {
			return nil, fmt.Errorf("sample: flow check: %w", err)
		}
		total := 0
		for _, c := range counts {
			total += c
		}
		if len(clean) != total {
			return nil, fmt.Errorf("sample: flow check: tshark judged %d packets of %d", len(clean), total)
		}
		ok := make([]bool, len(flows))
		k := 0
		for i, c := range counts {
			ok[i] = !slices.Contains(clean[k:k+c], false)
			k += c
		}
		return ok, nil
	}
}
