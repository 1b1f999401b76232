package codec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// ErrArchive marks a token archive that cannot be read.
var ErrArchive = errors.New("codec: bad archive")

// ArchiveMagic starts every token archive; ArchiveVersion is the layout
// Tokenize writes (2: checksummed blocks). Version 1 (no checksums) is still
// read; ArchiveReader.Version and Stats.ArchiveVersion tell callers to warn.
const (
	ArchiveMagic   = "TGTA"
	ArchiveVersion = 2
)

// Entry tags of the archive (see doc.go).
const (
	tagRaw     = 'R'
	tagFraming = 'F'
	tagFlow    = 'N'
	tagPacket  = 'P'
	tagEnd     = 'E'
	tagEOF     = 'Z'
)

// Stats summarise a tokenize or detokenize run.
type Stats struct {
	Records int   // records of every kind
	Packets int   // packet records
	Flows   int   // flows
	Tokens  int64 // tokens of all flows (headers, packets, ends)
	// PaperTokens is what the paper's layout would cost: per packet a start,
	// a link-type and 8 time tokens and one token per captured byte; per
	// flow an end token.
	PaperTokens int64
	Bytes       int64 // bytes of the (decompressed) capture
	RawFraming  int   // packet records whose framing is not canonical (kept verbatim)
	Encode      EncodeStats
	Gzipped     bool
	ArchiveSize int64
	// ArchiveVersion is the layout of the archive read (Detokenize); 1 has
	// no checksums, so corruption may go undetected: callers warn.
	ArchiveVersion int
}

