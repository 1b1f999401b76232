package codec

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"testing"
)

// demoArchive tokenizes a repository capture (cut to n bytes, 0: whole).
func demoArchive(t testing.TB, name string, n int) (capture, archive []byte) {
	t.Helper()
	b, err := os.ReadFile("../../testdata/demo/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 && n < len(b) {
		b = b[:n]
	}
	var arc bytes.Buffer
	if _, err := Tokenize(context.Background(), bytes.NewReader(b), &arc, TokenizeOptions{KeepTrailing: true}); err != nil {
		t.Fatal(err)
	}
	return b, arc.Bytes()
}

// toV1 rewrites a version-2 archive in the version-1 layout (no blocks).
func toV1(t testing.TB, v2 []byte) []byte {
	t.Helper()
	out := append([]byte(ArchiveMagic), 1)
	r := bytes.NewReader(v2[5:])
	for {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return out
		}
		p := make([]byte, n+4)
		io.ReadFull(r, p)
		out = append(out, p[:n]...)
	}
}

// TestArchiveChecksums: every kind of damage to a version-2 archive is an
// error naming the block (ErrChecksum) or the cut; version 1 still reads.
func TestArchiveChecksums(t *testing.T) {
	capture, arc := demoArchive(t, "http.pcap", 0)
	if len(arc) < 3*blockSize {
		t.Fatalf("archive of %d bytes: want several blocks", len(arc))
	}
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte { b[off] ^= 0x10; return b }
	}
	tests := []struct {
		name     string
		damage   func([]byte) []byte
		checksum bool // ErrChecksum expected (else any ErrArchive)
	}{
		{"byte in the first block", flip(100), true},
		{"byte in a middle block", flip(len(arc) / 2), true},
		{"last byte of the last data block", flip(len(arc) - 7), true},
		{"a stored CRC", flip(5 + 3 + blockSize), true},
		{"a block length", flip(5), true},
		{"codec version (inside block 0)", flip(8), true},
		{"blocks swapped", func(b []byte) []byte {
			k := 3 + blockSize + 4 // first two blocks are full: same framing length
			x := append([]byte(nil), b[5:5+k]...)
			copy(b[5:5+k], b[5+k:5+2*k])
			copy(b[5+k:5+2*k], x)
			return b
		}, true},
		{"a block dropped", func(b []byte) []byte {
			k := 3 + blockSize + 4
			return append(b[:5+k], b[5+2*k:]...)
		}, true},
		{"cut at a block boundary", func(b []byte) []byte { return b[:5+3+blockSize+4] }, false},
		{"cut mid-block", func(b []byte) []byte { return b[:len(b)/2] }, false},
		{"end block missing", func(b []byte) []byte { return b[:len(b)-5] }, false},
		{"bytes appended", func(b []byte) []byte { return append(b, 0) }, true},
		{"archive version 3", func(b []byte) []byte { b[4] = 3; return b }, false},
		{"version byte 2 -> 1", func(b []byte) []byte { b[4] = 1; return b }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := tc.damage(append([]byte(nil), arc...))
			var out bytes.Buffer
			_, err := Detokenize(context.Background(), bytes.NewReader(bad), &out)
			if err == nil {
				t.Fatalf("damage not detected (output equal: %v)", bytes.Equal(out.Bytes(), capture))
			}
			if !errors.Is(err, ErrArchive) || (tc.checksum && !errors.Is(err, ErrChecksum)) {
				t.Fatalf("err %v: want ErrArchive, checksum %v", err, tc.checksum)
			}
			t.Log(err)
		})
	}

	var out bytes.Buffer
	st, err := Detokenize(context.Background(), bytes.NewReader(arc), &out)
	if err != nil || !bytes.Equal(out.Bytes(), capture) || st.ArchiveVersion != 2 {
		t.Fatalf("intact v2: %v, equal %v, version %d", err, bytes.Equal(out.Bytes(), capture), st.ArchiveVersion)
	}
	out.Reset()
	st, err = Detokenize(context.Background(), bytes.NewReader(toV1(t, arc)), &out)
	if err != nil || !bytes.Equal(out.Bytes(), capture) || st.ArchiveVersion != 1 {
		t.Fatalf("v1: %v, equal %v, version %d (want 1: callers warn)", err, bytes.Equal(out.Bytes(), capture), st.ArchiveVersion)
	}
}

