package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// ErrGrammar marks a token sequence that does not follow the grammar.
var ErrGrammar = errors.New("codec: bad tokens")

// Mask selects header fields a view replaces with MASK tokens.
type Mask uint8

const (
	MaskAddr  Mask = 1 << iota // IP addresses
	MaskPorts                  // TCP/UDP ports
	MaskMAC                    // Ethernet MAC addresses
	MaskTTL                    // IPv4 TTL / IPv6 hop limit
	MaskIPID                   // IPv4 identification
)

// ParseMask reads a masking profile: "none", "addr", "addr+ports", "all", or
// any '+'-joined list of addr, ports, mac, ttl, ipid.
func ParseMask(s string) (Mask, error) {
	switch s {
	case "", "none":
		return 0, nil
	case "all":
		return MaskAddr | MaskPorts | MaskMAC | MaskTTL | MaskIPID, nil
	}
	var m Mask
	for _, part := range bytes.Split([]byte(s), []byte("+")) {
		switch string(part) {
		case "addr", "addrs", "addresses":
			m |= MaskAddr
		case "ports", "port":
			m |= MaskPorts
		case "mac", "macs":
			m |= MaskMAC
		case "ttl":
			m |= MaskTTL
		case "ipid":
			m |= MaskIPID
		default:
			return 0, fmt.Errorf("codec: unknown mask %q (want none, all, or addr+ports+mac+ttl+ipid)", part)
		}
	}
	return m, nil
}

// String is the profile in ParseMask's form ("none", "addr+ports", "all").
func (m Mask) String() string {
	if m == 0 {
		return "none"
	}
	if m == MaskAddr|MaskPorts|MaskMAC|MaskTTL|MaskIPID {
		return "all"
	}
	var parts []string
	for _, p := range []struct {
		bit  Mask
		name string
	}{{MaskAddr, "addr"}, {MaskPorts, "ports"}, {MaskMAC, "mac"}, {MaskTTL, "ttl"}, {MaskIPID, "ipid"}} {
		if m&p.bit != 0 {
			parts = append(parts, p.name)
			m &^= p.bit
		}
	}
	if m != 0 {
		parts = append(parts, fmt.Sprintf("0x%02x", uint8(m)))
	}
	return strings.Join(parts, "+")
}

func (m Mask) masks(k spanKind) bool {
	switch k {
	case spanMAC:
		return m&MaskMAC != 0
	case spanIPAddr:
		return m&MaskAddr != 0
	case spanPorts:
		return m&MaskPorts != 0
	case spanTTL:
		return m&MaskTTL != 0
	case spanIPID:
		return m&MaskIPID != 0
	}
	return false
}

// View is how a flow is shown to the model. The zero View is lossless.
type View struct {
	Mask       Mask
	HeaderOnly bool // keep no transport payload (same as MaxPayload 0 with truncation on)
	MaxPayload int  // > 0: keep at most this many payload bytes per packet
	MaxPackets int  // > 0: keep at most this many packets, then CUT
	MaxTokens  int  // > 0: keep at most this many tokens per flow (END/CUT included)
}

// String names the view as the command-line flags do, e.g.
// "mask addr+ports, max-tokens 2048" or "lossless".
func (v View) String() string {
	if v.Lossless() {
		return "lossless (mask none, no limits)"
	}
	out := "mask " + v.Mask.String()
	if v.HeaderOnly {
		out += ", header-only"
	}
	for _, l := range []struct {
		name string
		n    int
	}{{"max-payload", v.MaxPayload}, {"max-packets", v.MaxPackets}, {"max-tokens", v.MaxTokens}} {
		if l.n > 0 {
			out += fmt.Sprintf(", %s %d", l.name, l.n)
		}
	}
	return out
}

// Lossless reports whether v keeps every byte.
func (v View) Lossless() bool { return v == View{} }

// Validate checks the limits: none negative, MaxTokens (when set) room for
// a flow header and a packet (8 tokens).
func (v View) Validate() error {
	if v.MaxPayload < 0 || v.MaxPackets < 0 || v.MaxTokens < 0 {
		return errors.New("view limits must not be negative")
	}
	if v.MaxTokens > 0 && v.MaxTokens < 8 {
		return fmt.Errorf("--max-tokens %d is too small for a flow header and a packet", v.MaxTokens)
	}
	return nil
}

func (v View) payloadLimit() int {
	if v.HeaderOnly {
		return 0
	}
	if v.MaxPayload > 0 {
		return v.MaxPayload
	}
	return -1
}

// linkToken maps a link type to its token; LinkOther is followed by 4 bytes.
func appendLink(dst []Token, linkType uint32) []Token {
	switch linkType {
	case 1:
		return append(dst, LinkEth)
	case 101:
		return append(dst, LinkRaw)
	case 113:
		return append(dst, LinkSLL)
	case 276:
		return append(dst, LinkSLL2)
	case 0:
		return append(dst, LinkNull)
	case 108:
		return append(dst, LinkLoop)
	}
	return append(dst, LinkOther, Token(byte(linkType>>24)), Token(byte(linkType>>16)), Token(byte(linkType>>8)), Token(byte(linkType)))
}

