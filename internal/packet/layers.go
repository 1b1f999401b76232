package packet

import "net/netip"

// Layers are the decoded headers of one packet. Offsets index the data that
// was decoded; -1 means absent.
type Layers struct {
	LinkType uint32
	// Link layer.
	DstMAC, SrcMAC int    // offsets of 6-byte MAC addresses (Ethernet, and SLL's source)
	EtherType      uint16 // protocol of the network layer (0x0800, 0x86DD, ...) if known
	NetOff         int    // offset of the IP (or other network) header

	// IP (outermost IP header after the link layer).
	IPVersion   uint8 // 4, 6, or 0 when not IP
	IPHdrLen    int   // IPv4: IHL*4; IPv6: 40 + extension headers
	IPTotalLen  int   // value of the IPv4 total length / 40 + IPv6 payload length
	TTLOff      int   // offset of the TTL / hop limit byte
	IPIDOff     int   // offset of the IPv4 identification field (2 bytes); -1 for IPv6
	IPCsumOff   int   // offset of the IPv4 header checksum; -1 for IPv6
	IPLenOff    int   // offset of the IPv4 total length / IPv6 payload length (2 bytes)
	SrcIPOff    int   // offset of the source address (4 or 16 bytes)
	DstIPOff    int   // offset of the destination address
	Src, Dst    netip.Addr
	Proto       uint8 // final transport protocol number (after IPv6 extension headers)
	Fragment    bool  // this packet is an IP fragment (first or later)
	FragOffset  int   // fragment offset in bytes (0 for the first fragment)
	FragID      uint32
	L4Off       int // offset of the transport header; -1 for non-first fragments

	// TCP / UDP.
	SrcPort, DstPort uint16
	SrcPortOff       int // offset of the source port (destination port follows)
	L4CsumOff        int // offset of the TCP/UDP checksum
	UDPLenOff        int // offset of the UDP length
	TCPFlags         uint8
	TCPHdrLen        int // data offset * 4
	PayloadOff       int // offset of the transport payload
}