// TokenizeOptions configure Tokenize.
type TokenizeOptions struct {
	Flow         flow.Config
	KeepTrailing bool // keep bytes after the last complete record (else: error)
	NoCheck      bool // skip the per-packet lockstep decode
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Tokenize reads a capture from src and writes its token archive to dst,
// streaming: memory is bounded by the number of active flows and the
// largest record.
func Tokenize(ctx context.Context, src io.Reader, dst io.Writer, opts TokenizeOptions) (Stats, error) {
	var st Stats
	r, err := pcap.NewReader(src, pcap.ReaderOptions{KeepTrailing: opts.KeepTrailing})
	if err != nil {
		return st, err
	}
	st.Gzipped = r.Gzipped()
	cw := &countingWriter{w: dst}
	head := binary.AppendUvarint([]byte(ArchiveMagic), ArchiveVersion)
	if _, err := cw.Write(head); err != nil {
		return st, err
	}
	bw := newBlockWriter(cw)
	var ebuf []byte
	ebuf = binary.AppendUvarint(ebuf, Version)
	ebuf = append(ebuf, boolByte(st.Gzipped))
	flows := map[uint64]*FlowEncoder{}
	var free []*FlowEncoder
	var lastFraming pcap.Framing
	haveFraming := false
	var toks []Token
	var frame []byte
	flush := func() error {
		if len(ebuf) < 1<<16 {
			return nil
		}
		_, err := bw.Write(ebuf)
		ebuf = ebuf[:0]
		return err
	}
	err = scanCapture(ctx, r, opts.Flow, &st, scanVisitor{
		other: func(rec *pcap.Record) error {
			ebuf = append(ebuf, tagRaw)
			ebuf = binary.AppendUvarint(ebuf, uint64(len(rec.Raw)))
			ebuf = append(ebuf, rec.Raw...)
			return flush()
		},
		packet: func(rec *pcap.Record, _ *packet.Layers, as flow.Assignment, _ int64) error {
			if f := r.Framing(); !haveFraming || f != lastFraming {
				lastFraming, haveFraming = f, true
				ebuf = appendFraming(ebuf, f)
			}
			e := flows[as.Flow]
			if as.New {
				if n := len(free); n > 0 {
					e, free = free[n-1], free[:n-1]
					e.Stats = EncodeStats{}
				} else {
					e = NewFlowEncoder(View{})
				}
				e.NoCheck = opts.NoCheck
				e.deferTail = true
				flows[as.Flow] = e
				toks = e.Begin(toks[:0], Header{LinkType: rec.LinkType, Resolution: rec.Resolution, Label: -1}, rec.Timestamp)
				ebuf = append(ebuf, tagFlow)
				ebuf = binary.AppendUvarint(ebuf, as.Flow)
				ebuf = binary.AppendUvarint(ebuf, rec.Timestamp)
				ebuf = appendTokens(ebuf, toks)
				st.Tokens += int64(len(toks))
			} else if e == nil {
				return fmt.Errorf("codec: record %d: flow %d unknown to the tokenizer", rec.Index, as.Flow)
			}
			toks = e.Packet(toks[:0], as.C2S, rec.Timestamp, rec.HasTime, rec.OrigLen, rec.Data)
			st.Tokens += int64(len(toks) + len(e.Tail))
			ebuf = append(ebuf, tagPacket)
			ebuf = binary.AppendUvarint(ebuf, as.Flow)
			ebuf = binary.AppendUvarint(ebuf, uint64(rec.Interface))
			frame = pcap.AppendPacketRecord(frame[:0], lastFraming, rec.Timestamp, rec.Interface, rec.OrigLen, rec.Data)
			if bytes.Equal(frame, rec.Raw) {
				ebuf = append(ebuf, 0)
			} else {
				st.RawFraming++
				pre, suf := rec.Raw[:rec.DataOff], rec.Raw[rec.DataOff+len(rec.Data):]
				ebuf = append(ebuf, 1)
				ebuf = binary.AppendUvarint(ebuf, uint64(len(pre)))
				ebuf = append(ebuf, pre...)
				ebuf = binary.AppendUvarint(ebuf, uint64(len(suf)))
				ebuf = append(ebuf, suf...)
			}
			ebuf = appendTokensTail(ebuf, toks, e.Tail)
			return flush()
		},
		ended: func(en flow.Ended) error {
			e := flows[en.Flow]
			if e == nil {
				return nil
			}
			toks = e.End(toks[:0])
			ebuf = append(ebuf, tagEnd)
			ebuf = binary.AppendUvarint(ebuf, en.Flow)
			ebuf = appendTokens(ebuf, toks)
			st.Tokens += int64(len(toks))
			st.Encode.add(e.Stats)
			delete(flows, en.Flow)
			free = append(free, e)
			return nil
		},
	})
	if err != nil {
		return st, err
	}
	if len(flows) > 0 {
		return st, fmt.Errorf("codec: %d flows never ended", len(flows))
	}
	ebuf = append(ebuf, tagEOF)
	ebuf = binary.AppendUvarint(ebuf, uint64(st.Records))
	ebuf = binary.AppendUvarint(ebuf, uint64(st.Packets))
	ebuf = binary.AppendUvarint(ebuf, uint64(st.Flows))
	if _, err := bw.Write(ebuf); err != nil {
		return st, err
	}
	if err := bw.Close(); err != nil {
		return st, err
	}
	st.ArchiveSize = cw.n
	return st, nil
}

// scanVisitor receives what scanCapture finds.
type scanVisitor struct {
	other  func(rec *pcap.Record) error // non-packet records (may be nil)
	packet func(rec *pcap.Record, lay *packet.Layers, as flow.Assignment, nanos int64) error
	ended  func(en flow.Ended) error // a flow ended (after its last packet; at EOF in id order)
}

// scanCapture is flow.Scan (the one capture -> flows loop) counting into
// st; the shared loop of Tokenize and EncodeFlows.
func scanCapture(ctx context.Context, r *pcap.Reader, cfg flow.Config, st *Stats, v scanVisitor) error {
	return flow.Scan(ctx, r, cfg, flow.Visitor{
		Record: func(rec *pcap.Record) error {
			st.Records++
			st.Bytes += int64(len(rec.Raw))
			if rec.Kind != pcap.KindPacket && v.other != nil {
				return v.other(rec)
			}
			return nil
		},
		Packet: func(p *flow.Scanned) error {
			st.Packets++
			st.PaperTokens += 10 + int64(len(p.Record.Data))
			if p.Flow.New {
				st.Flows++
				st.PaperTokens++
			}
			return v.packet(p.Record, p.Layers, p.Flow, p.TsNanos)
		},
		Ended: v.ended,
	})
}

func (s *EncodeStats) add(o EncodeStats) {
	s.Packets += o.Packets
	s.Raw += o.Raw
	s.FlagAddr += o.FlagAddr
	s.FlagLen += o.FlagLen
	s.FlagCsum += o.FlagCsum
	s.Fallback += o.Fallback
	s.SavedAddr += o.SavedAddr
	s.SavedLen += o.SavedLen
	s.SavedCsum += o.SavedCsum
	s.TimeTokens += o.TimeTokens
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func appendFraming(b []byte, f pcap.Framing) []byte {
	b = append(b, tagFraming, byte(f.Format), boolByte(f.BigEndian), byte(f.Resolution))
	b = binary.AppendUvarint(b, uint64(f.BlockType))
	return binary.AppendUvarint(b, uint64(f.SnapLen))
}

// appendTokens writes a count and the tokens: a token below 255 is one byte,
// any other is 0xFF then (token - 255).
func appendTokens(b []byte, toks []Token) []byte {
	return appendTokensTail(b, toks, nil)
}

// appendTokensTail writes toks followed by the byte tokens of tail as one
// token list; the tail goes straight from bytes (only 0xff needs escaping)
// without a pass through tokens.
func appendTokensTail(b []byte, toks []Token, tail []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(toks)+len(tail)))
	b = slices.Grow(b, 2*len(toks)+len(tail))
	n := len(b)
	b = b[:n+2*len(toks)]
	for _, t := range toks {
		if t < 255 {
			b[n] = byte(t)
			n++
		} else {
			b[n], b[n+1] = 0xff, byte(t-255)
			n += 2
		}
	}
	b = b[:n]
	for {
		i := bytes.IndexByte(tail, 0xff)
		if i < 0 {
			return append(b, tail...)
		}
		b = append(append(b, tail[:i]...), 0xff, 0x00)
		tail = tail[i+1:]
	}
}

