package model

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/codec"
)

// Checkpoint metadata keys written by Save; callers may add their own keys.
const (
	MetaFormat       = "format"        // always CheckpointFormat
	MetaConfig       = "config"        // the Config as JSON
	MetaCodecVersion = "codec_version" // codec.Version, decimal
	// MetaTensorCRC maps each tensor's name to the CRC-32C (8 hex digits)
	// of its little-endian bytes; MetaCRC is the CRC-32C of every other
	// metadata entry (sorted "key NUL value NUL"). Checkpoints written
	// before they existed load without the checks (HasDigests is false).
	MetaTensorCRC    = "tensor_crc32c"
	MetaCRC          = "metadata_crc32c"
	CheckpointFormat = "trafficgpt-model-1"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// HasDigests reports whether a checkpoint's metadata carries the digests
// that Load checked; a checkpoint without them could be silently corrupt.
func HasDigests(meta map[string]string) bool { return meta[MetaTensorCRC] != "" && meta[MetaCRC] != "" }

// metaCRC is the digest of every metadata entry but MetaCRC.
func metaCRC(md map[string]string) string {
	keys := make([]string, 0, len(md))
	for k := range md {
		if k != MetaCRC {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	c := crc32.Checksum(nil, castagnoli)
	for _, k := range keys {
		c = crc32.Update(c, castagnoli, []byte(k))
		c = crc32.Update(c, castagnoli, []byte{0})
		c = crc32.Update(c, castagnoli, []byte(md[k]))
		c = crc32.Update(c, castagnoli, []byte{0})
	}
	return fmt.Sprintf("%08x", c)
}

// floatBytes appends the little-endian bytes of xs.
func floatBytes(dst []byte, xs []float32) []byte {
	for _, x := range xs {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(x))
	}
	return dst
}

// tensorCRC is the CRC-32C of a tensor's little-endian bytes.
func tensorCRC(xs []float32) uint32 {
	var buf [4096]byte
	c := crc32.Checksum(nil, castagnoli)
	for i := 0; i < len(xs); i += len(buf) / 4 {
		c = crc32.Update(c, castagnoli, floatBytes(buf[:0], xs[i:min(len(xs), i+len(buf)/4)]))
	}
	return c
}

// ErrCheckpoint is wrapped by every checkpoint reading error.
var ErrCheckpoint = errors.New("model: bad checkpoint")

// maxHeader bounds the JSON header we accept (safetensors uses 100 MB).
const maxHeader = 100 << 20

type tensorHeader struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Save writes the parameters as a safetensors file at path, atomically (see
// atomicfile: a temporary file in the same directory, synced, renamed, the
// directory synced). meta is added to the "__metadata__" map; the reserved
// keys are set by Save.
func (m *Model) Save(path string, meta map[string]string) error {
	f, err := atomicfile.Create(path, atomicfile.Options{})
	if err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	defer f.Abort()
	if err := m.WriteTo(f, meta); err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	return nil
}

// WriteTo streams the safetensors encoding of the parameters to w.
func (m *Model) WriteTo(w io.Writer, meta map[string]string) error {
	cfg, err := json.Marshal(m.Config)
	if err != nil {
		return err
	}
	md := map[string]string{}
	for k, v := range meta {
		md[k] = v
	}
	md[MetaFormat] = CheckpointFormat
	md[MetaConfig] = string(cfg)
	md[MetaCodecVersion] = strconv.Itoa(codec.Version)
	crcs := map[string]string{}
	for _, p := range m.layout {
		crcs[p.Name] = fmt.Sprintf("%08x", tensorCRC(m.params[p.Offset:p.Offset+p.Size]))
	}
	cj, err := json.Marshal(crcs)
	if err != nil {
		return err
	}
	md[MetaTensorCRC] = string(cj)
	md[MetaCRC] = metaCRC(md)
	hdr := map[string]any{"__metadata__": md}
	for _, p := range m.layout {
		hdr[p.Name] = tensorHeader{Dtype: "F32", Shape: p.Shape,
			DataOffsets: [2]int64{4 * int64(p.Offset), 4 * int64(p.Offset+p.Size)}}
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	for len(js)%8 != 0 { // keep the data 8-byte aligned, as the reference writer does
		js = append(js, ' ')
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(js)))
	bw.Write(n[:])
	bw.Write(js)
	var buf [4096]byte
	for i := 0; i < len(m.params); i += len(buf) / 4 {
		chunk := m.params[i:min(len(m.params), i+len(buf)/4)]
		for j, x := range chunk {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(x))
		}
		if _, err := bw.Write(buf[:4*len(chunk)]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Load reads a checkpoint written by Save and builds the model it describes.
// It returns the metadata (including the caller's keys).
func Load(path string) (*Model, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("model: load: %w", err)
	}
	defer f.Close()
	m, meta, err := read(bufio.NewReaderSize(f, 1<<16), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, meta, nil
}

// LoadWeights replaces m's parameters with those of the checkpoint at path,
// which must have m's architecture (the config up to Dropout and
// MaxContext), exactly m's tensors and the codec version. On a data error
// the parameters may be partly overwritten.
func (m *Model) LoadWeights(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model: load: %w", err)
	}
	defer f.Close()
	_, meta, err := read(bufio.NewReaderSize(f, 1<<16), m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return meta, nil
}

// ReadWeights is LoadWeights from a stream (name is used in errors).
func (m *Model) ReadWeights(r io.Reader, name string) (map[string]string, error) {
	_, meta, err := read(bufio.NewReaderSize(r, 1<<16), m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return meta, nil
}

// ReadFrom is Load from a stream.
func ReadFrom(r io.Reader) (*Model, map[string]string, error) { return read(r, nil) }

// read decodes a checkpoint into into (validated against its layout) or into
// a new model built from the stored config.
func read(r io.Reader, into *Model) (*Model, map[string]string, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrCheckpoint}, a...)...)
	}
	var n [8]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, nil, bad("header length: %v", err)
	}
	hl := binary.LittleEndian.Uint64(n[:])
	if hl < 2 || hl > maxHeader {
		return nil, nil, bad("header length %d outside [2, %d]", hl, maxHeader)
	}
	js := make([]byte, hl)
	if _, err := io.ReadFull(r, js); err != nil {
		return nil, nil, bad("header (%d bytes): %v", hl, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, nil, bad("header JSON: %v", err)
	}
	meta := map[string]string{}
	if md, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(md, &meta); err != nil {
			return nil, nil, bad("__metadata__: %v", err)
		}
		delete(raw, "__metadata__")
	}
	var crcs map[string]string
	if HasDigests(meta) {
		if got := metaCRC(meta); got != meta[MetaCRC] {
			return nil, nil, bad("metadata: CRC-32C %s, stored %s: %w", got, meta[MetaCRC], codec.ErrChecksum)
		}
		if err := json.Unmarshal([]byte(meta[MetaTensorCRC]), &crcs); err != nil {
			return nil, nil, bad("%s: %v", MetaTensorCRC, err)
		}
	} else if meta[MetaTensorCRC] != "" || meta[MetaCRC] != "" {
		return nil, nil, bad("only one of %s and %s: %w", MetaTensorCRC, MetaCRC, codec.ErrChecksum)
	}
	if meta[MetaFormat] != CheckpointFormat {
		return nil, nil, bad("format %q, want %q", meta[MetaFormat], CheckpointFormat)
	}
	if v := meta[MetaCodecVersion]; v != strconv.Itoa(codec.Version) {
		return nil, nil, bad("codec version %q, this build has %d", v, codec.Version)
	}
	var cfg Config
	if err := json.Unmarshal([]byte(meta[MetaConfig]), &cfg); err != nil {
		return nil, nil, bad("config: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: stored config: %w", ErrCheckpoint, err)
	}
	if into != nil && !sameArchitecture(cfg, into.Config) {
		return nil, nil, bad("stored config %+v does not match the model's %+v", cfg, into.Config)
	}
	m := into
	if m == nil {
		var err error
		if m, err = New(cfg, 0); err != nil {
			return nil, nil, err
		}
	}
	tensors := make([]tensorHeader, 0, len(m.layout))
	for _, p := range m.layout {
		rm, ok := raw[p.Name]
		if !ok {
			return nil, nil, bad("tensor %q missing", p.Name)
		}
		delete(raw, p.Name)
		var th tensorHeader
		if err := json.Unmarshal(rm, &th); err != nil {
			return nil, nil, bad("tensor %q: %v", p.Name, err)
		}
		if th.Dtype != "F32" {
			return nil, nil, bad("tensor %q: dtype %q, want F32", p.Name, th.Dtype)
		}
		if !equalShape(th.Shape, p.Shape) {
			return nil, nil, bad("tensor %q: shape %v, want %v", p.Name, th.Shape, p.Shape)
		}
		if th.DataOffsets[1]-th.DataOffsets[0] != 4*int64(p.Size) || th.DataOffsets[0] < 0 {
			return nil, nil, bad("tensor %q: data_offsets %v for %d floats", p.Name, th.DataOffsets, p.Size)
		}
		if crcs != nil && crcs[p.Name] == "" {
			return nil, nil, bad("tensor %q has no digest in %s", p.Name, MetaTensorCRC)
		}
		tensors = append(tensors, th)
	}
	for name := range raw {
		return nil, nil, bad("unexpected tensor %q (config %+v)", name, m.Config)
	}
	// Read the data region in file order; tensors must tile it exactly.
	idx := make([]int, len(tensors))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return tensors[idx[a]].DataOffsets[0] < tensors[idx[b]].DataOffsets[0] })
	var pos int64
	var buf [4096]byte
	for _, i := range idx {
		th, p := tensors[i], m.layout[i]
		if th.DataOffsets[0] != pos {
			return nil, nil, bad("tensor %q starts at %d, want %d (gap or overlap)", p.Name, th.DataOffsets[0], pos)
		}
		dst := m.params[p.Offset : p.Offset+p.Size]
		c := crc32.Checksum(nil, castagnoli)
		for j := 0; j < len(dst); j += len(buf) / 4 {
			chunk := dst[j:min(len(dst), j+len(buf)/4)]
			if _, err := io.ReadFull(r, buf[:4*len(chunk)]); err != nil {
				return nil, nil, bad("tensor %q data: %v", p.Name, err)
			}
			c = crc32.Update(c, castagnoli, buf[:4*len(chunk)])
			for k := range chunk {
				chunk[k] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*k:]))
			}
		}
		if want := crcs[p.Name]; crcs != nil && fmt.Sprintf("%08x", c) != want {
			return nil, nil, bad("tensor %q: CRC-32C %08x, stored %s: %w", p.Name, c, want, codec.ErrChecksum)
		}
		pos = th.DataOffsets[1]
	}
	return m, meta, nil
}

// sameArchitecture compares configs ignoring the run-time settings that do
// not change the function of trained weights (dropout, max context).
func sameArchitecture(a, b Config) bool {
	a.Dropout, b.Dropout = 0, 0
	a.MaxContext, b.MaxContext = 0, 0
	return a == b
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
