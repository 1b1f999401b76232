package packet

import "encoding/binary"

// Hand-built packets for tests. Each builder appends a header to b.

var (
	macA = []byte{0x02, 0, 0, 0, 0, 0xaa}
	macB = []byte{0x02, 0, 0, 0, 0, 0xbb}
	ip4A = []byte{10, 0, 0, 1}
	ip4B = []byte{10, 0, 0, 2}
	ip6A = []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	ip6B = []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}
)

func be16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }

func ether(dst, src []byte, tags []uint16, et uint16) []byte {
	b := append(append([]byte{}, dst...), src...)
	for _, t := range tags {
		b = be16(b, t)
		b = be16(b, 100) // VLAN id
	}
	return be16(b, et)
}

// ipv4 returns an IPv4 header with options opt (multiple of 4 bytes) for a
// payload of plen bytes, with a correct header checksum.
func ipv4(src, dst []byte, proto uint8, plen int, opt []byte, id uint16, frag uint16) []byte {
	ihl := 20 + len(opt)
	b := []byte{0x40 | uint8(ihl/4), 0}
	b = be16(b, uint16(ihl+plen))
	b = be16(b, id)
	b = be16(b, frag)
	b = append(b, 64, proto, 0, 0)
	b = append(b, src...)
	b = append(b, dst...)
	b = append(b, opt...)
	binary.BigEndian.PutUint16(b[10:], IPv4HeaderChecksum(b))
	return b
}

// ipv6 returns an IPv6 header followed by the extension headers ext (already
// encoded); next is the first next-header value.
func ipv6(src, dst []byte, next uint8, plen int) []byte {
	b := []byte{0x60, 0, 0, 0}
	b = be16(b, uint16(plen))
	b = append(b, next, 64)
	b = append(b, src...)
	return append(b, dst...)
}

func tcp(sp, dp uint16, flags uint8, opt []byte) []byte {
	b := be16(nil, sp)
	b = be16(b, dp)
	b = append(b, 0, 0, 0, 1, 0, 0, 0, 0)
	b = append(b, uint8((20+len(opt))/4)<<4, flags)
	b = be16(b, 65535)
	b = append(b, 0, 0, 0, 0)
	return append(b, opt...)
}

func udp(sp, dp uint16, plen int) []byte {
	b := be16(nil, sp)
	b = be16(b, dp)
	b = be16(b, uint16(8+plen))
	return append(b, 0, 0)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}
