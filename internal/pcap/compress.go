package pcap

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Compression is how an input was compressed, as NewReader and Decompress
// recognise it by its magic (never by the file name).
type Compression uint8

const (
	NoCompression Compression = iota
	Gzip                      // 1f 8b
	XZ                        // fd 37 7a 58 5a 00
	Zstd                      // 28 b5 2f fd
)

func (c Compression) String() string {
	switch c {
	case Gzip:
		return "gzip"
	case XZ:
		return "xz"
	case Zstd:
		return "zstd"
	}
	return "none"
}

// sniffCompression recognises a compression magic at the start of head.
func sniffCompression(head []byte) Compression {
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return Gzip
	case len(head) >= 4 && head[0] == 0xfd && head[1] == '7' && head[2] == 'z' && head[3] == 'X':
		return XZ
	case len(head) >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd:
		return Zstd
	}
	return NoCompression
}

// zstdMaxWindow bounds the memory a zstd stream may ask for (its window):
// 128 MiB covers every level of the zstd tool including --long=27.
const zstdMaxWindow = 128 << 20

// Decompress returns the decompressed content of br (gzip, xz or zstd, by
// magic; br itself when it starts with none of them) and the compression.
// It reads only the stream's header before returning. Errors of the
// returned reader wrap ErrTruncated for a stream cut short and ErrFormat for
// a corrupt one; errors of br itself pass unchanged.
func Decompress(br *bufio.Reader) (io.Reader, Compression, error) {
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, NoCompression, err
	}
	c := sniffCompression(head)
	src := &sourceErr{r: br}
	var zr io.Reader
	switch c {
	case NoCompression:
		return br, c, nil
	case Gzip:
		zr, err = gzip.NewReader(src)
	case XZ:
		zr, err = xz.NewReader(src)
	case Zstd:
		var d *zstd.Decoder
		// One goroutine-free decoder (concurrency 1 decodes in Read).
		d, err = zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow))
		zr = d
	}
	if err != nil {
		return nil, c, fmt.Errorf("%s header: %w", c, src.wrap(err))
	}
	return &decompressed{r: zr, src: src, c: c}, c, nil
}

// sourceErr remembers the compressed source's last error, so that the
// decompressor's errors can be told from I/O errors.
type sourceErr struct {
	r   io.Reader
	err error
}

func (s *sourceErr) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// wrap maps a decompressor error onto the sentinels: a source that ended
// early is ErrTruncated, an I/O error of the source passes unchanged, any
// other error is a corrupt stream (ErrFormat).
func (s *sourceErr) wrap(err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case err == nil || err == io.EOF:
		return err
	case errors.Is(err, io.ErrUnexpectedEOF), s.err == io.EOF && !errors.As(err, &corrupt):
		return fmt.Errorf("compressed stream cut short: %w", ErrTruncated)
	case s.err != nil && s.err != io.EOF && errors.Is(err, s.err):
		return err
	}
	return fmt.Errorf("%v: %w", err, ErrFormat)
}

// decompressed is a decompressing reader whose errors wrap the sentinels.
type decompressed struct {
	r   io.Reader
	src *sourceErr
	c   Compression
}

func (d *decompressed) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%s: %w", d.c, d.src.wrap(err))
	}
	return n, err
}
