package packet

import "net/netip"

// Layers are the decoded headers of one packet. Offsets index the data that
// was decoded; -1 means absent.
type Layers struct {
	LinkType uint32 // as passed to Decode (upper bits kept)
	// Link layer.
	DstMAC, SrcMAC int    // offsets of 6-byte MAC addresses (Ethernet, and SLL's source)
	EtherType      uint16 // protocol of the network layer (0x0800, 0x86DD, ...) if known; 0 for 802.3 length frames
	NetOff         int    // offset of the IP (or other network) header; -1 when the link header was not decoded
	VLANs          int    // number of 802.1Q/802.1ad tags crossed

	// IP (outermost IP header after the link layer).
	IPVersion    uint8 // 4, 6, or 0 when not IP
	IPHdrLen     int   // IPv4: IHL*4; IPv6: 40 + extension headers
	IPTotalLen   int   // value of the IPv4 total length / 40 + IPv6 payload length
	TTLOff       int   // offset of the TTL / hop limit byte
	IPIDOff      int   // offset of the IPv4 identification field (2 bytes); -1 for IPv6
	IPCsumOff    int   // offset of the IPv4 header checksum; -1 for IPv6
	IPLenOff     int   // offset of the IPv4 total length / IPv6 payload length (2 bytes)
	SrcIPOff     int   // offset of the source address (4 or 16 bytes)
	DstIPOff     int   // offset of the destination address
	FinalDstOff  int   // offset of the destination used in the L4 pseudo-header (IPv6 routing header's final destination, else DstIPOff)
	PseudoSrcOff int   // offset of the source used in the L4 pseudo-header (IPv6 home address option, else SrcIPOff)
	Src, Dst     netip.Addr
	Proto        uint8 // final transport protocol number (after IPv6 extension headers)
	Fragment     bool  // this packet is an IP fragment (first or later)
	MoreFrags    bool  // the MF flag / IPv6 M flag is set
	FragOffset   int   // fragment offset in bytes (0 for the first fragment)
	FragID       uint32
	L4Off        int // offset of the transport (or ICMP, ...) header; -1 for non-first fragments

	// TCP / UDP. The ports are filled as soon as their 4 bytes are captured,
	// even when the rest of the header is cut short.
	SrcPort, DstPort uint16
	SrcPortOff       int // offset of the source port (destination port follows)
	L4CsumOff        int // offset of the TCP/UDP checksum
	UDPLenOff        int // offset of the UDP length
	TCPFlags         uint8
	TCPHdrLen        int // data offset * 4
	PayloadOff       int // offset of the transport payload
}

// TCP flag bits of Layers.TCPFlags.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
	TCPEce = 0x40
	TCPCwr = 0x80
)

// IP protocol numbers used by the decoder.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// EtherType values used by the decoder.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeIPv6 = 0x86DD
)

// Link types (the low 16 bits of a pcap link-type field) that Decode knows.
const (
	LinkNull     = 0
	LinkEthernet = 1
	LinkRaw12    = 12
	LinkRaw14    = 14
	LinkRaw      = 101
	LinkLoop     = 108
	LinkSLL      = 113
	LinkIPv4     = 228
	LinkIPv6     = 229
	LinkSLL2     = 276
)

// HasPorts reports whether the TCP/UDP ports were decoded.
func (l *Layers) HasPorts() bool { return l.SrcPortOff >= 0 }

// IsTCP reports whether the transport header is a decoded TCP header (flags valid).
func (l *Layers) IsTCP() bool { return l.Proto == ProtoTCP && l.TCPHdrLen > 0 }
