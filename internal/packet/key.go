package packet

import (
	"fmt"
	"net/netip"
)

// Kind says which fields of a Key are meaningful.
type Kind uint8

const (
	// KindLink: the link layer could not be decoded; only LinkType (and
	// Scope) identify the flow.
	KindLink Kind = iota
	// KindEther: a non-IP frame (or an IP packet whose addresses were not
	// captured): link-layer address pair (A/B hold 6-byte MACs, zero when
	// absent) and EtherType.
	KindEther
	// KindIP: an IP packet that is not TCP/UDP, or a non-first fragment, or
	// a TCP/UDP packet whose ports were not captured: address pair and Proto.
	KindIP
	// KindPorts: TCP or UDP: address pair, ports and Proto.
	KindPorts
)

// Key identifies a bidirectional flow. It is comparable (use it as a map key)
// and does not depend on the direction of the packet it was derived from:
// endpoint A is the smaller (address, port) pair, compared bytewise.
type Key struct {
	// Scope is set by the caller to keep flows of different capture
	// interfaces or pcapng sections apart; KeyOf leaves it zero.
	Scope     uint64
	Kind      Kind
	IPVersion uint8  // 4 or 6 for KindIP/KindPorts
	Proto     uint8  // IP protocol (KindIP, KindPorts)
	EtherType uint16 // KindEther
	LinkType  uint32 // KindLink: the record's link type (whole field)
	// A and B are the endpoint addresses: IPv4 addresses in the first 4
	// bytes, IPv6 in all 16, MACs in the first 6.
	A, B         [16]byte
	PortA, PortB uint16
}

// KeyOf returns the flow key of a packet decoded by Decode into l from data,
// and whether the packet travels from the key's A endpoint to its B endpoint
// (true also when both endpoints are equal). It does not allocate.
func KeyOf(l *Layers, data []byte) (k Key, aToB bool) {
	switch {
	case l.Src.IsValid() && l.Dst.IsValid():
		k.IPVersion = l.IPVersion
		k.Proto = l.Proto
		var sa, da [16]byte
		if l.IPVersion == 4 {
			s4, d4 := l.Src.As4(), l.Dst.As4()
			copy(sa[:4], s4[:])
			copy(da[:4], d4[:])
		} else {
			sa, da = l.Src.As16(), l.Dst.As16()
		}
		var sp, dp uint16
		if l.SrcPortOff >= 0 && (l.Proto == ProtoTCP || l.Proto == ProtoUDP) {
			k.Kind = KindPorts
			sp, dp = l.SrcPort, l.DstPort
		} else {
			k.Kind = KindIP
		}
		aToB = !endpointLess(da, dp, sa, sp)
		if aToB {
			k.A, k.B, k.PortA, k.PortB = sa, da, sp, dp
		} else {
			k.A, k.B, k.PortA, k.PortB = da, sa, dp, sp
		}
		return k, aToB
	case l.NetOff >= 0:
		k.Kind = KindEther
		k.EtherType = l.EtherType
		var sa, da [16]byte
		if l.SrcMAC >= 0 && l.SrcMAC+6 <= len(data) {
			copy(sa[:6], data[l.SrcMAC:l.SrcMAC+6])
		}
		if l.DstMAC >= 0 && l.DstMAC+6 <= len(data) {
			copy(da[:6], data[l.DstMAC:l.DstMAC+6])
		}
		aToB = !endpointLess(da, 0, sa, 0)
		if aToB {
			k.A, k.B = sa, da
		} else {
			k.A, k.B = da, sa
		}
		return k, aToB
	default:
		k.Kind = KindLink
		k.LinkType = l.LinkType
		return k, true
	}
}

func endpointLess(a [16]byte, ap uint16, b [16]byte, bp uint16) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return ap < bp
}

// AddrA returns endpoint A's IP address (invalid for non-IP kinds).
func (k Key) AddrA() netip.Addr { return k.addr(&k.A) }

// AddrB returns endpoint B's IP address (invalid for non-IP kinds).
func (k Key) AddrB() netip.Addr { return k.addr(&k.B) }

func (k Key) addr(a *[16]byte) netip.Addr {
	switch {
	case k.Kind < KindIP:
		return netip.Addr{}
	case k.IPVersion == 4:
		return netip.AddrFrom4([4]byte(a[:4]))
	default:
		return netip.AddrFrom16(*a)
	}
}

// ClientServer returns the key's endpoints as (client, server) given the
// direction of the flow's first packet (aToB as returned by KeyOf for it):
// the client is the endpoint that sent the first packet. Ports are zero for
// KindIP; both are invalid for non-IP kinds.
func (k Key) ClientServer(firstAToB bool) (client, server netip.AddrPort) {
	a := netip.AddrPortFrom(k.AddrA(), k.PortA)
	b := netip.AddrPortFrom(k.AddrB(), k.PortB)
	if firstAToB {
		return a, b
	}
	return b, a
}

// String renders the key in a readable, direction-free form, such as
// "tcp 10.0.0.1:443 <-> 10.0.0.2:51234", "icmp 10.0.0.1 <-> 10.0.0.2",
// "ether 0x0806 00:11:22:33:44:55 <-> ff:ff:ff:ff:ff:ff" or "link 147".
// A non-zero Scope is appended as " scope N".
func (k Key) String() string {
	return k.format(true)
}

// Directed renders the key as "client -> server" given the direction of the
// flow's first packet, e.g. "tcp 10.0.0.2:51234 -> 10.0.0.1:443".
func (k Key) Directed(firstAToB bool) string {
	if !firstAToB {
		k.A, k.B, k.PortA, k.PortB = k.B, k.A, k.PortB, k.PortA
	}
	return k.format(false)
}

func (k Key) format(both bool) string {
	arrow := " <-> "
	if !both {
		arrow = " -> "
	}
	var s string
	switch k.Kind {
	case KindPorts:
		a := netip.AddrPortFrom(k.AddrA(), k.PortA)
		b := netip.AddrPortFrom(k.AddrB(), k.PortB)
		s = protoName(k.Proto) + " " + a.String() + arrow + b.String()
	case KindIP:
		s = protoName(k.Proto) + " " + k.AddrA().String() + arrow + k.AddrB().String()
	case KindEther:
		s = fmt.Sprintf("ether 0x%04x %s%s%s", k.EtherType, mac(k.A[:6]), arrow, mac(k.B[:6]))
	default:
		s = fmt.Sprintf("link %d", k.LinkType)
	}
	if k.Scope != 0 {
		s += fmt.Sprintf(" scope %d", k.Scope)
	}
	return s
}

func mac(b []byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

func protoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmpv6"
	case 2:
		return "igmp"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 132:
		return "sctp"
	}
	return fmt.Sprintf("ip-proto-%d", p)
}