// ArchiveReader reads a token archive entry by entry.
type ArchiveReader struct {
	br      *bufio.Reader
	off     int64
	Gzipped bool // the archived capture was gzip-compressed
	Codec   int  // codec version that wrote the archive
	Version int  // archive layout: 2 checksummed, 1 legacy (unchecked)
	buf     []byte
	toks    []Token
}

// NewArchiveReader checks the archive header.
func NewArchiveReader(r io.Reader) (*ArchiveReader, error) {
	a := &ArchiveReader{br: bufio.NewReaderSize(r, 1<<20)}
	var magic [4]byte
	if _, err := io.ReadFull(a.br, magic[:]); err != nil {
		return nil, fmt.Errorf("%w: offset 0: reading magic: %v", ErrArchive, err)
	}
	a.off = 4
	if string(magic[:]) != ArchiveMagic {
		return nil, fmt.Errorf("%w: offset 0: magic %q is not %q (not a trafficgpt token archive)", ErrArchive, magic[:], ArchiveMagic)
	}
	v, err := a.uvarint()
	if err != nil {
		return nil, err
	}
	switch v {
	case 1:
	case 2:
		// The rest is read through the block checker; offsets in errors
		// are then positions in the checked entry stream.
		a.br = bufio.NewReaderSize(&blockReader{r: a.br, src: a.br, off: a.off}, 1<<20)
		a.off = 0
	default:
		return nil, fmt.Errorf("%w: archive version %d, this build reads 1 and %d", ErrArchive, v, ArchiveVersion)
	}
	a.Version = int(v)
	cv, err := a.uvarint()
	if err != nil {
		return nil, err
	}
	if cv != Version {
		return nil, fmt.Errorf("%w: codec version %d, this build is codec version %d", ErrArchive, cv, Version)
	}
	a.Codec = int(cv)
	gz, err := a.byte()
	if err != nil {
		return nil, err
	}
	a.Gzipped = gz == 1
	return a, nil
}

func (a *ArchiveReader) errf(format string, args ...any) error {
	return fmt.Errorf("%w: offset %d: %s", ErrArchive, a.off, fmt.Sprintf(format, args...))
}

// readErr reports a failed read: the block checker's errors (checksum,
// cut) as they are, anything else at the current offset.
func (a *ArchiveReader) readErr(what string, err error) error {
	if errors.Is(err, ErrArchive) {
		return err
	}
	return a.errf("%s: %v", what, err)
}

func (a *ArchiveReader) byte() (byte, error) {
	b, err := a.br.ReadByte()
	if err != nil {
		return 0, a.readErr("unexpected end", err)
	}
	a.off++
	return b, nil
}

func (a *ArchiveReader) uvarint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		b, err := a.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, nil
		}
	}
	return 0, a.errf("varint overflows 64 bits")
}

func (a *ArchiveReader) bytes(dst []byte) ([]byte, error) {
	n, err := a.uvarint()
	if err != nil {
		return nil, err
	}
	if n > pcap.MaxRecordLen {
		return nil, a.errf("length %d too large", n)
	}
	// Grow as the bytes arrive, so a corrupt length cannot allocate much
	// more than the archive holds.
	for n > 0 {
		chunk := int(min(n, 1<<20))
		dst = slices.Grow(dst, chunk)
		k, err := io.ReadFull(a.br, dst[len(dst):len(dst)+chunk])
		dst = dst[:len(dst)+k]
		a.off += int64(k)
		if err != nil {
			return nil, a.readErr(fmt.Sprintf("reading %d more bytes", n), err)
		}
		n -= uint64(chunk)
	}
	return dst, nil
}

