package packet

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Sentinel errors. Decode returns package-level values wrapping them (so that
// decoding never allocates); test with errors.Is.
var (
	ErrTruncated = errors.New("packet: truncated")
	ErrMalformed = errors.New("packet: malformed")
)

// decodeError names the layer that failed; the values below are allocated
// once so that returning one costs nothing.
type decodeError struct {
	msg  string
	base error
}

func (e *decodeError) Error() string { return e.msg }
func (e *decodeError) Unwrap() error { return e.base }

var (
	errLinkTrunc   = &decodeError{"packet: link header: truncated", ErrTruncated}
	errVLANTrunc   = &decodeError{"packet: VLAN tag: truncated", ErrTruncated}
	errIPv4Trunc   = &decodeError{"packet: IPv4 header: truncated", ErrTruncated}
	errIPv4IHL     = &decodeError{"packet: IPv4 header: IHL below 5", ErrMalformed}
	errIPVersion   = &decodeError{"packet: IP header: version does not match link protocol", ErrMalformed}
	errIPv6Trunc   = &decodeError{"packet: IPv6 header: truncated", ErrTruncated}
	errIPv6ExtTrun = &decodeError{"packet: IPv6 extension header: truncated", ErrTruncated}
	errTCPTrunc    = &decodeError{"packet: TCP header: truncated", ErrTruncated}
	errTCPOff      = &decodeError{"packet: TCP header: data offset below 5", ErrMalformed}
	errUDPTrunc    = &decodeError{"packet: UDP header: truncated", ErrTruncated}
)

// reset is the zero state of Layers: every offset absent.
var reset = Layers{
	DstMAC: -1, SrcMAC: -1, NetOff: -1,
	TTLOff: -1, IPIDOff: -1, IPCsumOff: -1, IPLenOff: -1, SrcIPOff: -1, DstIPOff: -1, FinalDstOff: -1, PseudoSrcOff: -1,
	L4Off: -1, SrcPortOff: -1, L4CsumOff: -1, UDPLenOff: -1, PayloadOff: -1,
}

// Decode decodes the headers of one captured packet of the given pcap link
// type (only the low 16 bits are the link type) into l, which it resets
// first. Unknown link types decode nothing (NetOff stays -1) and are not an
// error. A header cut short or malformed leaves the layers decoded so far
// filled and returns an error wrapping ErrTruncated or ErrMalformed. Decode
// does not allocate and never panics.
func Decode(linkType uint32, data []byte, l *Layers) error {
	*l = reset
	l.LinkType = linkType
	off := 0
	switch linkType & 0xffff {
	case LinkEthernet:
		if len(data) < 14 {
			return errLinkTrunc
		}
		l.DstMAC, l.SrcMAC = 0, 6
		et := binary.BigEndian.Uint16(data[12:])
		off = 14
		for et == 0x8100 || et == 0x88a8 || et == 0x9100 {
			if len(data) < off+4 {
				l.EtherType = et
				return errVLANTrunc
			}
			et = binary.BigEndian.Uint16(data[off+2:])
			off += 4
			l.VLANs++
		}
		l.NetOff = off
		if et <= 1500 {
			// 802.3 length field: LLC follows, not IP.
			l.EtherType = 0
			return nil
		}
		l.EtherType = et
	case LinkRaw, LinkRaw12, LinkRaw14:
		l.NetOff = 0
		if len(data) == 0 {
			return errIPv4Trunc
		}
		switch data[0] >> 4 {
		case 4:
			l.EtherType = EtherTypeIPv4
		case 6:
			l.EtherType = EtherTypeIPv6
		default:
			return errIPVersion
		}
	case LinkIPv4:
		l.NetOff = 0
		l.EtherType = EtherTypeIPv4
	case LinkIPv6:
		l.NetOff = 0
		l.EtherType = EtherTypeIPv6
	case LinkSLL:
		if len(data) < 16 {
			return errLinkTrunc
		}
		if binary.BigEndian.Uint16(data[4:]) == 6 {
			l.SrcMAC = 6
		}
		l.EtherType = binary.BigEndian.Uint16(data[14:])
		off = 16
		l.NetOff = off
	case LinkSLL2:
		if len(data) < 20 {
			return errLinkTrunc
		}
		if data[11] == 6 {
			l.SrcMAC = 12
		}
		l.EtherType = binary.BigEndian.Uint16(data[0:])
		off = 20
		l.NetOff = off
	case LinkNull, LinkLoop:
		if len(data) < 4 {
			return errLinkTrunc
		}
		var af uint32
		if linkType&0xffff == LinkLoop {
			af = binary.BigEndian.Uint32(data)
		} else {
			// Host byte order of the capturing machine: AF values are
			// small, so a value above 0xffff was written the other way.
			af = binary.LittleEndian.Uint32(data)
			if af > 0xffff {
				af = binary.BigEndian.Uint32(data)
			}
		}
		off = 4
		l.NetOff = off
		switch af {
		case 2:
			l.EtherType = EtherTypeIPv4
		case 24, 28, 30:
			l.EtherType = EtherTypeIPv6
		default:
			return nil
		}
	default:
		return nil
	}
	switch l.EtherType {
	case EtherTypeIPv4:
		return decodeIPv4(data, off, l)
	case EtherTypeIPv6:
		return decodeIPv6(data, off, l)
	}
	return nil
}

func decodeIPv4(data []byte, off int, l *Layers) error {
	if len(data) < off+20 {
		return errIPv4Trunc
	}
	h := data[off : off+20 : off+20]
	if h[0]>>4 != 4 {
		return errIPVersion
	}
	l.IPVersion = 4
	ihl := int(h[0]&0x0f) * 4
	l.IPHdrLen = ihl
	l.IPTotalLen = int(binary.BigEndian.Uint16(h[2:]))
	l.IPLenOff = off + 2
	l.IPIDOff = off + 4
	l.TTLOff = off + 8
	l.IPCsumOff = off + 10
	l.SrcIPOff = off + 12
	l.DstIPOff = off + 16
	l.FinalDstOff = off + 16
	l.PseudoSrcOff = off + 12
	l.Src = netip.AddrFrom4([4]byte(h[12:16]))
	l.Dst = netip.AddrFrom4([4]byte(h[16:20]))
	l.Proto = h[9]
	l.FragID = uint32(binary.BigEndian.Uint16(h[4:]))
	ff := binary.BigEndian.Uint16(h[6:])
	l.MoreFrags = ff&0x2000 != 0
	l.FragOffset = int(ff&0x1fff) * 8
	l.Fragment = l.MoreFrags || l.FragOffset != 0
	if ihl < 20 {
		return errIPv4IHL
	}
	if len(data) < off+ihl {
		return errIPv4Trunc
	}
	if l.FragOffset != 0 {
		return nil
	}
	return decodeL4(data, off+ihl, l)
}

func decodeIPv6(data []byte, off int, l *Layers) error {
	if len(data) < off+40 {
		return errIPv6Trunc
	}
	h := data[off : off+40 : off+40]
	if h[0]>>4 != 6 {
		return errIPVersion
	}
	l.IPVersion = 6
	l.IPTotalLen = 40 + int(binary.BigEndian.Uint16(h[4:]))
	l.IPLenOff = off + 4
	l.TTLOff = off + 7
	l.SrcIPOff = off + 8
	l.DstIPOff = off + 24
	l.FinalDstOff = off + 24
	l.PseudoSrcOff = off + 8
	l.Src = netip.AddrFrom16([16]byte(h[8:24]))
	l.Dst = netip.AddrFrom16([16]byte(h[24:40]))
	next := h[6]
	p := off + 40
	l.IPHdrLen = 40
	for {
		l.Proto = next
		switch next {
		case 0, 43, 60, 44, 51:
		default:
			return decodeL4(data, p, l)
		}
		if len(data) < p+8 {
			return errIPv6ExtTrun
		}
		var n int
		switch next {
		case 44:
			n = 8
			fo := binary.BigEndian.Uint16(data[p+2:])
			l.Fragment = true
			l.FragOffset = int(fo &^ 7)
			l.MoreFrags = fo&1 != 0
			l.FragID = binary.BigEndian.Uint32(data[p+4:])
		case 51:
			n = (int(data[p+1]) + 2) * 4
		default:
			n = (int(data[p+1]) + 1) * 8
		}
		if len(data) < p+n {
			return errIPv6ExtTrun
		}
		switch next {
		case 43:
			routingFinalDst(data[p:p+n:p+n], p, l)
		case 60:
			homeAddress(data[p:p+n:p+n], p, l)
		}
		next = data[p]
		p += n
		l.IPHdrLen = p - off
		if l.Fragment && l.FragOffset != 0 {
			l.Proto = next
			return nil
		}
	}
}

// routingFinalDst points FinalDstOff at the last destination of an IPv6
// routing header h (at offset p) that still has segments left.
func routingFinalDst(h []byte, p int, l *Layers) {
	typ, left := h[2], h[3]
	if left == 0 {
		return
	}
	n := int(h[1]) / 2 // 16-byte addresses after the 8-byte fixed part
	switch typ {
	case 0, 2:
		if n >= 1 {
			l.FinalDstOff = p + 8 + (n-1)*16
		}
	case 4:
		// Segment routing: Segment List[0] is the final segment.
		if n >= 1 {
			l.FinalDstOff = p + 8
		}
	}
}

// homeAddress points PseudoSrcOff at the Mobile IPv6 home address option
// (type 0xc9) of a destination options header h at offset p, if present.
func homeAddress(h []byte, p int, l *Layers) {
	for i := 2; i < len(h); {
		typ := h[i]
		if typ == 0 { // Pad1
			i++
			continue
		}
		if i+2 > len(h) {
			return
		}
		n := int(h[i+1])
		if typ == 0xc9 && n == 16 && i+2+16 <= len(h) {
			l.PseudoSrcOff = p + i + 2
			return
		}
		i += 2 + n
	}
}

func decodeL4(data []byte, p int, l *Layers) error {
	l.L4Off = p
	switch l.Proto {
	case ProtoTCP:
		if len(data) < p+4 {
			return errTCPTrunc
		}
		l.SrcPortOff = p
		l.SrcPort = binary.BigEndian.Uint16(data[p:])
		l.DstPort = binary.BigEndian.Uint16(data[p+2:])
		if len(data) < p+20 {
			return errTCPTrunc
		}
		l.L4CsumOff = p + 16
		l.TCPFlags = data[p+13]
		hl := int(data[p+12]>>4) * 4
		if hl < 20 {
			return errTCPOff
		}
		l.TCPHdrLen = hl
		if len(data) < p+hl {
			return errTCPTrunc
		}
		l.PayloadOff = p + hl
	case ProtoUDP:
		if len(data) < p+4 {
			return errUDPTrunc
		}
		l.SrcPortOff = p
		l.SrcPort = binary.BigEndian.Uint16(data[p:])
		l.DstPort = binary.BigEndian.Uint16(data[p+2:])
		if len(data) < p+8 {
			return errUDPTrunc
		}
		l.UDPLenOff = p + 4
		l.L4CsumOff = p + 6
		l.PayloadOff = p + 8
	}
	return nil
}
