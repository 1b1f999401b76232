package pcap

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// ngBlock builds a pcapng block: body is zero-padded to 4 bytes.
func ngBlock(big bool, typ uint32, body ...[]byte) []byte {
	o := order(big)
	var b []byte
	for _, p := range body {
		b = append(b, p...)
	}
	b = append(b, make([]byte, pad4(len(b)))...)
	n := uint32(12 + len(b))
	out := o.AppendUint32(nil, typ)
	out = o.AppendUint32(out, n)
	out = append(out, b...)
	return o.AppendUint32(out, n)
}

// ngOpt builds one option (code, length, value, padding); code 0 ends the list.
func ngOpt(big bool, code uint16, v []byte) []byte {
	o := order(big)
	b := o.AppendUint16(nil, code)
	b = o.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	return append(b, make([]byte, pad4(len(v)))...)
}

func ngSHB(big bool, opts ...[]byte) []byte {
	o := order(big)
	b := o.AppendUint32(nil, byteOrderMagic)
	b = o.AppendUint16(b, 1)
	b = o.AppendUint16(b, 0)
	b = o.AppendUint64(b, ^uint64(0))
	return ngBlock(big, BlockSHB, append([][]byte{b}, opts...)...)
}

func ngIDB(big bool, link uint16, snap uint32, opts ...[]byte) []byte {
	o := order(big)
	b := o.AppendUint16(nil, link)
	b = o.AppendUint16(b, 0)
	b = o.AppendUint32(b, snap)
	return ngBlock(big, BlockIDB, append([][]byte{b}, opts...)...)
}

func u32s(big bool, v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = order(big).AppendUint32(b, x)
	}
	return b
}

func readRecords(t *testing.T, b []byte, opts ReaderOptions) ([]Record, *Reader, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b), opts)
	if err != nil {
		return nil, nil, err
	}
	var recs []Record
	var out []byte
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return recs, r, err
		}
		out = append(out, rec.Raw...)
		c := *rec
		c.Raw = append([]byte(nil), rec.Raw...)
		c.Data = c.Raw[rec.DataOff : rec.DataOff+len(rec.Data)]
		recs = append(recs, c)
	}
	if !bytes.Equal(out, gunzip(b)) {
		t.Fatalf("concatenated Raw differs from input")
	}
	return recs, r, nil
}

func TestClassicPcap(t *testing.T) {
	for _, tc := range []struct {
		name string
		big  bool
		res  Resolution
	}{
		{"le-micro", false, Micro},
		{"be-micro", true, Micro},
		{"le-nano", false, Nano},
		{"be-nano", true, Nano},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			f := Framing{Format: FormatPcap, BigEndian: tc.big, Resolution: tc.res}
			// snaplen 4 but a 6-byte packet: caplen > snaplen is kept.
			pw, err := NewPacketWriter(&buf, f, 1|0x10000000, 4)
			if err != nil {
				t.Fatal(err)
			}
			ts := []uint64{0, 1_700_000_000*pow10(tc.res) + 123, 5}
			data := [][]byte{{1, 2, 3}, {}, {1, 2, 3, 4, 5, 6}}
			for i := range ts {
				if err := pw.WritePacket(ts[i], uint32(len(data[i])+10), data[i]); err != nil {
					t.Fatal(err)
				}
			}
			pw.Flush()
			recs, r, err := readRecords(t, buf.Bytes(), ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != FormatPcap || r.Gzipped() || r.Framing() != f || r.LinkType() != 1|0x10000000 {
				t.Errorf("format %v gz %v framing %+v link %#x", r.Format(), r.Gzipped(), r.Framing(), r.LinkType())
			}
			if len(recs) != 4 || recs[0].Kind != KindHeader || len(recs[0].Raw) != 24 {
				t.Fatalf("got %d records, first %+v", len(recs), recs[0])
			}
			for i, rec := range recs[1:] {
				if rec.Kind != KindPacket || rec.Timestamp != ts[i] || !bytes.Equal(rec.Data, data[i]) ||
					rec.OrigLen != uint32(len(data[i])+10) || rec.Resolution != tc.res || !rec.HasTime ||
					rec.Index != i+1 || rec.LinkType != 1|0x10000000 {
					t.Errorf("record %d: %+v", i+1, rec)
				}
			}
		})
	}
}

