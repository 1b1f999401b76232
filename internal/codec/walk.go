package codec

// The walker finds the header fields the grammar may leave out (derivable or
// repeated) or mask, reading only bytes that are never left out. The same
// walker runs in the encoder over the real packet and in the decoder over the
// tokens' bytes, where a field that was left out is a hole of known size: the
// positions of later fields depend only on bytes before them that are
// present, so both sides find the same fields.

type spanKind uint8

const (
	spanMAC    spanKind = iota + 1 // Ethernet destination + source MAC (12 bytes)
	spanIPAddr                     // IP source + destination (8 or 32 bytes)
	spanPorts                      // TCP/UDP source + destination port (4 bytes)
	spanIPLen                      // IPv4 total length / IPv6 payload length (2)
	spanUDPLen                     // UDP length (2)
	spanIPCsum                     // IPv4 header checksum (2)
	spanL4Csum                     // TCP/UDP checksum (2)
	spanTTL                        // TTL / hop limit (1): maskable, never left out
	spanIPID                       // IPv4 identification (2): maskable, never left out
)

// class of a span: which flag token makes it present.
func (k spanKind) class() Token {
	switch k {
	case spanMAC, spanIPAddr, spanPorts:
		return FADDR
	case spanIPLen, spanUDPLen:
		return FLEN
	case spanIPCsum, spanL4Csum:
		return FCSUM
	}
	return 0
}

type span struct {
	off, n int
	kind   spanKind
	omit   bool // left out of the token stream (decided by the walker's omit func)
}

const maxSpans = 12

// layout is what the walker finds in one packet.
type layout struct {
	spans  [maxSpans]span
	nspans int
	netOff int   // offset of the IP header, -1 if none
	ipVer  uint8 // 4 or 6 when an IP header was found
	l4Off  int   // offset of the TCP/UDP header, -1 if none
	proto  uint8 // 6 or 17 when l4Off >= 0
	frag   bool  // IP fragment (first or later)
	// hdrEnd is where the payload starts for views that cut payload: after
	// the transport header, else the IP header, else the link header.
	hdrEnd int
}

// walkSource is the packet as the walker sees it.
type walkSource struct {
	// encode mode: data is the whole packet.
	// decode mode: data is the present bytes; holes are the omitted spans
	// found so far, so virtual offset o is data[o - omitted before o].
	data   []byte
	decode bool
	lay    *layout
}

// at returns the byte at virtual offset off; false if it is beyond the data
// or (decode mode) inside a hole.
func (s *walkSource) at(off int) (byte, bool) {
	i := off
	if s.decode {
		for j := 0; j < s.lay.nspans; j++ {
			sp := &s.lay.spans[j]
			if !sp.omit {
				continue
			}
			if sp.off+sp.n <= off {
				i -= sp.n
			} else if sp.off <= off {
				return 0, false
			}
		}
	}
	if i < 0 || i >= len(s.data) {
		return 0, false
	}
	return s.data[i], true
}

func (s *walkSource) u16(off int) (uint16, bool) {
	a, ok1 := s.at(off)
	b, ok2 := s.at(off + 1)
	return uint16(a)<<8 | uint16(b), ok1 && ok2
}

// inHole reports whether virtual offset off lies in an omitted span.
func (s *walkSource) inHole(off int) bool {
	for j := 0; j < s.lay.nspans; j++ {
		sp := &s.lay.spans[j]
		if sp.omit && sp.off <= off && off < sp.off+sp.n {
			return true
		}
	}
	return false
}

// has reports whether the virtual range [off, off+n) is all there. In
// decode mode holes count as there (the decoder fills them), so it checks the
// last byte of the range that is not in a hole. Callers add a header's spans
// before checking it.
func (s *walkSource) has(off, n int) bool {
	if !s.decode {
		return off+n <= len(s.data)
	}
	for o := off + n - 1; o >= off; o-- {
		if !s.inHole(o) {
			_, ok := s.at(o)
			return ok
		}
	}
	return true
}

// walker state: omit decides, per span, whether it is left out.
type walker struct {
	src  walkSource
	omit func(kind spanKind, n int) bool
}

func (w *walker) add(off, n int, kind spanKind) {
	l := w.src.lay
	if l.nspans == maxSpans {
		return
	}
	om := kind.class() != 0 && w.omit(kind, n)
	l.spans[l.nspans] = span{off: off, n: n, kind: kind, omit: om}
	l.nspans++
}

