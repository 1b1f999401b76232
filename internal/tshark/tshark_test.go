package tshark

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/devdata"
)

// udpFrame is an Ethernet/IPv4/UDP frame with correct checksums.
func udpFrame(sport, dport uint16, payload []byte, badCsum bool) []byte {
	f := make([]byte, 14+20+8+len(payload))
	f[12], f[13] = 0x08, 0x00
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], ^sum16(ip, 0))
	u := f[34:]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	copy(u[8:], payload)
	pseudo := append(append([]byte{}, ip[12:20]...), 0, 17, byte((8+len(payload))>>8), byte(8+len(payload)))
	c := ^sum16(u, sum32(pseudo))
	if badCsum {
		c ^= 0x5a5a
	}
	binary.BigEndian.PutUint16(u[6:], c)
	return f
}

func sum32(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func sum16(b []byte, s uint32) uint16 {
	s += sum32(b)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// classicPcap writes frames as a classic pcap (microseconds, Ethernet).
func classicPcap(frames [][]byte) []byte {
	var b bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	b.Write(hdr)
	for i, f := range frames {
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[0:], uint32(1000+i))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(f)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(f)))
		b.Write(rec)
		b.Write(f)
	}
	return b.Bytes()
}

// TestRun: tshark judges each packet in order: a clean DNS query, a DNS
// message cut inside its header (malformed), a UDP checksum error, and
// plain data on an unassigned port (clean).
func TestRun(t *testing.T) {
	devdata.LookPath(t, "tshark")
	query := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 0, 0, 1, 0, 1}
	frames := [][]byte{
		udpFrame(40000, 53, query, false),
		udpFrame(40001, 53, []byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 3, 'w', 'w'}, false),
		udpFrame(40002, 40003, []byte("hello"), true),
		udpFrame(40004, 40005, []byte("hello"), false),
	}
	var got []Verdict
	err := Run(context.Background(), func(w io.Writer) error {
		_, err := w.Write(classicPcap(frames))
		return err
	}, func(v Verdict) { got = append(got, v) })
	if err != nil {
		t.Fatal(err)
	}
	want := []Verdict{{}, {Error: true, Malformed: true}, {Error: true, Checksum: true}, {}}
	if len(got) != len(want) {
		t.Fatalf("%d verdicts, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("packet %d: %+v, want %+v", i, got[i], want[i])
		}
		if got[i].Clean() != (want[i] == Verdict{}) {
			t.Errorf("packet %d: Clean %v", i, got[i].Clean())
		}
	}
}

// TestRunErrors: a stream tshark cannot read is an error naming tshark; a
// failing writer's error comes back after the packets it wrote.
func TestRunErrors(t *testing.T) {
	devdata.LookPath(t, "tshark")
	err := Run(context.Background(), func(w io.Writer) error {
		_, err := w.Write([]byte("this is not a capture at all, not even close"))
		return err
	}, func(Verdict) {})
	if err == nil {
		t.Fatal("garbage input: no error")
	}
	boom := errors.New("boom")
	n := 0
	err = Run(context.Background(), func(w io.Writer) error {
		if _, err := w.Write(classicPcap([][]byte{udpFrame(40000, 40001, []byte("x"), false)})); err != nil {
			return err
		}
		return boom
	}, func(Verdict) { n++ })
	if !errors.Is(err, boom) || n != 1 {
		t.Fatalf("writer error: %v after %d packets, want boom after 1", err, n)
	}
}