func (a *ArchiveReader) tokens() ([]Token, error) {
	n, err := a.uvarint()
	if err != nil {
		return nil, err
	}
	if n > 4*pcap.MaxRecordLen {
		return nil, a.errf("token count %d too large", n)
	}
	// Tokens take at least one byte each: never reserve more than the
	// buffered bytes allow plus a margin, growing as they are decoded.
	toks := a.toks[:0]
	for i := 0; i < int(n); {
		if len(toks) == cap(toks) {
			toks = slices.Grow(toks, min(int(n)-len(toks), max(cap(toks), 1<<16)))
		}
		toks = toks[:min(int(n), cap(toks))]
		// Decode straight from bufio's buffer; refill when it runs dry.
		buf, _ := a.br.Peek(a.br.Buffered())
		if len(buf) == 0 {
			if _, err := a.br.Peek(1); err != nil {
				return nil, a.readErr("tokens cut short", err)
			}
			continue
		}
		j := 0
		for ; i < len(toks) && j < len(buf); i++ {
			c := buf[j]
			if c != 0xff {
				toks[i] = Token(c)
				j++
				continue
			}
			if j+1 >= len(buf) {
				break
			}
			toks[i] = 255 + Token(buf[j+1])
			j += 2
		}
		a.br.Discard(j)
		a.off += int64(j)
		if i < len(toks) && j < len(buf) && j+1 >= len(buf) { // an escape split across the buffer's end
			if _, err := a.br.Peek(2); err != nil {
				return nil, a.readErr("tokens cut short", err)
			}
		}
	}
	a.toks = toks
	return toks, nil
}

// Entry is one archive entry. Slices are valid until the next call to Next.
type Entry struct {
	Tag     byte
	Raw     []byte       // tagRaw: the record verbatim
	Framing pcap.Framing // tagFraming
	Flow    uint64       // tagFlow, tagPacket, tagEnd
	Start   uint64       // tagFlow: timestamp of the first packet
	Iface   uint32       // tagPacket
	Prefix  []byte       // tagPacket with non-canonical framing
	Suffix  []byte
	Framed  bool    // tagPacket: Prefix/Suffix hold the framing
	Tokens  []Token // tagFlow: header; tagPacket: the packet; tagEnd: <end>/<cut>
	Counts  [3]uint64
}

// Entry tags, exported for readers of Entry.Tag.
const (
	EntryRaw     = tagRaw
	EntryFraming = tagFraming
	EntryFlow    = tagFlow
	EntryPacket  = tagPacket
	EntryEnd     = tagEnd
	EntryEOF     = tagEOF
)

// Next returns the next entry; io.EOF after the EOF entry.
func (a *ArchiveReader) Next(e *Entry) error {
	tag, err := a.br.ReadByte()
	if err == io.EOF {
		return a.errf("archive ends without its end entry (cut short?)")
	}
	if err != nil {
		return a.readErr("reading an entry", err)
	}
	a.off++
	*e = Entry{Tag: tag}
	switch tag {
	case tagRaw:
		a.buf, err = a.bytes(a.buf[:0])
		e.Raw = a.buf
	case tagFraming:
		var b [3]byte
		for i := range b {
			if b[i], err = a.byte(); err != nil {
				return err
			}
		}
		e.Framing = pcap.Framing{Format: pcap.Format(b[0]), BigEndian: b[1] == 1, Resolution: pcap.Resolution(b[2])}
		var bt, sl uint64
		if bt, err = a.uvarint(); err == nil {
			sl, err = a.uvarint()
		}
		e.Framing.BlockType, e.Framing.SnapLen = uint32(bt), uint32(sl)
	case tagFlow:
		if e.Flow, err = a.uvarint(); err == nil {
			if e.Start, err = a.uvarint(); err == nil {
				e.Tokens, err = a.tokens()
			}
		}
	case tagPacket:
		if e.Flow, err = a.uvarint(); err != nil {
			return err
		}
		var ifc uint64
		if ifc, err = a.uvarint(); err != nil {
			return err
		}
		e.Iface = uint32(ifc)
		var framed byte
		if framed, err = a.byte(); err != nil {
			return err
		}
		if framed == 1 {
			e.Framed = true
			if a.buf, err = a.bytes(a.buf[:0]); err != nil {
				return err
			}
			np := len(a.buf)
			if a.buf, err = a.bytes(a.buf); err != nil {
				return err
			}
			e.Prefix, e.Suffix = a.buf[:np:np], a.buf[np:]
		} else if framed != 0 {
			return a.errf("bad framing flag %d", framed)
		}
		e.Tokens, err = a.tokens()
	case tagEnd:
		if e.Flow, err = a.uvarint(); err == nil {
			e.Tokens, err = a.tokens()
		}
	case tagEOF:
		for i := range e.Counts {
			if e.Counts[i], err = a.uvarint(); err != nil {
				return err
			}
		}
		// Nothing may follow the end entry (in version 2: the end block,
		// checked by the block reader, and then the end of the file).
		switch _, err := a.br.ReadByte(); {
		case err == nil:
			return a.errf("data after the end entry")
		case err != io.EOF:
			return a.readErr("after the end entry", err)
		}
	default:
		return a.errf("unknown entry tag 0x%02x", tag)
	}
	return err
}

