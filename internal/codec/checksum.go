package codec

import "encoding/binary"

// onesSum adds b to sum as big-endian 16-bit words (an odd last byte is
// padded with zero), without folding.
func onesSum(sum uint64, b []byte) uint64 {
	for len(b) >= 8 {
		sum += uint64(binary.BigEndian.Uint16(b)) + uint64(binary.BigEndian.Uint16(b[2:])) +
			uint64(binary.BigEndian.Uint16(b[4:])) + uint64(binary.BigEndian.Uint16(b[6:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	return sum
}

func fold(sum uint64) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// ipv4HeaderChecksum is the checksum hdr should carry (its checksum field,
// bytes 10-11, counts as zero).
func ipv4HeaderChecksum(hdr []byte) uint16 {
	s := onesSum(0, hdr[:10])
	s = onesSum(s, hdr[12:])
	return ^fold(s)
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
	switch lay.ipVer {
	case 4:
		ihl := int(p[n]&0x0f) * 4
		tl := int(binary.BigEndian.Uint16(p[n+2:]))
		end = n + tl
		if tl < ihl || end > len(p) || end < lay.l4Off+l4HeaderMin(lay.proto) {
			return 0
		}
		s = onesSum(0, p[n+12:n+20])
	case 6:
		end = n + 40 + int(binary.BigEndian.Uint16(p[n+4:]))
		if end > len(p) || end < lay.l4Off+l4HeaderMin(lay.proto) {
			return 0
		}
		s = onesSum(0, p[n+8:n+40])
	default:
		return 0
	}
	segLen := end - lay.l4Off
	s += uint64(segLen>>16) + uint64(segLen&0xffff) + uint64(lay.proto)
	cs := lay.l4Off + 16
	if lay.proto == 17 {
		cs = lay.l4Off + 6
	}
	s = onesSum(s, p[lay.l4Off:cs])
	s = onesSum(s, p[cs+2:end])
	c := ^fold(s)
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
