// Package packet decodes link, network and transport headers without
// allocating, and derives bidirectional flow keys.
//
// # Contract
//
// Decode(linkType, data, &layers) fills a Layers value with offsets into data
// (-1 when a layer or field is absent) and never panics, whatever data holds:
// a header that is cut short or malformed stops decoding at that layer and
// leaves the outer layers filled. Link types: Ethernet (1) with any number of
// 802.1Q/802.1ad VLAN tags, raw IP (101, 12/14 on some systems, 228 IPv4, 229
// IPv6), Linux SLL (113) and SLL2 (276), BSD loopback/null (0) and OpenBSD
// loop (108). Network: IPv4 with options and fragments, IPv6 with extension
// headers (hop-by-hop, routing, fragment, destination options, AH). Transport:
// TCP and UDP; other protocols are identified by number.
//
// Flow keys are comparable values usable as map keys and do not depend on the
// direction of a packet: KeyOf returns the key and whether the packet goes
// from the key's A side to its B side. Packets that are not TCP/UDP still get
// a key: other IP protocols by (address pair, protocol), non-IP frames by
// (link-layer address pair, EtherType), undecodable records by link type.
package packet
