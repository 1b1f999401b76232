package pcap

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os/exec"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// compressors make each supported compression of a byte slice; the
// command-line tools (xz, zstd, gzip, as a shell pipeline would use them)
// are tried too when installed.
var compressors = []struct {
	c    Compression
	lib  func([]byte) []byte
	tool []string
}{
	{Gzip, func(b []byte) []byte {
		var out bytes.Buffer
		w := gzip.NewWriter(&out)
		w.Write(b)
		w.Close()
		return out.Bytes()
	}, []string{"gzip", "-c"}},
	{XZ, func(b []byte) []byte {
		var out bytes.Buffer
		w, _ := xz.NewWriter(&out)
		w.Write(b)
		w.Close()
		return out.Bytes()
	}, []string{"xz", "-c"}},
	{Zstd, func(b []byte) []byte {
		var out bytes.Buffer
		w, _ := zstd.NewWriter(&out)
		w.Write(b)
		w.Close()
		return out.Bytes()
	}, []string{"zstd", "-c", "-q"}},
}

// TestCompressedInputs: gzip, xz and zstd captures read as the plain file
// does, record for record; a stream cut short is ErrTruncated, a corrupt
// one ErrFormat or ErrTruncated, never a silent success.
func TestCompressedInputs(t *testing.T) {
	var plain bytes.Buffer
	pw, _ := NewPacketWriter(&plain, Framing{Format: FormatPcapng, Resolution: Nano}, 1, 65535)
	for i := 0; i < 300; i++ {
		pw.WritePacket(uint64(i)*1e9, 60, bytes.Repeat([]byte{byte(i), byte(i * 7)}, i%200))
	}
	pw.Flush()
	want, _, err := readRecords(t, plain.Bytes(), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range compressors {
		inputs := map[string][]byte{"library": cm.lib(plain.Bytes())}
		if _, err := exec.LookPath(cm.tool[0]); err == nil {
			cmd := exec.Command(cm.tool[0], cm.tool[1:]...)
			cmd.Stdin = bytes.NewReader(plain.Bytes())
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %v", cm.tool, err)
			}
			inputs[cm.tool[0]+" tool"] = out
		}
		for how, z := range inputs {
			t.Run(cm.c.String()+" "+how, func(t *testing.T) {
				got, r, err := readRecords(t, z, ReaderOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if r.Compression() != cm.c || r.Gzipped() != (cm.c == Gzip) || len(got) != len(want) {
					t.Fatalf("compression %v, %d records, want %v, %d", r.Compression(), len(got), cm.c, len(want))
				}
				for i := range want {
					if !bytes.Equal(got[i].Raw, want[i].Raw) || got[i].Timestamp != want[i].Timestamp {
						t.Fatalf("record %d differs", i)
					}
				}
				if !LooksLikeCapture(z[:4]) {
					t.Error("LooksLikeCapture is false")
				}
				if _, _, err := readRecords(t, z[:len(z)/2], ReaderOptions{KeepTrailing: true}); !errors.Is(err, ErrTruncated) {
					t.Errorf("cut stream: %v, want ErrTruncated", err)
				}
				bad := append([]byte(nil), z...)
				for i := len(bad) / 3; i < len(bad)/3+16; i++ {
					bad[i] ^= 0x5a
				}
				if _, _, err := readRecords(t, bad, ReaderOptions{KeepTrailing: true}); !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTruncated) {
					t.Errorf("corrupt stream: %v, want ErrFormat or ErrTruncated", err)
				}
			})
		}
	}
}
