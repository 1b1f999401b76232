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
//   - gzip-compressed input of either format is read transparently; Raw and
//     offsets then refer to the decompressed stream.
//
// Bytes after the last complete record are an error (ErrTruncated, naming the
// offset) unless ReaderOptions.KeepTrailing is set, in which case they come
// back as one KindTrailer record so that a file with trailing garbage can
// still be reproduced exactly.
//
// Errors wrap the sentinels ErrFormat, ErrTruncated and ErrTooLarge and say
// the byte offset and the record number: "pcap: record 17 at offset 4242:
// caplen 2147483648 exceeds limit 268435456: pcap: record too large".
// No input makes the reader panic; memory is bounded by the largest record.
//
// AppendPacketRecord builds the canonical bytes of a packet record (no
// options, zero padding) for a given Framing; the codec stores only records
// whose Raw differs from the canonical form.
package pcap
