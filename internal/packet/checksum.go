package packet

import (
	"encoding/binary"
	"math/bits"
)

// sum adds b, as big-endian 16-bit words (an odd last byte padded with zero),
// to the ones'-complement accumulator acc. The accumulator is 64 bits wide
// with end-around carry, so it can be folded to 16 bits at any point: 2^16,
// 2^32 and 2^48 are all 1 modulo 0xffff, which lets us add 8 bytes at a time.
func sum(b []byte, acc uint64) uint64 {
	var c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[0:8]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[8:16]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[16:24]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[24:32]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[0:8]), c)
		b = b[8:]
	}
	if len(b) >= 4 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		acc, c = bits.Add64(acc, uint64(b[0])<<8, c)
	}
	acc, c = bits.Add64(acc, 0, c)
	return acc + c // cannot carry again: acc was at most 2^64-2 when c was 1
}

// fold reduces a 64-bit ones'-complement accumulator to 16 bits.
func fold(acc uint64) uint16 {
	s := (acc >> 32) + (acc & 0xffffffff)
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return uint16(s)
}

// IPv4HeaderChecksum returns the header checksum an IPv4 header hdr (IHL*4
// bytes) should carry: the checksum field itself (bytes 10-11) counts as zero.
func IPv4HeaderChecksum(hdr []byte) uint16 {
	acc := sum(hdr, 0)
	if len(hdr) >= 12 {
		// Cancel the stored checksum: adding its complement subtracts it.
		acc = addc(acc, uint64(^binary.BigEndian.Uint16(hdr[10:])))
	}
	return ^fold(acc)
}

// addc adds v to the accumulator with end-around carry.
func addc(acc, v uint64) uint64 {
	acc, c := bits.Add64(acc, v, 0)
	return acc + c
}

// L4Checksum returns the TCP or UDP checksum the segment of the decoded packet
// should carry: over the IPv4/IPv6 pseudo-header (IPv6: the final destination
// when a routing header has segments left, and the home address option's
// address as the source) and the segment as delimited by
// the IP length fields, with the checksum field counting as zero. For UDP a
// computed 0 is returned as 0xffff (0 means "no checksum" on the wire). ok is
// false when the packet is not TCP/UDP, is a fragment, or its segment is not
// completely captured.
func L4Checksum(l *Layers, data []byte) (sum16 uint16, ok bool) {
	if l.Fragment || l.L4CsumOff < 0 || l.L4Off < 0 || (l.Proto != ProtoTCP && l.Proto != ProtoUDP) {
		return 0, false
	}
	seg := l.IPTotalLen - l.IPHdrLen
	minHdr := 8
	if l.Proto == ProtoTCP {
		minHdr = 20
	}
	end := l.L4Off + seg
	if seg < minHdr || end > len(data) {
		return 0, false
	}
	var acc uint64
	switch l.IPVersion {
	case 4:
		acc = sum(data[l.SrcIPOff:l.SrcIPOff+8], 0)
	case 6:
		acc = sum(data[l.PseudoSrcOff:l.PseudoSrcOff+16], 0)
		acc = sum(data[l.FinalDstOff:l.FinalDstOff+16], acc)
	default:
		return 0, false
	}
	acc = addc(acc, uint64(l.Proto)+uint64(seg))
	acc = sum(data[l.L4Off:end], acc)
	acc = addc(acc, uint64(^binary.BigEndian.Uint16(data[l.L4CsumOff:])))
	s := ^fold(acc)
	if s == 0 && l.Proto == ProtoUDP {
		s = 0xffff
	}
	return s, true
}

// OnesSum adds b to a ones'-complement accumulator, 8 bytes at a time (see
// sum); pieces summed one after another must have even lengths, but for the
// last. Fold the result to 16 bits with Fold.
func OnesSum(b []byte, acc uint64) uint64 { return sum(b, acc) }

// Fold reduces a ones'-complement accumulator to 16 bits.
func Fold(acc uint64) uint16 { return fold(acc) }