func appendRes(dst []Token, r pcap.Resolution) []Token {
	switch r {
	case pcap.Micro:
		return append(dst, ResMicro)
	case pcap.Nano:
		return append(dst, ResNano)
	}
	return append(dst, ResOther, Token(r))
}

// addrState is what a flow remembers of its address fields, oriented client
// to server: the first packet that carries a field sets it.
type addrState struct {
	mac, ip, ports [32]byte
	nmac, nip, np  int
}

func (a *addrState) get(k spanKind) ([]byte, bool) {
	switch k {
	case spanMAC:
		return a.mac[:a.nmac], a.nmac > 0
	case spanIPAddr:
		return a.ip[:a.nip], a.nip > 0
	case spanPorts:
		return a.ports[:a.np], a.np > 0
	}
	return nil, false
}

// learn stores b (the field as seen in a packet of direction c2s) unless the
// field is known already.
func (a *addrState) learn(k spanKind, b []byte, c2s bool) {
	var dst *[32]byte
	var n *int
	switch k {
	case spanMAC:
		dst, n = &a.mac, &a.nmac
	case spanIPAddr:
		dst, n = &a.ip, &a.nip
	case spanPorts:
		dst, n = &a.ports, &a.np
	default:
		return
	}
	if *n > 0 || len(b) > 32 {
		return
	}
	copySwapped(dst[:len(b)], b, !c2s)
	*n = len(b)
}

// copySwapped copies src to dst, exchanging its two halves when swap is set
// (source and destination fields trade places in the other direction).
func copySwapped(dst, src []byte, swap bool) {
	if !swap {
		copy(dst, src)
		return
	}
	h := len(src) / 2
	copy(dst[:h], src[h:])
	copy(dst[h:], src[:h])
}

// omitFunc is the rule both sides use to decide whether a span is left out.
func omitRule(a *addrState, flags Token, k spanKind, n int) bool {
	switch k.class() {
	case FADDR:
		if flags&flagAddr != 0 {
			return false
		}
		v, ok := a.get(k)
		return ok && len(v) == n
	case FLEN:
		return flags&flagLen == 0
	case FCSUM:
		return flags&flagCsum == 0
	}
	return false
}

// flag bits (internal) for the flag tokens of a packet.
const (
	flagAddr Token = 1 << iota
	flagLen
	flagCsum
	flagRaw
)

// fillDerived writes the derived fields of p (complete packet bytes, with
// holes at the omitted spans) in dependency order: lengths, then checksums.
// l4 false skips the TCP/UDP checksum (headers-only decoding).
func fillDerived(p []byte, lay *layout, origLen int, l4 bool) {
	for pass := 0; pass < 3; pass++ {
		for i := 0; i < lay.nspans; i++ {
			sp := &lay.spans[i]
			if !sp.omit {
				continue
			}
			var v uint16
			switch {
			case pass == 0 && sp.kind == spanIPLen:
				v = predictIPLen(lay, origLen)
			case pass == 1 && sp.kind == spanUDPLen:
				v = predictUDPLen(p, lay)
			case pass == 2 && sp.kind == spanIPCsum:
				v = ipv4HeaderChecksum(p[lay.netOff : lay.netOff+int(p[lay.netOff]&0x0f)*4])
			default:
				continue
			}
			binary.BigEndian.PutUint16(p[sp.off:], v)
		}
	}
	for i := 0; i < lay.nspans && l4; i++ {
		if sp := &lay.spans[i]; sp.omit && sp.kind == spanL4Csum {
			binary.BigEndian.PutUint16(p[sp.off:], predictL4Checksum(p, lay))
		}
	}
}

func predictIPLen(lay *layout, origLen int) uint16 {
	if lay.ipVer == 6 {
		return uint16(origLen - lay.netOff - 40)
	}
	return uint16(origLen - lay.netOff)
}

func predictUDPLen(p []byte, lay *layout) uint16 {
	ipLen := int(binary.BigEndian.Uint16(p[lay.netOff+2:]))
	if lay.ipVer == 6 {
		ipLen = 40 + int(binary.BigEndian.Uint16(p[lay.netOff+4:]))
	}
	return uint16(ipLen - (lay.l4Off - lay.netOff))
}

// Packet is one decoded packet of a flow.
type Packet struct {
	C2S     bool
	Ticks   uint64 // absolute timestamp in the flow's resolution (start + deltas)
	OrigLen uint32
	Data    []byte // valid until the next call to the decoder
	Raw     bool   // the packet was carried verbatim (RAW flag)
}

// Flow header information.
type Header struct {
	LinkType   uint32
	Resolution pcap.Resolution
	Label      int // -1 when the flow carries no label token
}
