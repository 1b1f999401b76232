package codec

import (
	"encoding/binary"

	"github.com/trafficgpt/trafficgpt/internal/packet"
)

// ipv4HeaderChecksum is the checksum hdr should carry (its checksum field,
// bytes 10-11, counts as zero).
func ipv4HeaderChecksum(hdr []byte) uint16 {
	return ^packet.Fold(packet.OnesSum(hdr[12:], packet.OnesSum(hdr[:10], 0)))
}

// predictL4Checksum is the TCP/UDP checksum the packet p should carry given
// its layout, or 0 when the segment is not all there (fragment, snaplen,
// inconsistent length field): the grammar then keeps the field as it is.
func predictL4Checksum(p []byte, lay *layout) uint16 {
	if lay.l4Off < 0 || lay.frag {
		return 0
	}
	n := lay.netOff
	var end int
	var s uint64
	var pseudo [8]byte
	switch lay.ipVer {
	case 4:
		ihl := int(p[n]&0x0f) * 4
		tl := int(binary.BigEndian.Uint16(p[n+2:]))
		end = n + tl
		if tl < ihl || end > len(p) || end < lay.l4Off+l4HeaderMin(lay.proto) {
			return 0
		}
		s = packet.OnesSum(p[n+12:n+20], 0)
	case 6:
		end = n + 40 + int(binary.BigEndian.Uint16(p[n+4:]))
		if end > len(p) || end < lay.l4Off+l4HeaderMin(lay.proto) {
			return 0
		}
		s = packet.OnesSum(p[n+8:n+40], 0)
	default:
		return 0
	}
	binary.BigEndian.PutUint32(pseudo[:], uint32(end-lay.l4Off))
	pseudo[7] = lay.proto
	s = packet.OnesSum(pseudo[:], s)
	cs := lay.l4Off + 16
	if lay.proto == 17 {
		cs = lay.l4Off + 6
	}
	s = packet.OnesSum(p[lay.l4Off:cs], s)
	s = packet.OnesSum(p[cs+2:end], s)
	c := ^packet.Fold(s)
	if c == 0 && lay.proto == 17 {
		c = 0xffff
	}
	return c
}

func l4HeaderMin(proto uint8) int {
	if proto == 6 {
		return 20
	}
	return 8
}
