// Package codec is the token grammar: a lossless, reversible mapping between
// the flows of a capture and token sequences a language model can learn, the
// views (masking, truncation) shown to models, and the token archive that
// rebuilds a capture byte for byte.
//
// # Vocabulary (codec version 1, VocabSize = 512)
//
//	0..255    byte values
//	256 <pad>        padding; never inside a flow
//	257 <flow>       flow start
//	258 <end>        flow end: the flow is complete
//	259 <c2s>        packet start, client -> server (the client sent the flow's first packet)
//	260 <s2c>        packet start, server -> client
//	261 <cls>        classification position (datasets append it after <end>/<cut>)
//	262 <trunc>      the packet's original length differs from its captured bytes; [<neg>] number follows
//	263 <raw>        flag: every byte of the packet is present, nothing is derived
//	264 <f:addr>     flag: addresses and ports are present (they differ from the flow's)
//	265 <f:len>      flag: length fields are present (they differ from the derived values)
//	266 <f:csum>     flag: checksums are present (they differ from the computed values)
//	267 <mask>       a masked byte (views only); decodes as 0x00
//	268 <link:eth>   link type 1      269 <link:raw>  101     270 <link:sll>  113
//	271 <link:sll2>  276              272 <link:null> 0       273 <link:loop> 108
//	274 <link:other> followed by 4 byte tokens: the 32-bit link type, big-endian
//	275 <res:us>     timestamps in microseconds    276 <res:ns> nanoseconds
//	277 <res:other>  followed by 1 byte token: pcapng if_tsresol
//	278 <neg>        the number that follows is negative
//	279 <cut>        flow end in a view that stopped early (the flow goes on)
//	280..344 <m0>..<m64>  magnitude: a number of bit length k follows (see Numbers)
//	345..383         reserved
//	384..510 <label:0>..<label:126>  class label, right after <flow> (conditioning)
//	511              reserved
//
// # Grammar
//
//	flow    = <flow> [label] link res packet* (<end> | <cut>)
//	link    = <link:eth> | ... | <link:other> b b b b
//	res     = <res:us> | <res:ns> | <res:other> b
//	packet  = (<c2s> | <s2c>) flags time [<trunc> [<neg>] number] body
//	flags   = <raw> | [<f:addr>] [<f:len>] [<f:csum>]
//	time    = [<neg>] number      ticks since the flow's previous packet (0 for the first)
//	body    = (byte | <mask>)*    the captured bytes, minus the fields left out
//	number  = <mk> b*             see Numbers
//
// A packet's body runs to the next <c2s>, <s2c>, <end> or <cut>. The flow's
// absolute start time is not in the tokens (the archive keeps it): a model
// sees inter-arrival times only, exact to the capture's resolution.
//
// # Numbers
//
// A number n >= 0 of bit length k (k = 0 for n = 0) is the token <mk>
// followed by ceil((k-1)/8) byte tokens holding the low k-1 bits of n,
// big-endian (the top bit is implied): 0 = <m0>, 1 = <m1>, 5 = <m3> 01,
// 1000 = <m10> 01 e8. A model first picks an order of magnitude, then the
// digits: a 15 us gap costs 2 tokens, a 1 s gap 4 (the paper spends 8).
//
// # Fields left out
//
// The encoder walks the packet's headers (Ethernet with VLAN tags, raw IP,
// SLL, SLL2, null/loop; IPv4 with options, IPv6 with extension headers; TCP,
// UDP) and leaves out, unless the packet's flags say they are present:
//   - addresses and ports (Ethernet MACs, IP addresses, TCP/UDP ports) when
//     they equal those of the flow: the first packet that carries a field sets
//     it (oriented client to server; the halves swap for server to client);
//   - length fields: IPv4 total length and IPv6 payload length (derived from
//     the original length: the IP packet runs to the end of the frame), UDP
//     length (derived from the IP length);
//   - checksums: IPv4 header checksum, TCP/UDP checksum (0 when the segment
//     is not all captured or is a fragment; UDP's computed 0 is sent as ffff).
//
// The decoder walks the same headers over the bytes it has, finds the same
// holes (the position of every field depends only on bytes before it that
// are present), fills addresses from the flow, then lengths, then checksums.
// A packet whose headers are cut short is <raw>. The lossless encoder decodes
// every packet again in lockstep and writes it <raw> if the result differs,
// so the round trip is exact by construction; the dev corpus needs no such
// fallback. Measured on dev-v1 (tokens per packet saved): addresses 9-24,
// lengths 1.2-2.5, checksums 1-4; timing costs 1.4-2.9 tokens instead of 8.
//
// # Views
//
// A View masks fields (MASK tokens in place of address, port, MAC, TTL, IP ID
// bytes that are present) and truncates: payload bytes per packet (the
// packet gets <trunc> and its original length, so it decodes to a record
// with caplen < len), packets per flow and tokens per flow (the flow then
// ends in <cut>). Views never carry checksums: the decoder recomputes them
// over what it has. Views are lossy; only the zero View is lossless.
//
// # Token archive (.tgt), version 2
//
// A stream of entries after a header, all integers unsigned LEB128 varints:
//
//	header  = "TGTA" version(2), then in checksummed blocks: codec-version gzip-flag(byte)
//	'R' len bytes                       a non-packet record verbatim (pcap file header,
//	                                    pcapng SHB/IDB/NRB/ISB/custom/unknown block, trailer)
//	'F' format(byte) big-endian(byte) resolution(byte) block-type snaplen
//	                                    framing of the packet records that follow
//	'N' flow start-ticks tokens         a flow starts: its header tokens
//	'P' flow iface framed(byte) [len prefix len suffix] tokens
//	                                    a packet record: its tokens; framed=1 keeps the
//	                                    record's framing bytes when they are not canonical
//	'E' flow tokens                     a flow ends: <end>
//	'Z' records packets flows           end of archive, with counts
//
// where tokens = count, then each token as one byte if < 255, else 0xff and
// (token - 255). Entries follow the capture's record order, so both
// directions stream with memory bounded by the active flows. Canonical
// framing is what pcap.AppendPacketRecord writes. Nothing may follow 'Z'.
//
// In version 2 the bytes after "TGTA" 0x02 are cut into blocks of at most
// 64 KiB (readers accept up to MaxBlock):
//
//	block = length payload crc32c(4 bytes, little-endian)
//
// the CRC-32C covering the block's index (varint), its length and its
// payload, so a flipped, moved, dropped or repeated block is an ErrChecksum
// naming the block and its offset; a block of length 0 ends the file. A
// reader hands out a block's bytes only after its check passed. Version 1
// (the same entries, no blocks) is still read: Stats.ArchiveVersion = 1
// tells commands to warn that corruption cannot be detected.
package codec
