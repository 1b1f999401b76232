package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// ErrChecksum marks data whose CRC-32C does not match: the file was
// corrupted after it was written. It is wrapped with ErrArchive (or the
// dataset's error) and the number and offset of the bad block.
var ErrChecksum = errors.New("checksum mismatch (the file is corrupted)")

// castagnoli is the CRC-32C table (hardware-accelerated on x86-64 and arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Block framing of archive version 2 (see doc.go): after the 5-byte header
// the bytes of the v1 entry stream are cut into blocks
//
//	block = length(uvarint, <= MaxBlock) payload crc32c(4 bytes, little-endian)
//
// where the CRC covers the block's index (uvarint), its length and its
// payload, so a block moved, dropped or repeated fails like a flipped byte.
// A block of length 0 ends the archive; nothing may follow it.
const (
	blockSize = 64 << 10 // what the writer cuts
	MaxBlock  = 1 << 20  // what a reader accepts
)

func blockCRC(index uint64, payload []byte) uint32 {
	var hdr [2 * binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], index)
	n += binary.PutUvarint(hdr[n:], uint64(len(payload)))
	return crc32.Update(crc32.Checksum(hdr[:n], castagnoli), castagnoli, payload)
}

// blockWriter cuts what is written into checksummed blocks.
type blockWriter struct {
	w     io.Writer
	buf   []byte
	index uint64
	out   []byte
}

func newBlockWriter(w io.Writer) *blockWriter {
	return &blockWriter{w: w, buf: make([]byte, 0, blockSize)}
}

func (b *blockWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), blockSize-len(b.buf))
		b.buf = append(b.buf, p[:k]...)
		p = p[k:]
		if len(b.buf) == blockSize {
			if err := b.emit(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (b *blockWriter) emit() error {
	b.out = binary.AppendUvarint(b.out[:0], uint64(len(b.buf)))
	b.out = append(b.out, b.buf...)
	b.out = binary.LittleEndian.AppendUint32(b.out, blockCRC(b.index, b.buf))
	b.index++
	b.buf = b.buf[:0]
	_, err := b.w.Write(b.out)
	return err
}

// Close writes the last block and the end block.
func (b *blockWriter) Close() error {
	if len(b.buf) > 0 {
		if err := b.emit(); err != nil {
			return err
		}
	}
	return b.emit()
}

// blockReader checks and strips the block framing. It hands out a block's
// bytes only after its checksum matched; after the end block, Read returns
// io.EOF and the source must be exhausted.
type blockReader struct {
	r     io.ByteReader
	src   io.Reader
	off   int64 // of the next block in the file
	index uint64
	buf   []byte
	pos   int
	ended bool
	err   error
}

func (b *blockReader) Read(p []byte) (int, error) {
	if b.pos == len(b.buf) {
		if b.err != nil {
			return 0, b.err
		}
		if err := b.next(); err != nil {
			// Nothing of a block that failed its check is handed out.
			b.err, b.buf, b.pos = err, b.buf[:0], 0
			return 0, err
		}
	}
	n := copy(p, b.buf[b.pos:])
	b.pos += n
	return n, nil
}

func (b *blockReader) errf(format string, args ...any) error {
	return fmt.Errorf("%w: block %d at offset %d: %s", ErrArchive, b.index, b.off, fmt.Sprintf(format, args...))
}

// corrupt is errf for a failed check: it also wraps ErrChecksum.
func (b *blockReader) corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: block %d at offset %d: %s: %w", ErrArchive, b.index, b.off, fmt.Sprintf(format, args...), ErrChecksum)
}

func (b *blockReader) next() error {
	if b.ended {
		return io.EOF
	}
	n, err := binary.ReadUvarint(b.r)
	if err != nil {
		if err == io.EOF {
			return b.errf("archive cut short before its end block")
		}
		return b.errf("reading the block length: %v", err)
	}
	if n > MaxBlock {
		return b.corrupt("block length %d > %d", n, MaxBlock)
	}
	lenBytes := int64(len(binary.AppendUvarint(nil, n)))
	b.buf = b.buf[:0]
	if cap(b.buf) < int(n)+4 {
		b.buf = make([]byte, 0, int(n)+4)
	}
	b.buf = b.buf[:n+4]
	if _, err := io.ReadFull(b.src, b.buf); err != nil {
		return b.errf("block cut short: %v", err)
	}
	want := binary.LittleEndian.Uint32(b.buf[n:])
	b.buf = b.buf[:n]
	b.pos = 0
	if got := blockCRC(b.index, b.buf); got != want {
		return b.corrupt("CRC-32C %08x, stored %08x", got, want)
	}
	b.index++
	b.off += lenBytes + int64(n) + 4
	if n == 0 {
		b.ended = true
		var one [1]byte
		if k, _ := io.ReadFull(b.src, one[:]); k > 0 {
			return b.corrupt("bytes after the end block")
		}
		return io.EOF
	}
	return nil
}
