package pcap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// ReaderOptions tune a Reader.
type ReaderOptions struct {
	// KeepTrailing returns the bytes of a record cut short at the end of the
	// input as one KindTrailer record instead of failing with ErrTruncated.
	KeepTrailing bool
}

// Classic pcap magic numbers as they appear in a little-endian file's first
// four bytes read as a little-endian uint32.
const (
	magicMicro     = 0xa1b2c3d4
	magicNano      = 0xa1b23c4d
	byteOrderMagic = 0x1A2B3C4D
)

// Sizes of fixed parts of records and blocks.
const (
	pcapHeaderLen  = 24
	pcapRecHdrLen  = 16
	ngBlockHdrLen  = 8  // block type + leading total length
	ngMinBlockLen  = 12 // header + trailing total length
	ngSHBMinLen    = 28
	ngIDBMinLen    = 20
	ngEPBMinLen    = 32
	ngPBMinLen     = 32
	ngSPBMinLen    = 16
	initialBufSize = 64 << 10
	initialRecBuf  = 4 << 10 // grown to the largest record
)

// pcapng option codes the reader interprets.
const (
	optEndOfOpt = 0
	optTsResol  = 9
	optTsOffset = 14
)

type iface struct {
	linkType uint32
	snapLen  uint32
	res      Resolution
	tsOffset int64
}

// Reader reads the records of a classic pcap or pcapng capture in file
// order; see the package documentation for the contract.
type Reader struct {
	br   *bufio.Reader
	opts ReaderOptions

	format Format
	comp   Compression
	big    bool // byte order of the file (pcap) or current section (pcapng)

	// classic pcap
	res      Resolution
	linkType uint32

	// pcapng
	section int // -1 before the first SHB
	ifaces  []iface

	buf     []byte // the one record buffer, grown to the largest record
	off     int64  // offset of the next record
	index   int    // index of the next record
	framing Framing
	err     error // sticky terminal error (io.EOF at a clean end)
}

// NewReader sniffs the input (gzip, xz or zstd, then classic pcap or pcapng) and
// returns a Reader positioned before the first record. It reads at most the
// first few bytes of the input.
func NewReader(rd io.Reader, opts ReaderOptions) (*Reader, error) {
	r := &Reader{opts: opts, section: -1}
	br := bufio.NewReaderSize(rd, initialBufSize)
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("pcap: reading magic: %w", err)
	}
	if len(head) == 0 {
		return nil, fmt.Errorf("pcap: empty file: %w", ErrTruncated)
	}
	if c := sniffCompression(head); c != NoCompression {
		zr, _, err := Decompress(br)
		if err != nil {
			return nil, fmt.Errorf("pcap: %w", withFormat(err))
		}
		r.comp = c
		br = bufio.NewReaderSize(zr, initialBufSize)
	}
	r.br = br
	head, err = br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("pcap: reading magic: %w", err)
	}
	if len(head) == 0 {
		return nil, fmt.Errorf("pcap: empty file: %w", ErrTruncated)
	}
	if len(head) < 4 {
		return nil, fmt.Errorf("pcap: offset 0: file of %d bytes is too short for a magic number: %w", len(head), ErrTruncated)
	}
	m := uint32(head[0]) | uint32(head[1])<<8 | uint32(head[2])<<16 | uint32(head[3])<<24
	switch m {
	case magicMicro:
		r.format, r.res = FormatPcap, Micro
	case magicNano:
		r.format, r.res = FormatPcap, Nano
	case swap32(magicMicro):
		r.format, r.res, r.big = FormatPcap, Micro, true
	case swap32(magicNano):
		r.format, r.res, r.big = FormatPcap, Nano, true
	case BlockSHB:
		r.format = FormatPcapng
	default:
		return nil, fmt.Errorf("pcap: offset 0: unknown magic % x: %w", head, ErrFormat)
	}
	r.buf = make([]byte, initialRecBuf)
	r.framing = Framing{Format: r.format, BigEndian: r.big, Resolution: r.res}
	if r.format == FormatPcapng {
		r.framing.BlockType = BlockEPB
	}
	return r, nil
}

// Format is the container format of the input.
func (r *Reader) Format() Format { return r.format }