func TestPcapngMultiSection(t *testing.T) {
	var f []byte
	// Section 0, little endian: two interfaces, the second with ns resolution.
	f = append(f, ngSHB(false, ngOpt(false, 4, []byte("test app")), ngOpt(false, 0, nil))...)
	f = append(f, ngIDB(false, 1, 0)...)
	f = append(f, ngIDB(false, 101, 96, ngOpt(false, 2, []byte("eth1")), ngOpt(false, optTsResol, []byte{9}),
		ngOpt(false, optTsOffset, binary.LittleEndian.AppendUint64(nil, 1000)), ngOpt(false, 0, nil))...)
	f = append(f, ngBlock(false, BlockEPB, u32s(false, 1, 0x1234, 0x56789abc, 5, 60), []byte{1, 2, 3, 4, 5})...)
	// NRB and ISB with options, a custom block and an unknown block.
	f = append(f, ngBlock(false, BlockNRB, []byte{1, 0, 8, 0, 10, 0, 0, 1, 'h', 'o', 's', 't', 0, 0, 0, 0, 0, 0, 0, 0})...)
	f = append(f, ngBlock(false, BlockISB, u32s(false, 0, 1, 2), ngOpt(false, 4, make([]byte, 8)), ngOpt(false, 0, nil))...)
	f = append(f, ngBlock(false, 0x00000BAD, u32s(false, 32473), []byte("custom data"))...)
	f = append(f, ngBlock(false, 0x12345678, []byte("unknown"))...)
	// Section 1, big endian: interface with 2^-20 resolution; EPB with
	// options, SPB (snaplen 4 cuts it) and an obsolete PB.
	sec1 := len(f)
	f = append(f, ngSHB(true)...)
	f = append(f, ngIDB(true, 113, 4, ngOpt(true, optTsResol, []byte{0x80 | 20}))...)
	f = append(f, ngBlock(true, BlockEPB, u32s(true, 0, 0, 1<<20, 3, 3), []byte{7, 8, 9}, ngOpt(true, 2, u32s(true, 1)), ngOpt(true, 0, nil))...)
	f = append(f, ngBlock(true, BlockSPB, u32s(true, 10), []byte{1, 2, 3, 4})...)
	f = append(f, ngBlock(true, BlockPB, []byte{0, 0, 0, 7}, u32s(true, 0, 2<<20, 2, 2), []byte{5, 6})...)

	recs, r, err := readRecords(t, f, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind    Kind
		typ     uint32
		section int
		iface   uint32
		link    uint32
		ts      uint64
		res     Resolution
		hasTime bool
		orig    uint32
		data    []byte
		canon   bool
	}{
		{kind: KindBlock, typ: BlockSHB},
		{kind: KindBlock, typ: BlockIDB},
		{kind: KindBlock, typ: BlockIDB},
		{KindPacket, BlockEPB, 0, 1, 101, 0x1234<<32 | 0x56789abc, 9, true, 60, []byte{1, 2, 3, 4, 5}, true},
		{kind: KindBlock, typ: BlockNRB},
		{kind: KindBlock, typ: BlockISB},
		{kind: KindBlock, typ: 0xBAD},
		{kind: KindBlock, typ: 0x12345678},
		{kind: KindBlock, typ: BlockSHB, section: 1},
		{kind: KindBlock, typ: BlockIDB, section: 1},
		{KindPacket, BlockEPB, 1, 0, 113, 1 << 20, 0x80 | 20, true, 3, []byte{7, 8, 9}, false},
		{KindPacket, BlockSPB, 1, 0, 113, 0, 0x80 | 20, false, 10, []byte{1, 2, 3, 4}, true},
		{KindPacket, BlockPB, 1, 0, 113, 2 << 20, 0x80 | 20, true, 2, []byte{5, 6}, false}, // drops count 7
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		g := recs[i]
		if g.Kind != w.kind || g.BlockType != w.typ || g.Section != w.section {
			t.Errorf("record %d: kind %d type %#x section %d, want %d %#x %d", i, g.Kind, g.BlockType, g.Section, w.kind, w.typ, w.section)
		}
		if g.Kind != KindPacket {
			continue
		}
		if g.Interface != w.iface || g.LinkType != w.link || g.Timestamp != w.ts || g.Resolution != w.res ||
			g.HasTime != w.hasTime || g.OrigLen != w.orig || !bytes.Equal(g.Data, w.data) {
			t.Errorf("record %d: %+v", i, g)
		}
		fr := Framing{Format: FormatPcapng, BigEndian: g.Section == 1, Resolution: g.Resolution, BlockType: g.BlockType}
		c := AppendPacketRecord(nil, fr, g.Timestamp, g.Interface, g.OrigLen, g.Data)
		if bytes.Equal(c, g.Raw) != w.canon {
			t.Errorf("record %d: canonical %v, want %v:\n% x\n% x", i, !w.canon, w.canon, c, g.Raw)
		}
	}
	if recs[3].TimeOffset != 1000 {
		t.Errorf("if_tsoffset %d", recs[3].TimeOffset)
	}
	if ns := recs[12].Resolution.TicksToNanos(recs[12].Timestamp); ns != 2e9 {
		t.Errorf("2^-20 ticks: %d ns", ns)
	}
	if fr := r.Framing(); fr != (Framing{Format: FormatPcapng, BigEndian: true, Resolution: 0x80 | 20, BlockType: BlockPB, SnapLen: 4}) {
		t.Errorf("framing %+v", fr)
	}
	if recs[8].Offset != int64(sec1) {
		t.Errorf("section 1 offset %d, want %d", recs[8].Offset, sec1)
	}
}

