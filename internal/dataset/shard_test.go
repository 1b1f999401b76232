package dataset

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// testShard writes a small version-2 shard of n flows and returns its bytes.
func testShard(t testing.TB, n int) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.tgs")
	w, err := createShard(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		toks := make([]uint16, 5+i%7)
		for j := range toks {
			toks[j] = uint16(3*i + j)
		}
		if err := w.add(toks, FlowMeta{Label: int32(i % 3), File: uint32(i), Packets: 2, FlowID: uint64(i), PayloadHash: uint64(i * 77)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll opens a shard's bytes and reads every flow: the index and the
// tokens, or the first error.
func readAll(t testing.TB, b []byte) ([]FlowMeta, [][]uint16, int, error) {
	s, err := readShard(bytes.NewReader(b), int64(len(b)), "s.tgs")
	if err != nil {
		return nil, nil, 0, err
	}
	var toks [][]uint16
	var buf []byte
	for i := range s.index {
		f, err := s.read(i, nil, &buf)
		if err != nil {
			return nil, nil, 0, err
		}
		toks = append(toks, f)
	}
	return s.index, toks, s.version, nil
}

// toV1Shard clears the checksums and marks the shard version 1.
func toV1Shard(b []byte) []byte {
	b = append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(b[4:], 1)
	clear(b[12:16])
	clear(b[60:64])
	off := binary.LittleEndian.Uint64(b[32:])
	for i := int(off); i < len(b); i += indexEntryLen {
		clear(b[i+40 : i+44])
	}
	return b
}

// TestShardChecksums: a flipped token, label, index field, header field or
// stored CRC is an error naming the shard and the flow or part; version 1
// still reads, marked unchecked.
func TestShardChecksums(t *testing.T) {
	orig := testShard(t, 10)
	idx := int(binary.LittleEndian.Uint64(orig[32:]))
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte { b[off] ^= 1; return b }
	}
	tests := []struct {
		name     string
		damage   func([]byte) []byte
		checksum bool
	}{
		{"a token of flow 0", flip(shardHeaderLen), true},
		{"a token of the last flow", flip(idx - 1), true},
		{"a label in the index", flip(idx + 3*indexEntryLen + 12), true},
		{"a payload hash", flip(idx + 32), true},
		{"a flow's stored CRC", flip(idx + 5*indexEntryLen + 40), true},
		{"the reserved bytes of an entry", flip(idx + 44), true},
		{"the codec version", flip(8), true},
		{"the flow count", flip(16), true},
		{"the header CRC", flip(61), true},
		{"the index CRC", flip(13), true},
		{"cut", func(b []byte) []byte { return b[:len(b)-1] }, false},
		{"shard version 3", func(b []byte) []byte { b[4] = 3; return b }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := readAll(t, tc.damage(append([]byte(nil), orig...)))
			if err == nil || (tc.checksum && !errors.Is(err, ErrChecksum)) {
				t.Fatalf("err %v, want checksum error %v", err, tc.checksum)
			}
			t.Log(err)
		})
	}
	index, toks, v, err := readAll(t, orig)
	if err != nil || v != 2 || len(toks) != 10 {
		t.Fatalf("intact: %v version %d, %d flows", err, v, len(toks))
	}
	i1, t1, v1, err := readAll(t, toV1Shard(orig))
	if err != nil || v1 != 1 {
		t.Fatalf("version 1: %v version %d", err, v1)
	}
	for i := range index {
		index[i].CRC = 0
		if index[i] != i1[i] || !slices.Equal(toks[i], t1[i]) {
			t.Fatalf("version 1 flow %d differs", i)
		}
	}
}

// FuzzCorruptShard: every edit of a valid shard (see applyShardEdits) is
// detected when it is opened and read. Normal runs replay the seeds only.
func FuzzCorruptShard(f *testing.F) {
	orig := testShard(f, 6)
	f.Add([]byte{0, 0, 0, 1})
	f.Add([]byte{70, 0, 1, 0})
	f.Add([]byte{0xff, 0xff, 2, 0})
	f.Fuzz(func(t *testing.T, edits []byte) {
		bad := applyShardEdits(orig, edits)
		if bytes.Equal(bad, orig) {
			return
		}
		if _, _, v, err := readAll(t, bad); err == nil {
			t.Fatalf("corruption not detected (version %d), edits %x", v, edits)
		}
	})
}

// applyShardEdits: 4-byte operations (position u16 modulo the length; xor,
// set, insert, delete, truncate; value), as in the codec's archive fuzzer.
func applyShardEdits(orig, edits []byte) []byte {
	b := append([]byte(nil), orig...)
	for len(edits) >= 4 && len(b) > 0 {
		pos := int(binary.LittleEndian.Uint16(edits)) % len(b)
		kind, val := edits[2]%5, edits[3]
		edits = edits[4:]
		switch kind {
		case 0:
			b[pos] ^= val
		case 1:
			b[pos] = val
		case 2:
			b = append(b[:pos], append([]byte{val}, b[pos:]...)...)
		case 3:
			b = append(b[:pos], b[min(len(b), pos+1+int(val%8)):]...)
		case 4:
			b = b[:pos]
		}
	}
	return b
}
