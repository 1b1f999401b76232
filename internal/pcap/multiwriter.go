package pcap

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// MultiWriter writes one little-endian pcapng stream of any number of
// sections, each with the interfaces its packets name: packets from several
// captures (and from several interfaces of each) can share one output, as
// when they are piped into one tshark process. Every interface has
// nanosecond timestamps (if_tsresol 9) and snaplen 0; packets are EPBs
// without options. Interfaces are created on first use, in the order of
// first use, and forgotten at the next Section. Call Flush at the end.
type MultiWriter struct {
	bw     *bufio.Writer
	buf    []byte
	ifaces map[uint64]uint32 // source interface -> interface id in the section
	open   bool
}

// NewMultiWriter returns a MultiWriter on w with a 256 KiB buffer.
func NewMultiWriter(w io.Writer) *MultiWriter {
	return &MultiWriter{bw: bufio.NewWriterSize(w, 256<<10), ifaces: map[uint64]uint32{}}
}

// appendNgBlock appends a little-endian pcapng block whose body body writes.
func appendNgBlock(b []byte, typ uint32, body func([]byte) []byte) []byte {
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, typ)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = body(b)
	n := uint32(len(b) - start + 4)
	binary.LittleEndian.PutUint32(b[start+4:], n)
	return binary.LittleEndian.AppendUint32(b, n)
}

// Section starts a new section: an SHB of version 1.0 with unknown section
// length and no options. Interfaces of the previous section are forgotten.
func (m *MultiWriter) Section() error {
	clear(m.ifaces)
	m.open = true
	m.buf = appendNgBlock(m.buf[:0], BlockSHB, func(b []byte) []byte {
		b = binary.LittleEndian.AppendUint32(b, byteOrderMagic)
		b = binary.LittleEndian.AppendUint16(b, 1)
		b = binary.LittleEndian.AppendUint16(b, 0)
		return binary.LittleEndian.AppendUint64(b, ^uint64(0))
	})
	_, err := m.bw.Write(m.buf)
	return err
}

// WritePacket writes one packet of the caller's interface source (any
// number that names it within the section; its first packet also writes
// the interface's IDB with linkType) with a timestamp in ns since the
// epoch. Section must have been called first.
func (m *MultiWriter) WritePacket(source uint64, linkType uint32, tsNanos uint64, origLen uint32, data []byte) error {
	if !m.open {
		return fmt.Errorf("pcap: packet before the first section: %w", ErrFormat)
	}
	if len(data) > MaxRecordLen-ngEPBMinLen {
		return fmt.Errorf("pcap: packet of %d bytes: %w", len(data), ErrTooLarge)
	}
	b := m.buf[:0]
	id, ok := m.ifaces[source]
	if !ok {
		if linkType > 0xffff {
			return fmt.Errorf("pcap: pcapng link type %d does not fit 16 bits: %w", linkType, ErrFormat)
		}
		id = uint32(len(m.ifaces))
		m.ifaces[source] = id
		b = appendNgBlock(b, BlockIDB, func(b []byte) []byte {
			b = binary.LittleEndian.AppendUint16(b, uint16(linkType))
			b = binary.LittleEndian.AppendUint16(b, 0) // reserved
			b = binary.LittleEndian.AppendUint32(b, 0) // snaplen: none
			b = binary.LittleEndian.AppendUint16(b, optTsResol)
			b = binary.LittleEndian.AppendUint16(b, 1)
			b = append(b, byte(Nano), 0, 0, 0)
			return binary.LittleEndian.AppendUint32(b, 0) // opt_endofopt
		})
	}
	b = appendNgBlock(b, BlockEPB, func(b []byte) []byte {
		b = binary.LittleEndian.AppendUint32(b, id)
		b = binary.LittleEndian.AppendUint32(b, uint32(tsNanos>>32))
		b = binary.LittleEndian.AppendUint32(b, uint32(tsNanos))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
		b = binary.LittleEndian.AppendUint32(b, max(origLen, uint32(len(data))))
		b = append(b, data...)
		return append(b, zeros[:pad4(len(data))]...)
	})
	m.buf = b
	_, err := m.bw.Write(b)
	return err
}

// Flush writes any buffered bytes to the underlying writer.
func (m *MultiWriter) Flush() error { return m.bw.Flush() }
