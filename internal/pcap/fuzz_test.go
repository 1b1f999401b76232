package pcap

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// fuzzSeeds adds up to n dev-v1 captures smaller than 3 KiB whose first
// bytes satisfy want, in a fixed (sorted) order.
func fuzzSeeds(f *testing.F, n int, want func(head []byte) bool) {
	if _, err := os.Stat(devDir); err != nil {
		return
	}
	var paths []string
	filepath.Walk(devDir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && fi.Size() < 3<<10 {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	for _, p := range paths {
		if n == 0 {
			return
		}
		b, err := os.ReadFile(p)
		if err == nil && len(b) >= 4 && want(gunzip(b)) {
			f.Add(b)
			n--
		}
	}
}

// isMagic reports whether b starts with gzip or a capture magic.
func isMagic(b []byte) bool {
	switch string(b[:2]) {
	case "\x1f\x8b":
		return true
	}
	switch string(b[:4]) {
	case "\xd4\xc3\xb2\xa1", "\xa1\xb2\xc3\xd4", "\x4d\x3c\xb2\xa1", "\xa1\xb2\x3c\x4d", "\x0a\x0d\x0d\x0a":
		return true
	}
	return false
}

func isPcap(h []byte) bool { return len(h) >= 4 && !isPcapng(h) }
func isPcapng(h []byte) bool {
	return len(h) >= 4 && bytes.Equal(h[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a})
}

// fuzzRead reads b fully and returns copies of the records, or the error.
func fuzzRead(t *testing.T, b []byte, opts ReaderOptions) ([]Record, []byte, error) {
	r, err := NewReader(bytes.NewReader(b), opts)
	if err != nil {
		return nil, nil, err
	}
	var recs []Record
	var out []byte
	for i := 0; ; i++ {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, out, nil
		}
		if err != nil {
			if _, err2 := r.Next(); err2 != err {
				t.Fatalf("error not sticky: %v then %v", err, err2)
			}
			return recs, out, err
		}
		if rec.Index != i || rec.Offset != int64(len(out)) {
			t.Fatalf("record %d: index %d offset %d, want offset %d", i, rec.Index, rec.Offset, len(out))
		}
		if rec.Kind == KindPacket && !bytes.Equal(rec.Raw[rec.DataOff:rec.DataOff+len(rec.Data)], rec.Data) {
			t.Fatalf("record %d: Data is not Raw[DataOff:]", i)
		}
		out = append(out, rec.Raw...)
		c := *rec
		c.Raw = append([]byte(nil), rec.Raw...)
		c.Data = c.Raw[rec.DataOff : rec.DataOff+len(rec.Data)]
		recs = append(recs, c)
	}
}

func fuzzCheck(t *testing.T, b []byte) {
	for _, keep := range []bool{false, true} {
		opts := ReaderOptions{KeepTrailing: keep}
		recs, out, err := fuzzRead(t, b, opts)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("keep=%v: error wraps no sentinel: %v", keep, err)
			}
			continue
		}
		if in := gunzip(b); !bytes.Equal(out, in) {
			t.Fatalf("keep=%v: concatenated Raw (%d bytes) differs from input (%d bytes)", keep, len(out), len(in))
		}
		// A copy written with Writer reads back to identical records.
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, r := range recs {
			if err := w.WriteRaw(r.Raw); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		recs2, _, err := fuzzRead(t, buf.Bytes(), opts)
		if err != nil {
			t.Fatalf("keep=%v: re-reading the copy: %v", keep, err)
		}
		if len(recs2) != len(recs) {
			t.Fatalf("keep=%v: copy has %d records, want %d", keep, len(recs2), len(recs))
		}
		for i := range recs {
			a, b := recs[i], recs2[i]
			if !bytes.Equal(a.Raw, b.Raw) || !bytes.Equal(a.Data, b.Data) {
				t.Fatalf("record %d differs in the copy", i)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("record %d: %+v, copy %+v", i, a, b)
			}
		}
	}
}

func FuzzPcapReader(f *testing.F) {
	fuzzSeeds(f, 60, isPcap)
	f.Add(pcapFile(false, []byte{1, 2, 3}, make([]byte, 60)))
	f.Add(pcapFile(true, []byte{1, 2, 3}))
	f.Add(pcapFile(false, make([]byte, 100))[:70])
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte{0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0})
	f.Add(u32s(false, 1, 2, 3, 3, 0x00010203))
	// Inputs without a magic also run behind a valid file header, so the
	// mutator works on the records.
	hdr := pcapFile(false)
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzCheck(t, b)
		if len(b) < 4 || !isMagic(b) {
			fuzzCheck(t, append(hdr[:len(hdr):len(hdr)], b...))
		}
	})
}

func FuzzPcapngReader(f *testing.F) {
	fuzzSeeds(f, 60, isPcapng)
	var ng []byte
	ng = append(ng, ngSHB(false, ngOpt(false, 4, []byte("app")), ngOpt(false, 0, nil))...)
	ng = append(ng, ngIDB(false, 1, 0, ngOpt(false, optTsResol, []byte{0x80 | 20}), ngOpt(false, 0, nil))...)
	ng = append(ng, ngBlock(false, BlockEPB, u32s(false, 0, 1, 2, 3, 3), []byte{1, 2, 3})...)
	ng = append(ng, ngBlock(false, BlockSPB, u32s(false, 2), []byte{1, 2})...)
	ng = append(ng, ngBlock(false, BlockPB, []byte{0, 0, 0, 0}, u32s(false, 1, 2, 1, 1), []byte{9})...)
	ng = append(ng, ngBlock(false, BlockISB, u32s(false, 0, 1, 2))...)
	ng = append(ng, ngSHB(true)...)
	ng = append(ng, ngIDB(true, 1, 4)...)
	ng = append(ng, ngBlock(true, BlockEPB, u32s(true, 0, 1, 2, 3, 3), []byte{1, 2, 3})...)
	f.Add(ng)
	f.Add(ng[:len(ng)-7])
	f.Add(ngBlock(false, BlockSPB))
	// Inputs that are not pcapng also run behind a valid SHB and IDB, so the
	// mutator works on the blocks.
	pre := append(ngSHB(false), ngIDB(false, 1, 0)...)
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzCheck(t, b)
		if !isPcapng(b) {
			fuzzCheck(t, append(pre[:len(pre):len(pre)], b...))
		}
	})
}