// Detokenize reads a token archive from src and writes the capture it holds
// to dst, byte for byte as it was (decompressed when it was gzip).
func Detokenize(ctx context.Context, src io.Reader, dst io.Writer) (Stats, error) {
	var st Stats
	ar, err := NewArchiveReader(src)
	if err != nil {
		return st, err
	}
	st.Gzipped = ar.Gzipped
	st.ArchiveVersion = ar.Version
	bw := bufio.NewWriterSize(dst, 1<<20)
	flows := map[uint64]*FlowDecoder{}
	var free []*FlowDecoder
	var framing pcap.Framing
	var e Entry
	var frame []byte
	for n := 0; ; n++ {
		if n&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		if err := ar.Next(&e); err != nil {
			return st, err
		}
		switch e.Tag {
		case tagRaw:
			st.Records++
			st.Bytes += int64(len(e.Raw))
			if _, err := bw.Write(e.Raw); err != nil {
				return st, err
			}
		case tagFraming:
			framing = e.Framing
		case tagFlow:
			h, _, err := ParseHeader(e.Tokens)
			if err != nil {
				return st, fmt.Errorf("%w: flow %d: %v", ErrArchive, e.Flow, err)
			}
			if flows[e.Flow] != nil {
				return st, fmt.Errorf("%w: flow %d starts twice", ErrArchive, e.Flow)
			}
			var d *FlowDecoder
			if k := len(free); k > 0 {
				d, free = free[k-1], free[:k-1]
			} else {
				d = new(FlowDecoder)
			}
			d.Reset(h, e.Start)
			flows[e.Flow] = d
			st.Flows++
			st.Tokens += int64(len(e.Tokens))
		case tagPacket:
			d := flows[e.Flow]
			if d == nil {
				return st, fmt.Errorf("%w: packet of unknown flow %d", ErrArchive, e.Flow)
			}
			p, err := d.Packet(e.Tokens)
			if err != nil {
				return st, fmt.Errorf("%w: record %d (flow %d): %v", ErrArchive, st.Records, e.Flow, err)
			}
			if e.Framed {
				frame = append(append(append(frame[:0], e.Prefix...), p.Data...), e.Suffix...)
			} else {
				frame = pcap.AppendPacketRecord(frame[:0], framing, p.Ticks, e.Iface, p.OrigLen, p.Data)
			}
			if _, err := bw.Write(frame); err != nil {
				return st, err
			}
			st.Records++
			st.Packets++
			st.Bytes += int64(len(frame))
			st.Tokens += int64(len(e.Tokens))
		case tagEnd:
			d := flows[e.Flow]
			if d == nil {
				return st, fmt.Errorf("%w: end of unknown flow %d", ErrArchive, e.Flow)
			}
			delete(flows, e.Flow)
			free = append(free, d)
			st.Tokens += int64(len(e.Tokens))
		case tagEOF:
			if e.Counts != [3]uint64{uint64(st.Records), uint64(st.Packets), uint64(st.Flows)} {
				return st, fmt.Errorf("%w: archive says %d records, %d packets, %d flows; found %d, %d, %d",
					ErrArchive, e.Counts[0], e.Counts[1], e.Counts[2], st.Records, st.Packets, st.Flows)
			}
			return st, bw.Flush()
		}
	}
}
