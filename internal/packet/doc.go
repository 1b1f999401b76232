// Package packet decodes link, network and transport headers without
// allocating, and derives bidirectional flow keys.
//
// # Contract
//
// Decode(linkType, data, &layers) fills a Layers value with offsets into data
// (-1 when a layer or field is absent) and never panics, whatever data holds:
// a header that is cut short or malformed stops decoding at that layer, leaves
// the outer layers filled and returns an error wrapping ErrTruncated or
// ErrMalformed. Decode, KeyOf and the checksum functions do not allocate.
//
// Link types (the low 16 bits of the pcap link-type field; classic pcap keeps
// FCS information in the upper bits):
//   - Ethernet (1) with any number of 802.1Q (0x8100), 802.1ad (0x88a8) and
//     0x9100 tags; 802.3 frames (length field <= 1500) are non-IP with
//     EtherType 0;
//   - raw IP (101, 12, 14: version from the first nibble; 228 IPv4, 229 IPv6);
//   - Linux SLL (113: 16-byte header, protocol at 14, a 6-byte source
//     address at 6 becomes SrcMAC) and SLL2 (276: 20 bytes, protocol at 0,
//     a 6-byte source address at 12 becomes SrcMAC);
//   - BSD null/loopback (0: 4-byte AF in the capturing host's byte order,
//     guessed from its magnitude) and OpenBSD loop (108: network order);
//     AF 2 is IPv4, 24/28/30 IPv6.
//
// Other link types decode nothing (NetOff -1) and are not an error.
//
// Network: the outermost IP header only (tunnels are not followed). IPv4
// with options and fragments (FragID = identification); IPv6 with extension
// headers hop-by-hop (0), routing (43), fragment (44), destination options
// (60) and AH (51); 59 or any other value ends the chain and is Proto.
// Non-first fragments have L4Off -1. Transport: TCP and UDP headers (ports
// are filled as soon as their 4 bytes are captured); for other protocols
// L4Off points at their header and Proto identifies them.
//
// Checksums: IPv4HeaderChecksum and L4Checksum compute the value a header
// should carry, with the checksum field itself counting as zero, so a
// packet's stored checksum is correct iff it equals the computed one (for UDP
// a stored 0 means "no checksum"). L4Checksum uses the IP length fields to
// delimit the segment (Ethernet padding is ignored), the final destination
// of an IPv6 routing header with segments left (FinalDstOff) and the Mobile
// IPv6 home address option as the source (PseudoSrcOff); it refuses
// fragments and segments that were not captured completely. Verdicts agree
// with tshark's on the dev captures (see TestDevChecksumsVsTshark).
//
// Flow keys are comparable values usable as map keys and do not depend on the
// direction of a packet: KeyOf returns the key and whether the packet goes
// from the key's A side to its B side; A is the smaller (address, port)
// endpoint in byte order. Kinds:
//   - KindPorts: TCP/UDP with ports captured: 5-tuple;
//   - KindIP: other IP protocols (ICMP, ...), non-first fragments, and
//     TCP/UDP whose ports were not captured: (address pair, protocol);
//   - KindEther: non-IP frames and IP packets whose addresses were not
//     captured: (link-layer address pair, EtherType);
//   - KindLink: link header not decodable: link type only.
//
// Key.Scope is left zero by KeyOf; callers set it to keep capture
// interfaces and pcapng sections apart.
package packet
