package pcap

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestMultiWriter writes two sections with two interfaces each and reads
// them back: sections, interfaces (in order of first use), link types,
// nanosecond timestamps, lengths and bytes come back as written.
func TestMultiWriter(t *testing.T) {
	type pkt struct {
		section  int
		source   uint64
		iface    uint32 // expected interface id
		link     uint32
		ts       uint64
		origLen  uint32
		data     []byte
		wantOrig uint32
	}
	pkts := []pkt{
		{0, 7, 0, 1, 1_700_000_000_123_456_789, 60, []byte{1, 2, 3}, 60},
		{0, 3, 1, 101, 1_700_000_001_000_000_000, 0, []byte{4, 5, 6, 7, 8}, 5}, // origLen below caplen: raised
		{0, 7, 0, 1, 1_700_000_002_000_000_001, 4, []byte{9, 9, 9, 9}, 4},
		{1, 3, 0, 228, 5, 1, []byte{0xaa}, 1}, // a new section numbers its interfaces anew
		{1, 9, 1, 1, 6, 2, []byte{}, 2},
	}
	var buf bytes.Buffer
	w := NewMultiWriter(&buf)
	section := -1
	for _, p := range pkts {
		if p.section != section {
			section = p.section
			if err := w.Section(); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.WritePacket(p.source, p.link, p.ts, p.origLen, p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(&buf, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []*Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading back: %v", err)
		}
		if rec.Kind == KindPacket {
			c := *rec
			c.Data = append([]byte(nil), rec.Data...)
			got = append(got, &c)
		}
	}
	if len(got) != len(pkts) {
		t.Fatalf("%d packets read back, want %d", len(got), len(pkts))
	}
	for i, p := range pkts {
		g := got[i]
		if g.Section != p.section || g.Interface != p.iface || g.LinkType != p.link || g.Resolution != Nano ||
			uint64(g.Resolution.TicksToNanos(g.Timestamp)) != p.ts || g.OrigLen != p.wantOrig || !bytes.Equal(g.Data, p.data) {
			t.Errorf("packet %d: section %d iface %d link %d res %d ts %d orig %d data %x; want %+v",
				i, g.Section, g.Interface, g.LinkType, g.Resolution, g.Timestamp, g.OrigLen, g.Data, p)
		}
	}
}

func TestMultiWriterErrors(t *testing.T) {
	w := NewMultiWriter(io.Discard)
	if err := w.WritePacket(0, 1, 0, 1, []byte{1}); !errors.Is(err, ErrFormat) {
		t.Errorf("packet before a section: %v, want ErrFormat", err)
	}
	w.Section()
	if err := w.WritePacket(0, 1<<16, 0, 1, []byte{1}); !errors.Is(err, ErrFormat) {
		t.Errorf("link type above 16 bits: %v, want ErrFormat", err)
	}
}
