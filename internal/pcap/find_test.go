package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLooksLikeCapture(t *testing.T) {
	tests := []struct {
		head []byte
		want bool
	}{
		{[]byte{0xd4, 0xc3, 0xb2, 0xa1}, true}, {[]byte{0xa1, 0xb2, 0xc3, 0xd4}, true},
		{[]byte{0x4d, 0x3c, 0xb2, 0xa1}, true}, {[]byte{0xa1, 0xb2, 0x3c, 0x4d}, true},
		{[]byte{0x0a, 0x0d, 0x0d, 0x0a}, true}, {[]byte{0x1f, 0x8b}, true},
		{[]byte{0xfd, '7', 'z', 'X'}, true}, {[]byte{0x28, 0xb5, 0x2f, 0xfd}, true},
		{[]byte("GET "), false}, {[]byte{0xd4, 0xc3}, false}, {nil, false},
	}
	for _, tc := range tests {
		if got := LooksLikeCapture(tc.head); got != tc.want {
			t.Errorf("LooksLikeCapture(% x) = %v, want %v", tc.head, got, tc.want)
		}
	}
}

// TestFind: folders are searched recursively for files that start like a
// capture (sorted), named files are taken as they are.
func TestFind(t *testing.T) {
	dir := t.TempDir()
	pcapHead := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0}
	files := map[string][]byte{
		"b/2.pcap": pcapHead, "a.pcap": pcapHead, "b/1.cap": {0x0a, 0x0d, 0x0d, 0x0a},
		"README.md": []byte("# captures"), "b/labels.csv": []byte("a,b\n"),
		"c/empty.pcap.gz": nil, // named like a capture: kept, so reading it fails loudly
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	named := filepath.Join(dir, "README.md")
	got, others, err := FindAll([]string{dir, named, Stdin})
	if err != nil {
		t.Fatal(err)
	}
	want := []Input{
		{filepath.Join(dir, "a.pcap"), dir}, {filepath.Join(dir, "b", "1.cap"), dir}, {filepath.Join(dir, "b", "2.pcap"), dir},
		{filepath.Join(dir, "c", "empty.pcap.gz"), dir}, {named, named}, {Stdin, Stdin},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Find = %v, want %v", got, want)
	}
	if wantOthers := []string{filepath.Join(dir, "README.md"), filepath.Join(dir, "b", "labels.csv")}; !reflect.DeepEqual(others, wantOthers) {
		t.Errorf("others = %v, want %v", others, wantOthers)
	}
	if _, err := Find([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("Find of a missing path: no error")
	}
	if _, err := Find([]string{Stdin, Stdin}); !errors.Is(err, ErrStdinTwice) {
		t.Errorf("stdin twice: %v", err)
	}
}

// TestLargest: the largest capture of the first folder that has any.
func TestLargest(t *testing.T) {
	empty, dir := t.TempDir(), t.TempDir()
	pcapHead := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0}
	os.WriteFile(filepath.Join(empty, "notes.txt"), make([]byte, 100), 0o644)
	os.WriteFile(filepath.Join(dir, "small.pcap"), pcapHead, 0o644)
	os.WriteFile(filepath.Join(dir, "big.pcap"), append(pcapHead, make([]byte, 50)...), 0o644)
	os.WriteFile(filepath.Join(dir, "bigger.txt"), make([]byte, 500), 0o644)
	if got, want := Largest(filepath.Join(dir, "missing"), empty, dir), filepath.Join(dir, "big.pcap"); got != want {
		t.Errorf("Largest = %q, want %q", got, want)
	}
	if got := Largest(empty); got != "" {
		t.Errorf("Largest of a folder without captures = %q", got)
	}
}

// TestReadWritePackets: a demo capture written again as pcapng holds the
// same packets, and as classic pcap (tcpdump's framing and snap length)
// the same bytes.
func TestReadWritePackets(t *testing.T) {
	in, err := os.ReadFile("../../testdata/demo/dns.pcap")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ReadPackets(bytes.NewReader(in))
	if err != nil || len(recs) == 0 {
		t.Fatalf("%d packets, %v", len(recs), err)
	}
	var ng, classic bytes.Buffer
	if err := WritePackets(&ng, Framing{Format: FormatPcapng, Resolution: recs[0].Resolution}, recs[0].LinkType, 65535, recs); err != nil {
		t.Fatal(err)
	}
	back, err := ReadPackets(bytes.NewReader(ng.Bytes()))
	if err != nil || len(back) != len(recs) {
		t.Fatalf("pcapng: %d packets of %d, %v", len(back), len(recs), err)
	}
	for i := range recs {
		if back[i].Timestamp != recs[i].Timestamp || back[i].OrigLen != recs[i].OrigLen || !bytes.Equal(back[i].Data, recs[i].Data) {
			t.Fatalf("pcapng packet %d differs", i)
		}
	}
	snap := binary.LittleEndian.Uint32(in[16:20])
	if err := WritePackets(&classic, Framing{Format: FormatPcap, Resolution: recs[0].Resolution}, recs[0].LinkType, snap, recs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(classic.Bytes(), in) {
		t.Error("classic pcap written again differs from the file")
	}
	if _, err := ReadPackets(bytes.NewReader([]byte("not a capture"))); err == nil {
		t.Error("not a capture: no error")
	}
}

func TestDescribeOthers(t *testing.T) {
	for _, c := range []struct {
		others []string
		want   string
	}{
		{nil, ""},
		{[]string{"a.txt"}, "1 files in the input folders are not captures and were skipped: a.txt"},
		{[]string{"1", "2", "3", "4", "5", "6", "7"}, "7 files in the input folders are not captures and were skipped: 1, 2, 3, 4, 5, ... (2 more)"},
	} {
		if got := DescribeOthers(c.others); got != c.want {
			t.Errorf("DescribeOthers(%v) = %q, want %q", c.others, got, c.want)
		}
	}
}
