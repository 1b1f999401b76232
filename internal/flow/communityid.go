package flow

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"

	"github.com/trafficgpt/trafficgpt/internal/packet"
)

// ProtoSCTP is SCTP's IP protocol number: the Community ID hashes its ports
// although the flow key (packet.Key) keeps SCTP flows as address pairs.
const ProtoSCTP = 132

// Tuple is a flow's endpoints as the Community ID hashes them, in the
// direction of the packet they were taken from. For TCP, UDP and SCTP the
// ports are the transport ports; for ICMP and ICMPv6, SrcPort is the
// message type and DstPort its code (CommunityID maps them as Zeek does).
// Other IP protocols hash no ports.
type Tuple struct {
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16
}

// hasPorts reports whether the Community ID v1 hashes ports for proto.
func hasPorts(proto uint8) bool {
	switch proto {
	case packet.ProtoTCP, packet.ProtoUDP, ProtoSCTP, packet.ProtoICMP, packet.ProtoICMPv6:
		return true
	}
	return false
}

// icmpCounterpart maps ICMP request/reply message types to each other, as in
// the Community ID spec (taken from Zeek's ICMP analyzer); a type without a
// counterpart makes the flow one-way.
var icmpCounterpart = map[uint16]uint16{
	0: 8, 8: 0, // echo reply, echo
	9: 10, 10: 9, // router advertisement, solicitation
	13: 14, 14: 13, // timestamp, reply
	15: 16, 16: 15, // information request, reply
	17: 18, 18: 17, // address mask request, reply
}

var icmpv6Counterpart = map[uint16]uint16{
	128: 129, 129: 128, // echo request, reply
	130: 131, 131: 130, // multicast listener query, report
	133: 134, 134: 133, // router solicitation, advertisement
	135: 136, 136: 135, // neighbour solicitation, advertisement
	139: 140, 140: 139, // node information query, reply (WRU)
	144: 145, 145: 144, // home agent address discovery request, reply
}

// CommunityID returns the Community ID v1 of t with the given seed (0 is the
// spec's default and what Zeek, Suricata and tshark log): "1:" and the
// base64 of SHA-1 over seed (2 bytes, big endian), the smaller endpoint's
// address, the other address, the protocol, a zero byte and, for protocols
// with ports, the two ports (big endian) in the same endpoint order. The
// result does not depend on t's direction, except for one-way ICMP messages
// (errors, unmatched types), whose order is the packet's, as in the spec.
// Addresses of different families, or invalid ones, give "".
func CommunityID(t Tuple, seed uint16) string {
	src, dst := t.Src.Unmap(), t.Dst.Unmap()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return ""
	}
	sp, dp := t.SrcPort, t.DstPort
	oneWay := false
	switch t.Proto {
	case packet.ProtoICMP, packet.ProtoICMPv6:
		m := icmpCounterpart
		if t.Proto == packet.ProtoICMPv6 {
			m = icmpv6Counterpart
		}
		if c, ok := m[sp]; ok {
			dp = c
		} else {
			oneWay = true
		}
	}
	ports := hasPorts(t.Proto)
	if !ports {
		sp, dp = 0, 0
	}
	if c := src.Compare(dst); !oneWay && (c > 0 || c == 0 && sp > dp) {
		src, dst, sp, dp = dst, src, dp, sp
	}
	var buf [2 + 16 + 16 + 2 + 4]byte
	b := binary.BigEndian.AppendUint16(buf[:0], seed)
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	b = append(b, t.Proto, 0)
	if ports {
		b = binary.BigEndian.AppendUint16(b, sp)
		b = binary.BigEndian.AppendUint16(b, dp)
	}
	sum := sha1.Sum(b)
	return "1:" + base64.StdEncoding.EncodeToString(sum[:])
}

// TupleOf returns the Community ID tuple of a packet decoded by
// packet.Decode into l from data, and false when the spec cannot hash it:
// not IP, or a protocol with ports whose ports (ICMP type and code) were not
// captured, such as a non-first fragment.
func TupleOf(l *packet.Layers, data []byte) (Tuple, bool) {
	if !l.Src.IsValid() || !l.Dst.IsValid() {
		return Tuple{}, false
	}
	t := Tuple{Src: l.Src, Dst: l.Dst, Proto: l.Proto}
	switch l.Proto {
	case packet.ProtoTCP, packet.ProtoUDP:
		if !l.HasPorts() {
			return Tuple{}, false
		}
		t.SrcPort, t.DstPort = l.SrcPort, l.DstPort
	case ProtoSCTP:
		if l.L4Off < 0 || l.L4Off+4 > len(data) {
			return Tuple{}, false
		}
		t.SrcPort = binary.BigEndian.Uint16(data[l.L4Off:])
		t.DstPort = binary.BigEndian.Uint16(data[l.L4Off+2:])
	case packet.ProtoICMP, packet.ProtoICMPv6:
		if l.L4Off < 0 || l.L4Off+2 > len(data) {
			return Tuple{}, false
		}
		t.SrcPort, t.DstPort = uint16(data[l.L4Off]), uint16(data[l.L4Off+1])
	}
	return t, true
}

// PacketCommunityID is CommunityID(TupleOf(l, data), seed), or "" when the
// packet has no Community ID. The Community ID of a flow is that of its
// first packet (as Zeek's conn.log takes its originator from it).
func PacketCommunityID(l *packet.Layers, data []byte, seed uint16) string {
	t, ok := TupleOf(l, data)
	if !ok {
		return ""
	}
	return CommunityID(t, seed)
}

// CommunityID returns the flow's Community ID (PacketCommunityID of its
// first packet), "" for an empty or non-IP flow.
func (f *Flow) CommunityID(seed uint16) string {
	if len(f.Packets) == 0 {
		return ""
	}
	var l packet.Layers
	p := f.Packets[0]
	packet.Decode(f.LinkType, p.Data, &l)
	return PacketCommunityID(&l, p.Data, seed)
}
