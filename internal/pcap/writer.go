package pcap

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

func order(big bool) binary.AppendByteOrder {
	if big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// pad4 is the number of zero bytes that pad n bytes to a multiple of 4.
func pad4(n int) int { return -n & 3 }

// AppendPacketRecord appends the canonical bytes of a packet record to dst:
//   - classic pcap: the 16-byte record header (ts split into seconds and
//     fraction by f.Resolution, caplen = len(data), origLen) and data;
//   - pcapng EPB: interface iface, ts as two 32-bit halves, no options;
//   - pcapng SPB: origLen and data (ts and iface are not stored);
//   - pcapng PB: iface as uint16, drops count 0, no options.
//
// pcapng data is zero-padded to 4 bytes. This is what tcpdump and dumpcap
// write, so for most captures it reproduces Record.Raw exactly.
func AppendPacketRecord(dst []byte, f Framing, ts uint64, iface uint32, origLen uint32, data []byte) []byte {
	o := order(f.BigEndian)
	if f.Format == FormatPcap {
		var sec, frac uint64
		if p := pow10(f.Resolution); p != 0 {
			sec, frac = ts/p, ts%p
		}
		dst = o.AppendUint32(dst, uint32(sec))
		dst = o.AppendUint32(dst, uint32(frac))
		dst = o.AppendUint32(dst, uint32(len(data)))
		dst = o.AppendUint32(dst, origLen)
		return append(dst, data...)
	}
	p := pad4(len(data))
	switch f.BlockType {
	case BlockSPB:
		blen := uint32(ngSPBMinLen + len(data) + p)
		dst = o.AppendUint32(dst, BlockSPB)
		dst = o.AppendUint32(dst, blen)
		dst = o.AppendUint32(dst, origLen)
		dst = append(dst, data...)
		dst = append(dst, zeros[:p]...)
		return o.AppendUint32(dst, blen)
	case BlockPB:
		blen := uint32(ngPBMinLen + len(data) + p)
		dst = o.AppendUint32(dst, BlockPB)
		dst = o.AppendUint32(dst, blen)
		dst = o.AppendUint16(dst, uint16(iface))
		dst = o.AppendUint16(dst, 0)
	default:
		blen := uint32(ngEPBMinLen + len(data) + p)
		dst = o.AppendUint32(dst, BlockEPB)
		dst = o.AppendUint32(dst, blen)
		dst = o.AppendUint32(dst, iface)
	}
	blen := uint32(ngEPBMinLen + len(data) + p)
	dst = o.AppendUint32(dst, uint32(ts>>32))
	dst = o.AppendUint32(dst, uint32(ts))
	dst = o.AppendUint32(dst, uint32(len(data)))
	dst = o.AppendUint32(dst, origLen)
	dst = append(dst, data...)
	dst = append(dst, zeros[:p]...)
	return o.AppendUint32(dst, blen)
}

var zeros [4]byte

// Writer writes records verbatim through a buffer; call Flush at the end.
type Writer struct {
	bw *bufio.Writer
}

// NewWriter returns a Writer on w with a 64 KiB buffer.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10)}
}

// WriteRaw writes b verbatim (typically Record.Raw).
func (w *Writer) WriteRaw(b []byte) error {
	_, err := w.bw.Write(b)
	return err
}

// Flush writes any buffered bytes to the underlying writer.
func (w *Writer) Flush() error { return w.bw.Flush() }

// PacketWriter writes a new capture with one interface: a classic pcap file
// header or a pcapng SHB and IDB, then packet records in canonical form.
type PacketWriter struct {
	w   *Writer
	f   Framing
	buf []byte
}