func TestGzip(t *testing.T) {
	var plain, gz bytes.Buffer
	pw, _ := NewPacketWriter(&plain, Framing{Format: FormatPcapng, Resolution: Nano}, 1, 65535)
	for i := 0; i < 100; i++ {
		pw.WritePacket(uint64(i)*1e9, 60, bytes.Repeat([]byte{byte(i)}, i))
	}
	pw.Flush()
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()
	recs, r, err := readRecords(t, gz.Bytes(), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Gzipped() || r.Format() != FormatPcapng || len(recs) != 102 || recs[101].Timestamp != 99e9 || recs[101].Resolution != Nano {
		t.Errorf("gz %v format %v, %d records", r.Gzipped(), r.Format(), len(recs))
	}
	// A gzip stream cut short is ErrTruncated.
	_, _, err = readRecords(t, gz.Bytes()[:gz.Len()/2], ReaderOptions{KeepTrailing: true})
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("cut gzip: %v", err)
	}
}

func pcapFile(big bool, recs ...[]byte) []byte {
	var buf bytes.Buffer
	pw, _ := NewPacketWriter(&buf, Framing{Format: FormatPcap, BigEndian: big, Resolution: Micro}, 1, 65535)
	for _, r := range recs {
		pw.WritePacket(1e6, uint32(len(r)), r)
	}
	pw.Flush()
	return buf.Bytes()
}