// Gzipped reports whether the input was gzip-compressed.
func (r *Reader) Gzipped() bool { return r.comp == Gzip }

// Compression is how the input was compressed.
func (r *Reader) Compression() Compression { return r.comp }

// Framing describes the framing of the last packet record returned (before
// the first one: the file's, with BlockEPB assumed for pcapng).
func (r *Reader) Framing() Framing { return r.framing }

// LinkType is the classic pcap file's link-type field (0 for pcapng, whose
// link types are per interface and given on each packet record).
func (r *Reader) LinkType() uint32 { return r.linkType }

// Next returns the next record, or io.EOF after the last one. The returned
// Record is new, but its Raw and Data alias a buffer that the next call
// overwrites.
func (r *Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	var rec *Record
	var err error
	if r.format == FormatPcap {
		rec, err = r.nextPcap()
	} else {
		rec, err = r.nextPcapng()
	}
	if err != nil {
		r.err = err
		return nil, err
	}
	rec.Offset = r.off
	rec.Index = r.index
	r.off += int64(len(rec.Raw))
	r.index++
	if rec.Kind == KindTrailer {
		r.err = io.EOF
	}
	return rec, nil
}

// errShort marks a read that hit the end of the input early.
var errShort = errors.New("short")

// fill reads into r.buf until it holds n bytes, given that it already
// holds have. It grows r.buf at most to twice the bytes actually received,
// so a huge bogus length cannot cause a huge allocation. It returns the
// bytes held and errShort at the end of input, or another read error.
func (r *Reader) fill(have, n int) (int, error) {
	for have < n {
		if have == len(r.buf) {
			c := 2 * len(r.buf)
			if c > n {
				c = n
			}
			nb := make([]byte, c)
			copy(nb, r.buf[:have])
			r.buf = nb
		}
		end := n
		if end > len(r.buf) {
			end = len(r.buf)
		}
		m, err := r.br.Read(r.buf[have:end])
		have += m
		if err != nil {
			if have >= n {
				break
			}
			if err == io.EOF {
				return have, errShort
			}
			return have, err
		}
	}
	return have, nil
}

// withFormat makes a compressed header that is not one (a gzip magic
// followed by garbage) ErrFormat, unless it already wraps a sentinel.
func withFormat(err error) error {
	if errors.Is(err, ErrFormat) || errors.Is(err, ErrTruncated) {
		return err
	}
	return fmt.Errorf("%v: %w", err, ErrFormat)
}

// short handles a record cut short at the end of the input: the bytes held
// become a trailer record, or an ErrTruncated error.
func (r *Reader) short(have, need int, what string) (*Record, error) {
	if have == 0 {
		return nil, io.EOF
	}
	if r.opts.KeepTrailing {
		return &Record{Kind: KindTrailer, Raw: r.buf[:have:have]}, nil
	}
	return nil, r.errorf(ErrTruncated, "%sneed %d bytes, have %d", what, need, have)
}

// tooLarge handles a record whose length field exceeds MaxRecordLen. With
// KeepTrailing, the record may just be garbage at the end of a cut file: if
// the rest of the input is short enough, it becomes the trailer.
func (r *Reader) tooLarge(have int, length uint64, what string) (*Record, error) {
	if r.opts.KeepTrailing {
		have, err := r.fill(have, MaxRecordLen+1)
		if err == errShort {
			return &Record{Kind: KindTrailer, Raw: r.buf[:have:have]}, nil
		}
		if err != nil {
			return nil, r.wrap(err)
		}
	}
	return nil, r.errorf(ErrTooLarge, "%s %d exceeds limit %d", what, length, MaxRecordLen)
}

// errorf formats an error naming the current record and offset that wraps
// sentinel.
func (r *Reader) errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("pcap: record %d at offset %d: %s: %w", r.index, r.off, fmt.Sprintf(format, args...), sentinel)
}

// wrap names the current record and offset in a read error.
func (r *Reader) wrap(err error) error {
	return fmt.Errorf("pcap: record %d at offset %d: %w", r.index, r.off, err)
}

func (r *Reader) u16(b []byte) uint16 {
	if r.big {
		return uint16(b[0])<<8 | uint16(b[1])
	}
	return uint16(b[0]) | uint16(b[1])<<8
}

