// Package pcap reads and writes classic pcap and pcapng capture files byte for
// byte, with the standard library only.
//
// # Contract
//
// A Reader turns a capture into a sequence of Records. Concatenating Raw of
// every record, in order, gives back the (decompressed) input exactly: the
// reader never normalises anything. Packet records additionally expose the
// captured bytes (Data, a sub-slice of Raw), the timestamp in the ticks of the
// interface's resolution, the original length, the interface and link type.
//
// Formats:
//   - classic pcap: both byte orders, microsecond (0xa1b2c3d4) and nanosecond
//     (0xa1b23c4d) magic, any snaplen and link type (the 32-bit link-type
//     field is kept whole: the upper bits carry FCS information), records
//     whose caplen exceeds the snaplen, timestamps whose fraction is out of
//     range (kept raw);
//   - pcapng: SHB (both byte orders, several sections), IDB (options such as
//     if_tsresol and if_tsoffset), EPB, SPB, obsolete PB; NRB, ISB, custom and
//     unknown blocks are KindBlock records kept verbatim. Options and padding
//     bytes are kept verbatim in Raw, whatever their values.
//   - gzip-, xz- or zstd-compressed input of either format (recognised by
//     magic; Decompress, Reader.Compression) is read transparently; Raw and
//     offsets then refer to the decompressed stream. A zstd window above
//     128 MiB is refused (memory bound).
//
// Records: a classic pcap file is one KindHeader record (the 24-byte file
// header) followed by one KindPacket per record (16-byte header + data). In
// pcapng every block is one record: EPB, SPB and PB are KindPacket, all
// others (SHB, IDB, NRB, ISB, custom, unknown) KindBlock with BlockType set.
// A new SHB starts a new section: interfaces are forgotten and the byte
// order may change. Packet records carry the interface's link type,
// resolution (if_tsresol, default Micro) and if_tsoffset (TimeOffset); the
// Timestamp is kept raw in ticks. An SPB's data is min(origLen, snaplen of
// interface 0, bytes in the block) long, so it may include padding when a
// writer cut the packet below origLen. Record.Index counts all records,
// Record.Offset is the byte offset of Raw.
//
// Checks: pcapng block lengths must be at least 12, a multiple of 4, and
// equal at both ends; the fixed part of SHB, IDB, EPB, PB must fit; an EPB's
// caplen must fit its block; packets must name a defined interface. Options
// are parsed only for if_tsresol and if_tsoffset, leniently (a malformed
// option list is kept verbatim and ends the scan). Classic pcap records are
// not checked beyond their length (caplen above the snaplen and out-of-range
// fractions are kept). A length above MaxRecordLen fails with ErrTooLarge
// before anything of that size is allocated; buffers grow with the bytes
// actually received, and one buffer is reused for all records.
//
// A record cut short at the end of the input is an error wrapping
// ErrTruncated ("pcap: record 17 at offset 4242: need 1514 bytes, have
// 300") unless ReaderOptions.KeepTrailing is set: then the bytes from the
// start of that record to the end of the input come back as one KindTrailer
// record, followed by io.EOF, so a cut file is still reproduced exactly.
// With KeepTrailing, a record whose length exceeds MaxRecordLen but whose
// remaining input is shorter than MaxRecordLen is such a trailer too. An
// empty input or one shorter than a magic number is ErrTruncated; an unknown
// magic is ErrFormat ("pcap: offset 0: unknown magic 47 45 54 20"); a cut or
// corrupt compressed stream is ErrTruncated or ErrFormat.
//
// Errors wrap the sentinels ErrFormat, ErrTruncated and ErrTooLarge (or an
// I/O error of the underlying reader) and say the byte offset and the record
// number: "pcap: record 17 at offset 4242: caplen 2147483648 exceeds limit
// 268435456: pcap: record too large". Errors are sticky. No input makes the
// reader panic (fuzzed by FuzzPcapReader and FuzzPcapngReader).
//
// Framing: Reader.Framing describes the last packet record returned: the
// format and byte order, and the resolution (classic pcap: the magic's;
// pcapng: the interface's), plus for pcapng the block type and the
// interface's snaplen. AppendPacketRecord builds the canonical bytes of a
// packet record for a Framing: classic pcap header with the timestamp split
// by the resolution, or an EPB without options (SPB; PB with drops 0), zero
// padding. This is what tcpdump and dumpcap write: on dev-v1 it reproduces
// Raw for 100% of the generated and zeek packets and ~99% of ndpi's (the
// rest are EPBs with options, or fuzzed fractions). The codec stores raw
// framing only for records where it differs.
//
// Writing: Writer copies records verbatim (WriteRaw) through a buffer;
// PacketWriter starts a new capture (classic pcap 2.4 header, or an SHB of
// version 1.0 without options and an IDB with if_tsresol when the
// resolution is not Micro) and writes canonical packet records on interface
// 0. Both must be flushed. MultiWriter writes one little-endian pcapng
// stream of several sections, each with the interfaces its packets name
// (IDBs created on first use, nanosecond timestamps, EPBs without options):
// the packets of many captures in one stream, e.g. into one tshark.
package pcap