// NewPacketWriter writes the file header for f (classic pcap version 2.4,
// or a pcapng SHB of version 1.0 with unknown section length and an IDB
// that has an if_tsresol option when f.Resolution is not Micro) and
// returns a writer for packets. For pcapng, f.Resolution 0 means Micro.
func NewPacketWriter(w io.Writer, f Framing, linkType uint32, snaplen uint32) (*PacketWriter, error) {
	o := order(f.BigEndian)
	var h []byte
	switch f.Format {
	case FormatPcap:
		var magic uint32
		switch f.Resolution {
		case Micro:
			magic = magicMicro
		case Nano:
			magic = magicNano
		default:
			return nil, fmt.Errorf("pcap: classic pcap resolution must be 6 or 9, not %d: %w", f.Resolution, ErrFormat)
		}
		h = o.AppendUint32(h, magic)
		h = o.AppendUint16(h, 2)
		h = o.AppendUint16(h, 4)
		h = o.AppendUint32(h, 0) // thiszone
		h = o.AppendUint32(h, 0) // sigfigs
		h = o.AppendUint32(h, snaplen)
		h = o.AppendUint32(h, linkType)
	case FormatPcapng:
		if f.BlockType == 0 {
			f.BlockType = BlockEPB
		}
		if f.BlockType != BlockEPB && f.BlockType != BlockSPB && f.BlockType != BlockPB {
			return nil, fmt.Errorf("pcap: block type %#x is not a packet block: %w", f.BlockType, ErrFormat)
		}
		if linkType > 0xffff {
			return nil, fmt.Errorf("pcap: pcapng link type %d does not fit 16 bits: %w", linkType, ErrFormat)
		}
		if f.Resolution == 0 {
			f.Resolution = Micro
		}
		f.SnapLen = snaplen
		h = o.AppendUint32(h, BlockSHB)
		h = o.AppendUint32(h, ngSHBMinLen)
		h = o.AppendUint32(h, byteOrderMagic)
		h = o.AppendUint16(h, 1)
		h = o.AppendUint16(h, 0)
		h = o.AppendUint64(h, ^uint64(0))
		h = o.AppendUint32(h, ngSHBMinLen)
		idbLen := uint32(ngIDBMinLen)
		if f.Resolution != Micro {
			idbLen += 12 // if_tsresol (4+1+3 padding) and opt_endofopt (4)
		}
		h = o.AppendUint32(h, BlockIDB)
		h = o.AppendUint32(h, idbLen)
		h = o.AppendUint16(h, uint16(linkType))
		h = o.AppendUint16(h, 0)
		h = o.AppendUint32(h, snaplen)
		if f.Resolution != Micro {
			h = o.AppendUint16(h, optTsResol)
			h = o.AppendUint16(h, 1)
			h = append(h, byte(f.Resolution), 0, 0, 0)
			h = o.AppendUint32(h, 0)
		}
		h = o.AppendUint32(h, idbLen)
	default:
		return nil, fmt.Errorf("pcap: unknown format %d: %w", f.Format, ErrFormat)
	}
	pw := &PacketWriter{w: NewWriter(w), f: f}
	if err := pw.w.WriteRaw(h); err != nil {
		return nil, err
	}
	return pw, nil
}

// Framing is the framing of the packets this writer writes.
func (pw *PacketWriter) Framing() Framing { return pw.f }

// WritePacket writes one packet record on interface 0; ts is in ticks of
// the framing's resolution.
func (pw *PacketWriter) WritePacket(ts uint64, origLen uint32, data []byte) error {
	if len(data) > MaxRecordLen-ngEPBMinLen {
		return fmt.Errorf("pcap: packet of %d bytes: %w", len(data), ErrTooLarge)
	}
	pw.buf = AppendPacketRecord(pw.buf[:0], pw.f, ts, 0, origLen, data)
	return pw.w.WriteRaw(pw.buf)
}

// Flush writes any buffered bytes to the underlying writer.
func (pw *PacketWriter) Flush() error { return pw.w.Flush() }

// ReadPackets reads the packet records of a capture, each with a copy of
// its data (the other records are skipped).
func ReadPackets(r io.Reader) ([]Record, error) {
	pr, err := NewReader(r, ReaderOptions{})
	if err != nil {
		return nil, err
	}
	var recs []Record
	for {
		rec, err := pr.Next()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		if rec.Kind == KindPacket {
			c := *rec
			c.Data = append([]byte(nil), rec.Data...)
			c.Raw = nil
			recs = append(recs, c)
		}
	}
}

// WritePackets writes packets (their times, original lengths and data) as
// one capture in framing f: a classic pcap cut into parts, or a capture
// written again as pcapng.
func WritePackets(w io.Writer, f Framing, linkType, snaplen uint32, recs []Record) error {
	pw, err := NewPacketWriter(w, f, linkType, snaplen)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if err := pw.WritePacket(rec.Timestamp, rec.OrigLen, rec.Data); err != nil {
			return err
		}
	}
	return pw.Flush()
}