// walk fills lay for a packet of the given link type. It returns false when a
// header that has fields to leave out is cut short: the encoder then writes
// the packet RAW, and the decoder reports bad tokens.
func (w *walker) walk(linkType uint32) bool {
	l := w.src.lay
	*l = layout{netOff: -1, l4Off: -1}
	s := &w.src
	var etype uint16
	netOff := 0
	switch linkType & 0xffff {
	case 1: // Ethernet
		w.add(0, 12, spanMAC)
		if !s.has(0, 14) {
			return false
		}
		off := 12
		for {
			t, ok := s.u16(off)
			if !ok {
				return false
			}
			if t == 0x8100 || t == 0x88a8 || t == 0x9100 {
				if !s.has(off, 6) {
					return false
				}
				off += 4
				continue
			}
			etype = t
			netOff = off + 2
			l.hdrEnd = netOff
			break
		}
	case 101, 12, 14, 228, 229: // raw IP
		b, ok := s.at(0)
		if !ok {
			return true // empty packet: nothing to leave out
		}
		switch b >> 4 {
		case 4:
			etype = 0x0800
		case 6:
			etype = 0x86dd
		}
	case 113: // Linux SLL
		if !s.has(0, 16) {
			return true
		}
		etype, _ = s.u16(14)
		netOff = 16
		l.hdrEnd = netOff
	case 276: // Linux SLL2
		if !s.has(0, 20) {
			return true
		}
		etype, _ = s.u16(0)
		netOff = 20
		l.hdrEnd = netOff
	case 0, 108: // BSD null / OpenBSD loop: 4-byte address family, either order
		if !s.has(0, 4) {
			return true
		}
		a, _ := s.at(0)
		d, _ := s.at(3)
		af := uint32(a)
		if af == 0 {
			af = uint32(d)
		}
		switch af {
		case 2:
			etype = 0x0800
		case 24, 28, 30:
			etype = 0x86dd
		}
		netOff = 4
		l.hdrEnd = netOff
	default:
		return true
	}
	switch etype {
	case 0x0800:
		return w.ipv4(netOff)
	case 0x86dd:
		return w.ipv6(netOff)
	}
	return true
}

func (w *walker) ipv4(off int) bool {
	s := &w.src
	l := s.lay
	vihl, ok := s.at(off)
	if !ok || vihl>>4 != 4 || vihl&0x0f < 5 {
		return true // not an IPv4 header we understand: leave it alone
	}
	ihl := int(vihl&0x0f) * 4
	w.add(off+2, 2, spanIPLen)
	w.add(off+4, 2, spanIPID)
	w.add(off+8, 1, spanTTL)
	w.add(off+10, 2, spanIPCsum)
	w.add(off+12, 8, spanIPAddr)
	if !s.has(off, ihl) {
		return false
	}
	l.netOff, l.ipVer = off, 4
	l.hdrEnd = off + ihl
	fo, _ := s.u16(off + 6)
	proto, _ := s.at(off + 9)
	l.frag = fo&0x3fff != 0
	if fo&0x1fff != 0 {
		return true // later fragment: no transport header
	}
	return w.l4(off+ihl, proto)
}

func (w *walker) ipv6(off int) bool {
	s := &w.src
	l := s.lay
	v, ok := s.at(off)
	if !ok || v>>4 != 6 {
		return true
	}
	w.add(off+4, 2, spanIPLen)
	w.add(off+7, 1, spanTTL)
	w.add(off+8, 32, spanIPAddr)
	if !s.has(off, 40) {
		return false
	}
	l.netOff, l.ipVer = off, 6
	l.hdrEnd = off + 40
	next, _ := s.at(off + 6)
	p := off + 40
	for hops := 0; hops < 8; hops++ {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if !s.has(p, 8) {
				return true
			}
			nh, _ := s.at(p)
			hl, _ := s.at(p + 1)
			next, p = nh, p+8+int(hl)*8
		case 44: // fragment
			if !s.has(p, 8) {
				return true
			}
			nh, _ := s.at(p)
			fo, _ := s.u16(p + 2)
			l.frag = true
			if fo&0xfff8 != 0 {
				return true
			}
			next, p = nh, p+8
		case 51: // AH
			if !s.has(p, 8) {
				return true
			}
			nh, _ := s.at(p)
			hl, _ := s.at(p + 1)
			next, p = nh, p+(int(hl)+2)*4
		default:
			l.hdrEnd = p
			return w.l4(p, next)
		}
	}
	return true
}

func (w *walker) l4(off int, proto uint8) bool {
	s := &w.src
	l := s.lay
	switch proto {
	case 6:
		w.add(off, 4, spanPorts)
		w.add(off+16, 2, spanL4Csum)
		if !s.has(off, 20) {
			return false
		}
		l.l4Off, l.proto = off, 6
		do, _ := s.at(off + 12)
		l.hdrEnd = off + max(int(do>>4)*4, 20) // a bogus data offset < 5 still has the 20-byte header
	case 17:
		w.add(off, 4, spanPorts)
		w.add(off+4, 2, spanUDPLen)
		w.add(off+6, 2, spanL4Csum)
		if !s.has(off, 8) {
			return false
		}
		l.l4Off, l.proto = off, 17
		l.hdrEnd = off + 8
	}
	return true
}