func TestErrors(t *testing.T) {
	good := pcapFile(false, make([]byte, 100), make([]byte, 60))
	ng := append(ngSHB(false), ngIDB(false, 1, 0)...)
	epb := ngBlock(false, BlockEPB, u32s(false, 0, 0, 0, 4, 4), []byte{1, 2, 3, 4})
	bigCap := append(append([]byte(nil), good[:24]...), u32s(false, 0, 0, 1<<31, 1<<31)...)
	badTrail := append(append([]byte(nil), ng...), epb...)
	badTrail[len(badTrail)-4]++
	badBOM := ngSHB(false)
	badBOM[8] = 0
	for _, tc := range []struct {
		name     string
		in       []byte
		keep     bool
		sentinel error // nil: reads fully
		msg      string
		trailer  int // length of the expected trailer record
	}{
		{name: "empty", in: nil, sentinel: ErrTruncated, msg: "empty file"},
		{name: "short magic", in: []byte{0xd4, 0xc3}, sentinel: ErrTruncated},
		{name: "bogus magic", in: []byte("GET / HTTP/1.1\r\n"), sentinel: ErrFormat, msg: "offset 0: unknown magic 47 45 54 20"},
		{name: "header cut", in: good[:20], sentinel: ErrTruncated, msg: "file header: need 24 bytes, have 20"},
		{name: "header cut keep", in: good[:20], keep: true, trailer: 20},
		{name: "record header cut", in: good[:24+10], sentinel: ErrTruncated, msg: "record 1 at offset 24: record header: need 16 bytes, have 10"},
		{name: "cut mid-record", in: good[:24+16+100+16+30], sentinel: ErrTruncated, msg: "record 2 at offset 140: need 76 bytes, have 46"},
		{name: "cut mid-record keep", in: good[:24+16+100+16+30], keep: true, trailer: 46},
		{name: "caplen 2^31", in: bigCap, sentinel: ErrTooLarge, msg: "record 1 at offset 24: caplen 2147483648 exceeds limit"},
		{name: "caplen 2^31 keep", in: bigCap, keep: true, trailer: 16},
		{name: "pcapng block 2^31", in: append(append([]byte(nil), ng...), u32s(false, BlockEPB, 1<<31, 0)...), sentinel: ErrTooLarge, msg: "block length 2147483648"},
		{name: "pcapng trailing length", in: badTrail, sentinel: ErrFormat, msg: "trailing length"},
		{name: "pcapng bad BOM", in: badBOM, sentinel: ErrFormat, msg: "byte-order magic"},
		{name: "pcapng length not 4-aligned", in: append(append([]byte(nil), ng...), u32s(false, 0x99, 13, 0, 13)...), sentinel: ErrFormat, msg: "bad block length 13"},
		{name: "pcapng length too small", in: append(append([]byte(nil), ng...), u32s(false, 0x99, 8, 8)...), sentinel: ErrFormat, msg: "bad block length 8"},
		{name: "pcapng undefined interface", in: append(ngSHB(false), epb...), sentinel: ErrFormat, msg: "undefined interface 0"},
		{name: "pcapng SPB without interface", in: append(ngSHB(false), ngBlock(false, BlockSPB, u32s(false, 0))...), sentinel: ErrFormat},
		{name: "pcapng caplen beyond block", in: append(append([]byte(nil), ng...), ngBlock(false, BlockEPB, u32s(false, 0, 0, 0, 9, 9), []byte{1, 2, 3, 4})...), sentinel: ErrFormat, msg: "caplen 9"},
		{name: "pcapng SPB of 12 bytes", in: append(append([]byte(nil), ng...), ngBlock(false, BlockSPB)...), sentinel: ErrFormat, msg: "simple packet block of 12 bytes"},
		{name: "pcapng short SHB", in: ngBlock(false, BlockSHB, u32s(false, byteOrderMagic)), sentinel: ErrFormat},
		{name: "pcapng cut keep", in: append(append([]byte(nil), ng...), epb[:30]...), keep: true, trailer: 30},
		{name: "pcapng cut", in: append(append([]byte(nil), ng...), epb[:30]...), sentinel: ErrTruncated, msg: "need 36 bytes, have 30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, _, err := readRecords(t, tc.in, ReaderOptions{KeepTrailing: tc.keep})
			if tc.sentinel == nil {
				if err != nil {
					t.Fatal(err)
				}
				last := recs[len(recs)-1]
				if tc.trailer > 0 && (last.Kind != KindTrailer || len(last.Raw) != tc.trailer) {
					t.Errorf("last record %+v, want a trailer of %d bytes", last, tc.trailer)
				}
				return
			}
			if !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want %v containing %q", err, tc.sentinel, tc.msg)
			}
		})
	}
}