func (r *Reader) u32(b []byte) uint32 {
	if r.big {
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func (r *Reader) u64(b []byte) uint64 {
	if r.big {
		return uint64(r.u32(b))<<32 | uint64(r.u32(b[4:]))
	}
	return uint64(r.u32(b)) | uint64(r.u32(b[4:]))<<32
}

func swap32(v uint32) uint32 {
	return v>>24 | (v>>8)&0xff00 | (v<<8)&0xff0000 | v<<24
}

func (r *Reader) nextPcap() (*Record, error) {
	if r.index == 0 {
		have, err := r.fill(0, pcapHeaderLen)
		if err == errShort {
			return r.short(have, pcapHeaderLen, "file header: ")
		}
		if err != nil {
			return nil, r.wrap(err)
		}
		h := r.buf[:pcapHeaderLen:pcapHeaderLen]
		r.linkType = r.u32(h[20:])
		return &Record{Kind: KindHeader, Raw: h}, nil
	}
	have, err := r.fill(0, pcapRecHdrLen)
	if err == errShort {
		return r.short(have, pcapRecHdrLen, "record header: ")
	}
	if err != nil {
		return nil, r.wrap(err)
	}
	h := r.buf[:pcapRecHdrLen]
	sec, frac := r.u32(h), r.u32(h[4:])
	capLen, origLen := r.u32(h[8:]), r.u32(h[12:])
	if capLen > MaxRecordLen-pcapRecHdrLen {
		return r.tooLarge(have, uint64(capLen), "caplen")
	}
	n := pcapRecHdrLen + int(capLen)
	have, err = r.fill(have, n)
	if err == errShort {
		return r.short(have, n, "")
	}
	if err != nil {
		return nil, r.wrap(err)
	}
	raw := r.buf[:n:n]
	r.framing = Framing{Format: FormatPcap, BigEndian: r.big, Resolution: r.res}
	return &Record{
		Kind:       KindPacket,
		Raw:        raw,
		Data:       raw[pcapRecHdrLen:n:n],
		DataOff:    pcapRecHdrLen,
		LinkType:   r.linkType,
		Timestamp:  uint64(sec)*pow10(r.res) + uint64(frac),
		Resolution: r.res,
		HasTime:    true,
		OrigLen:    origLen,
	}, nil
}

func (r *Reader) nextPcapng() (*Record, error) {
	have, err := r.fill(0, ngBlockHdrLen)
	if err == errShort {
		return r.short(have, ngBlockHdrLen, "block header: ")
	}
	if err != nil {
		return nil, r.wrap(err)
	}
	if r.u32(r.buf) == BlockSHB {
		// The byte-order magic after the length says how to read the length.
		have, err = r.fill(have, ngMinBlockLen)
		if err == errShort {
			return r.short(have, ngMinBlockLen, "section header: ")
		}
		if err != nil {
			return nil, r.wrap(err)
		}
		switch bom := r.buf[8:12]; {
		case bom[0] == 0x4d && bom[1] == 0x3c && bom[2] == 0x2b && bom[3] == 0x1a:
			r.big = false
		case bom[0] == 0x1a && bom[1] == 0x2b && bom[2] == 0x3c && bom[3] == 0x4d:
			r.big = true
		default:
			return nil, r.errorf(ErrFormat, "section header: bad byte-order magic % x", bom)
		}
	} else if r.section < 0 {
		return nil, r.errorf(ErrFormat, "block before the first section header")
	}
	typ := r.u32(r.buf)
	blen := r.u32(r.buf[4:])
	if blen > MaxRecordLen {
		return r.tooLarge(have, uint64(blen), "block length")
	}
	if blen < ngMinBlockLen || blen%4 != 0 {
		return nil, r.errorf(ErrFormat, "block type %#x: bad block length %d", typ, blen)
	}
	n := int(blen)
	have, err = r.fill(have, n)
	if err == errShort {
		return r.short(have, n, "")
	}
	if err != nil {
		return nil, r.wrap(err)
	}
	raw := r.buf[:n:n]
	if t := r.u32(raw[n-4:]); t != blen {
		return nil, r.errorf(ErrFormat, "block type %#x: trailing length %d != leading length %d", typ, t, blen)
	}
	body := raw[ngBlockHdrLen : n-4]
	switch typ {
	case BlockSHB:
		if n < ngSHBMinLen {
			return nil, r.errorf(ErrFormat, "section header block of %d bytes", n)
		}
		r.section++
		r.ifaces = r.ifaces[:0]
	case BlockIDB:
		if n < ngIDBMinLen {
			return nil, r.errorf(ErrFormat, "interface description block of %d bytes", n)
		}
		ifc := iface{linkType: uint32(r.u16(body)), snapLen: r.u32(body[4:]), res: Micro}
		r.idbOptions(&ifc, body[8:])
		r.ifaces = append(r.ifaces, ifc)
	case BlockEPB, BlockPB:
		if n < ngEPBMinLen {
			return nil, r.errorf(ErrFormat, "packet block of %d bytes", n)
		}
		var id uint32
		if typ == BlockEPB {
			id = r.u32(body)
		} else {
			id = uint32(r.u16(body))
		}
		if id >= uint32(len(r.ifaces)) {
			return nil, r.errorf(ErrFormat, "packet block on undefined interface %d (%d defined)", id, len(r.ifaces))
		}
		ifc := &r.ifaces[id]
		ts := uint64(r.u32(body[4:]))<<32 | uint64(r.u32(body[8:]))
		capLen, origLen := r.u32(body[12:]), r.u32(body[16:])
		if uint64(capLen) > uint64(len(body)-20) {
			return nil, r.errorf(ErrFormat, "packet block: caplen %d exceeds block length %d", capLen, n)
		}
		const off = ngBlockHdrLen + 20
		end := off + int(capLen)
		r.framing = Framing{Format: FormatPcapng, BigEndian: r.big, Resolution: ifc.res, BlockType: typ, SnapLen: ifc.snapLen}
		return &Record{
			Kind: KindPacket, Raw: raw, BlockType: typ,
			Data: raw[off:end:end], DataOff: off,
			Section: r.section, Interface: id, LinkType: ifc.linkType,
			Timestamp: ts, Resolution: ifc.res, TimeOffset: ifc.tsOffset, HasTime: true,
			OrigLen: origLen,
		}, nil
	case BlockSPB:
		if n < ngSPBMinLen {
			return nil, r.errorf(ErrFormat, "simple packet block of %d bytes", n)
		}
		if len(r.ifaces) == 0 {
			return nil, r.errorf(ErrFormat, "simple packet block without an interface")
		}
		ifc := &r.ifaces[0]
		origLen := r.u32(body)
		capLen := origLen
		if ifc.snapLen != 0 && capLen > ifc.snapLen {
			capLen = ifc.snapLen
		}
		if avail := uint32(len(body) - 4); capLen > avail {
			capLen = avail
		}
		const off = ngBlockHdrLen + 4
		end := off + int(capLen)
		r.framing = Framing{Format: FormatPcapng, BigEndian: r.big, Resolution: ifc.res, BlockType: typ, SnapLen: ifc.snapLen}
		return &Record{
			Kind: KindPacket, Raw: raw, BlockType: typ,
			Data: raw[off:end:end], DataOff: off,
			Section: r.section, LinkType: ifc.linkType,
			Resolution: ifc.res, TimeOffset: ifc.tsOffset,
			OrigLen: origLen,
		}, nil
	}
	return &Record{Kind: KindBlock, Raw: raw, BlockType: typ, Section: r.section}, nil
}

// idbOptions picks if_tsresol and if_tsoffset out of an IDB's options.
// Malformed options end the scan silently: the block is kept verbatim anyway.
func (r *Reader) idbOptions(ifc *iface, opts []byte) {
	for len(opts) >= 4 {
		code, l := r.u16(opts), int(r.u16(opts[2:]))
		if code == optEndOfOpt || l > len(opts)-4 {
			return
		}
		v := opts[4 : 4+l]
		switch {
		case code == optTsResol && l >= 1:
			ifc.res = Resolution(v[0])
		case code == optTsOffset && l >= 8:
			ifc.tsOffset = int64(r.u64(v))
		}
		adv := 4 + (l+3)&^3
		if adv > len(opts) {
			return
		}
		opts = opts[adv:]
	}
}