// FuzzCorruptArchive applies edits (overwrite, insert, delete, truncate)
// chosen by the fuzzer to a valid archive: every changed archive must fail
// to decode. 0 silent successes is the integrity contract of version 2.
// Normal test runs only replay the seeds.
func FuzzCorruptArchive(f *testing.F) {
	capture, arc := demoArchive(f, "dns.pcap", 6000)
	f.Add([]byte{0, 0, 0, 1})
	f.Add([]byte{5, 0, 1, 7})
	f.Add([]byte{0xff, 0xff, 4, 0})
	f.Add([]byte{20, 0, 2, 9, 30, 0, 3, 1})
	f.Fuzz(func(t *testing.T, edits []byte) {
		bad := applyEdits(arc, edits)
		if bytes.Equal(bad, arc) {
			return
		}
		var out bytes.Buffer
		st, err := Detokenize(context.Background(), bytes.NewReader(bad), &out)
		if err == nil {
			t.Fatalf("corruption not detected (archive version %d, output equal %v), edits %x",
				st.ArchiveVersion, bytes.Equal(out.Bytes(), capture), edits)
		}
	})
}

// applyEdits interprets edits as 4-byte operations: position (u16, modulo
// the length), kind (xor, set, insert, delete, truncate) and a value.
func applyEdits(orig, edits []byte) []byte {
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

// TestEncodeFlowsSpill: with SpillTokens the flows' tokens (read back with
// EachTokens) and counts equal the in-memory ones; CountOnly keeps the
// counts and no tokens.
func TestEncodeFlowsSpill(t *testing.T) {
	capture, _ := demoArchive(t, "http.pcap", 0)
	collect := func(o EncodeOptions) (map[uint64][]Token, map[uint64]int) {
		toks, counts := map[uint64][]Token{}, map[uint64]int{}
		_, err := EncodeFlows(context.Background(), bytes.NewReader(capture), o, func(ef *EncodedFlow) error {
			counts[ef.ID] = ef.NumTokens
			var all []Token
			err := ef.EachTokens(func(p []Token) error { all = append(all, p...); return nil })
			toks[ef.ID] = all
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return toks, counts
	}
	want, wantN := collect(EncodeOptions{})
	long := 0
	for id, w := range want {
		if wantN[id] != len(w) {
			t.Fatalf("flow %d: NumTokens %d, %d tokens", id, wantN[id], len(w))
		}
		if len(w) > 300 {
			long++
		}
	}
	if long == 0 {
		t.Fatal("no flow longer than the spill bound: the test would not spill")
	}
	for _, o := range []EncodeOptions{{SpillTokens: 100, SpillDir: t.TempDir()}, {SpillTokens: 7}, {CountOnly: true}} {
		got, gotN := collect(o)
		for id, w := range want {
			if gotN[id] != len(w) {
				t.Errorf("%+v: flow %d: %d tokens counted, want %d", o, id, gotN[id], len(w))
			}
			if !o.CountOnly && !slices.Equal(got[id], w) {
				t.Errorf("%+v: flow %d: tokens differ after spilling", o, id)
			}
			if o.CountOnly && len(got[id]) != 0 {
				t.Errorf("CountOnly kept %d tokens", len(got[id]))
			}
		}
	}
}

// TestViewString: views print as the flags that make them, never {Mask:7}.
func TestViewString(t *testing.T) {
	tests := []struct {
		v    View
		want string
	}{
		{View{}, "lossless (mask none, no limits)"},
		{View{Mask: MaskAddr | MaskPorts | MaskTTL}, "mask addr+ports+ttl"},
		{View{Mask: MaskAddr | MaskPorts | MaskMAC | MaskTTL | MaskIPID, MaxTokens: 2048}, "mask all, max-tokens 2048"},
		{View{HeaderOnly: true, MaxPackets: 8}, "mask none, header-only, max-packets 8"},
	}
	for _, tc := range tests {
		if got := fmt.Sprintf("%+v", tc.v); got != tc.want {
			t.Errorf("%%+v of %#v = %q, want %q", tc.v, got, tc.want)
		}
		if m, err := ParseMask(tc.v.Mask.String()); err != nil || m != tc.v.Mask {
			t.Errorf("ParseMask(%q) = %v, %v", tc.v.Mask.String(), m, err)
		}
	}
}
