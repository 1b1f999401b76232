package dataset

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/trafficgpt/trafficgpt/internal/codec"
)

// ErrDataset marks a dataset directory or shard that cannot be used.
var ErrDataset = errors.New("dataset: bad dataset")

// ErrChecksum marks shard bytes whose CRC-32C does not match: the file was
// corrupted after it was written. It is the codec's sentinel, so one test
// covers archives and shards.
var ErrChecksum = codec.ErrChecksum

// Shard file layout (little-endian), see doc.go. ShardVersion 2 adds the
// CRC-32C of the header, of the index and of every flow's tokens; version 1
// (no checksums) is still read, with Split.Unchecked set.
const (
	ShardMagic     = "TGSH"
	ShardVersion   = 2
	shardHeaderLen = 64
	indexEntryLen  = 48
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FlowMeta is the index entry of one flow in a shard.
type FlowMeta struct {
	Offset      uint64 // in tokens, from the start of the token area
	Len         uint32 // tokens
	Label       int32  // label id, -1 when unlabelled
	File        uint32 // index into Manifest.Inputs
	Packets     uint32 // packets of the flow in the capture
	FlowID      uint64 // flow id within its capture (order of first packet)
	PayloadHash uint64
	CRC         uint32 // CRC-32C of the flow's token bytes (version 2; set by the writer)
}

func (m *FlowMeta) put(b []byte) {
	binary.LittleEndian.PutUint64(b[0:], m.Offset)
	binary.LittleEndian.PutUint32(b[8:], m.Len)
	binary.LittleEndian.PutUint32(b[12:], uint32(m.Label))
	binary.LittleEndian.PutUint32(b[16:], m.File)
	binary.LittleEndian.PutUint32(b[20:], m.Packets)
	binary.LittleEndian.PutUint64(b[24:], m.FlowID)
	binary.LittleEndian.PutUint64(b[32:], m.PayloadHash)
	binary.LittleEndian.PutUint32(b[40:], m.CRC)
	clear(b[44:48])
}

func (m *FlowMeta) get(b []byte) {
	m.Offset = binary.LittleEndian.Uint64(b[0:])
	m.Len = binary.LittleEndian.Uint32(b[8:])
	m.Label = int32(binary.LittleEndian.Uint32(b[12:]))
	m.File = binary.LittleEndian.Uint32(b[16:])
	m.Packets = binary.LittleEndian.Uint32(b[20:])
	m.FlowID = binary.LittleEndian.Uint64(b[24:])
	m.PayloadHash = binary.LittleEndian.Uint64(b[32:])
	m.CRC = binary.LittleEndian.Uint32(b[40:])
}

// shardWriter writes a shard: header placeholder, tokens, index, header.
type shardWriter struct {
	f      *os.File
	bw     *bufio.Writer
	codec  int
	tokens uint64
	index  []FlowMeta
	buf    []byte
	// the flow being written (begin, write, end)
	flowStart uint64
	flowCRC   uint32
}

func createShard(path string, codecVersion int) (*shardWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := &shardWriter{f: f, bw: bufio.NewWriterSize(f, 1<<20), codec: codecVersion}
	if _, err := w.bw.Write(make([]byte, shardHeaderLen)); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// add appends one flow's tokens with its metadata (Offset, Len and CRC
// are set here).
func (w *shardWriter) add(toks []uint16, m FlowMeta) error {
	w.begin()
	if err := w.write(toks); err != nil {
		return err
	}
	w.end(m)
	return nil
}

// begin starts a flow whose tokens come in pieces through write; end
// records it.
func (w *shardWriter) begin() {
	w.flowStart = w.tokens
	w.flowCRC = crc32.Checksum(nil, castagnoli)
}

func (w *shardWriter) write(toks []uint16) error {
	if cap(w.buf) < 2*len(toks) {
		w.buf = make([]byte, 2*len(toks))
	}
	b := w.buf[:2*len(toks)]
	for i, t := range toks {
		binary.LittleEndian.PutUint16(b[2*i:], t)
	}
	w.flowCRC = crc32.Update(w.flowCRC, castagnoli, b)
	if _, err := w.bw.Write(b); err != nil {
		return err
	}
	w.tokens += uint64(len(toks))
	return nil
}

func (w *shardWriter) end(m FlowMeta) {
	m.Offset, m.Len, m.CRC = w.flowStart, uint32(w.tokens-w.flowStart), w.flowCRC
	w.index = append(w.index, m)
}

func (w *shardWriter) close() error {
	defer w.f.Close()
	indexOff := shardHeaderLen + 2*w.tokens
	var e [indexEntryLen]byte
	indexCRC := crc32.Checksum(nil, castagnoli)
	for i := range w.index {
		w.index[i].put(e[:])
		indexCRC = crc32.Update(indexCRC, castagnoli, e[:])
		if _, err := w.bw.Write(e[:]); err != nil {
			return err
		}
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	var h [shardHeaderLen]byte
	copy(h[:], ShardMagic)
	binary.LittleEndian.PutUint32(h[4:], ShardVersion)
	binary.LittleEndian.PutUint32(h[8:], uint32(w.codec))
	binary.LittleEndian.PutUint32(h[12:], indexCRC)
	binary.LittleEndian.PutUint64(h[16:], uint64(len(w.index)))
	binary.LittleEndian.PutUint64(h[24:], w.tokens)
	binary.LittleEndian.PutUint64(h[32:], indexOff)
	binary.LittleEndian.PutUint32(h[60:], crc32.Checksum(h[:60], castagnoli))
	if _, err := w.f.WriteAt(h[:], 0); err != nil {
		return err
	}
	return w.f.Sync()
}

// shard is an open shard: the index in memory, tokens read on demand.
type shard struct {
	f       io.ReaderAt // the shard's bytes (an *os.File when opened by path)
	size    int64
	path    string
	version int // 1: no checksums
	codec   int
	tokens  uint64
	index   []FlowMeta
}

func openShard(path string) (*shard, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s, err := readShard(f, fi.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// readShard checks the shard held by r (size bytes) and reads its index;
// name is used in errors.
func readShard(r io.ReaderAt, size int64, name string) (*shard, error) {
	s := &shard{f: r, size: size, path: name}
	if err := s.readIndex(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrDataset, name, err)
	}
	return s, nil
}

// close closes the shard's file.
func (s *shard) close() error {
	if c, ok := s.f.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

func (s *shard) readIndex() error {
	var h [shardHeaderLen]byte
	if _, err := s.f.ReadAt(h[:], 0); err != nil {
		return fmt.Errorf("reading header: %v", err)
	}
	if string(h[:4]) != ShardMagic {
		return fmt.Errorf("magic %q is not %q", h[:4], ShardMagic)
	}
	switch v := binary.LittleEndian.Uint32(h[4:]); v {
	case 1:
		// Version 1 wrote zeros where version 2 keeps its checksums: a
		// "version 1" shard with them set is a version-2 shard whose
		// version field was damaged, not one to read unchecked.
		if binary.LittleEndian.Uint32(h[12:]) != 0 || binary.LittleEndian.Uint32(h[60:]) != 0 {
			return fmt.Errorf("version-1 header with checksum fields set (a damaged version-2 shard?): %w", ErrChecksum)
		}
	case 2:
		if got, want := crc32.Checksum(h[:60], castagnoli), binary.LittleEndian.Uint32(h[60:]); got != want {
			return fmt.Errorf("header: CRC-32C %08x, stored %08x: %w", got, want, ErrChecksum)
		}
	default:
		return fmt.Errorf("shard version %d, this build reads 1 and %d", v, ShardVersion)
	}
	s.version = int(binary.LittleEndian.Uint32(h[4:]))
	s.codec = int(binary.LittleEndian.Uint32(h[8:]))
	n := binary.LittleEndian.Uint64(h[16:])
	s.tokens = binary.LittleEndian.Uint64(h[24:])
	off := binary.LittleEndian.Uint64(h[32:])
	if n > uint64(s.size)/indexEntryLen || s.tokens > uint64(s.size)/2 ||
		off != shardHeaderLen+2*s.tokens || uint64(s.size) != off+n*indexEntryLen {
		return fmt.Errorf("sizes do not add up (file %d bytes, %d tokens, %d flows): truncated or corrupt", s.size, s.tokens, n)
	}
	buf := make([]byte, n*indexEntryLen)
	if _, err := s.f.ReadAt(buf, int64(off)); err != nil && err != io.EOF {
		return err
	}
	if s.version >= 2 {
		if got, want := crc32.Checksum(buf, castagnoli), binary.LittleEndian.Uint32(h[12:]); got != want {
			return fmt.Errorf("index of %d flows: CRC-32C %08x, stored %08x: %w", n, got, want, ErrChecksum)
		}
	}
	s.index = make([]FlowMeta, n)
	// Flows tile the token area in order, so every token byte is under
	// some flow's checksum.
	var next uint64
	for i := range s.index {
		s.index[i].get(buf[i*indexEntryLen:])
		m := &s.index[i]
		if m.Offset != next || m.Offset+uint64(m.Len) > s.tokens {
			return fmt.Errorf("flow %d: tokens at %d+%d do not follow the previous flow's in the %d-token area", i, m.Offset, m.Len, s.tokens)
		}
		next += uint64(m.Len)
		if s.version < 2 {
			if e := buf[i*indexEntryLen:]; binary.LittleEndian.Uint64(e[40:]) != 0 {
				return fmt.Errorf("flow %d: version-1 index entry with checksum fields set (a damaged version-2 shard?): %w", i, ErrChecksum)
			}
		}
	}
	if next != s.tokens {
		return fmt.Errorf("flows cover %d of the %d tokens", next, s.tokens)
	}
	return nil
}

// read appends flow i's tokens to dst; buf is scratch.
func (s *shard) read(i int, dst []uint16, buf *[]byte) ([]uint16, error) {
	m := &s.index[i]
	n := int(m.Len)
	if cap(*buf) < 2*n {
		*buf = make([]byte, 2*n)
	}
	b := (*buf)[:2*n]
	if _, err := s.f.ReadAt(b, int64(shardHeaderLen+2*m.Offset)); err != nil {
		return dst, fmt.Errorf("%s: flow %d: %w", s.path, i, err)
	}
	if s.version >= 2 {
		if got := crc32.Checksum(b, castagnoli); got != m.CRC {
			return dst, fmt.Errorf("%w: %s: flow %d (tokens at byte %d): CRC-32C %08x, stored %08x: %w",
				ErrDataset, s.path, i, shardHeaderLen+2*m.Offset, got, m.CRC, ErrChecksum)
		}
	}
	for j := 0; j < n; j++ {
		dst = append(dst, binary.LittleEndian.Uint16(b[2*j:]))
	}
	return dst, nil
}