// TestTooLargeNoAllocation checks that a 2^31 length is refused without
// allocating anything near it, even with KeepTrailing.
func TestTooLargeNoAllocation(t *testing.T) {
	hdr := pcapFile(false)
	for _, keep := range []bool{false, true} {
		in := append(append([]byte(nil), hdr...), u32s(false, 0, 0, 1<<31-1, 1<<31)...)
		in = append(in, make([]byte, 1000)...)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		r, _ := NewReader(bytes.NewReader(in), ReaderOptions{KeepTrailing: keep})
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
		runtime.ReadMemStats(&m1)
		if d := m1.TotalAlloc - m0.TotalAlloc; d > 4<<20 {
			t.Errorf("keep=%v: allocated %d bytes", keep, d)
		}
	}
}

func TestStickyError(t *testing.T) {
	r, _ := NewReader(bytes.NewReader(pcapFile(false)[:30]), ReaderOptions{})
	r.Next()
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err1 != err2 {
		t.Errorf("errors %v then %v", err1, err2)
	}
}

func TestResolution(t *testing.T) {
	for _, tc := range []struct {
		res   Resolution
		ticks uint64
		ns    int64
	}{
		{Micro, 1_700_000_000_123_456, 1_700_000_000_123_456_000},
		{Nano, 42, 42},
		{3, 5, 5_000_000},
		{0, 2, 2e9},
		{12, 123_456, 123},
		{40, 1 << 62, 0},
		{0x80 | 0, 3, 3e9},
		{0x80 | 10, 1024, 1e9},
		{0x80 | 20, 3 << 19, 1_500_000_000},
		{0x80 | 64, 1 << 63, 5e8},
		{0x80 | 127, 1 << 63, 0},
		{Micro, 1 << 62, 1<<63 - 1}, // saturates
	} {
		if got := tc.res.TicksToNanos(tc.ticks); got != tc.ns {
			t.Errorf("%#x.TicksToNanos(%d) = %d, want %d", tc.res, tc.ticks, got, tc.ns)
		}
	}
	for _, tc := range []struct {
		res   Resolution
		ns    int64
		ticks uint64
	}{
		{Micro, 1_700_000_000_123_456_789, 1_700_000_000_123_456},
		{Nano, 7, 7},
		{12, 5, 5000},
		{0x80 | 10, 1e9, 1024},
		{0x80 | 20, 1_500_000_000, 3 << 19},
		{0x80 | 70, 1e9, 1<<64 - 1},
		{Micro, -5, 0},
		{30, 1e9, 1<<64 - 1},
	} {
		if got := tc.res.NanosToTicks(tc.ns); got != tc.ticks {
			t.Errorf("%#x.NanosToTicks(%d) = %d, want %d", tc.res, tc.ns, got, tc.ticks)
		}
	}
}

func TestPacketWriterPcapng(t *testing.T) {
	for _, big := range []bool{false, true} {
		for _, bt := range []uint32{BlockEPB, BlockSPB, BlockPB} {
			var buf bytes.Buffer
			pw, err := NewPacketWriter(&buf, Framing{Format: FormatPcapng, BigEndian: big, BlockType: bt, Resolution: 0x80 | 16}, 228, 1500)
			if err != nil {
				t.Fatal(err)
			}
			// SPB data is min(origLen, snaplen) bytes: padding would count as data.
			orig := uint32(99)
			if bt == BlockSPB {
				orig = 5
			}
			pw.WritePacket(65536*7, orig, []byte("hello"))
			pw.Flush()
			recs, r, err := readRecords(t, buf.Bytes(), ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p := recs[2]
			if len(recs) != 3 || p.BlockType != bt || string(p.Data) != "hello" || p.OrigLen != orig || p.LinkType != 228 ||
				p.Resolution != 0x80|16 || (bt != BlockSPB && p.Resolution.TicksToNanos(p.Timestamp) != 7e9) {
				t.Errorf("big=%v type %d: %+v", big, bt, p)
			}
			if r.Framing() != pw.Framing() {
				t.Errorf("framing %+v, writer %+v", r.Framing(), pw.Framing())
			}
		}
	}
	if _, err := NewPacketWriter(io.Discard, Framing{Format: FormatPcap, Resolution: 3}, 1, 0); !errors.Is(err, ErrFormat) {
		t.Errorf("pcap with resolution 3: %v", err)
	}
}
