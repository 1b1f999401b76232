package pcap

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/devdata"
)

// devDir holds the shared real captures (see its README.md and
// internal/devdata).
var devDir = devdata.Dir()

// readAll reads every record of b and returns the concatenated Raw bytes,
// the packet count and how many packets AppendPacketRecord reproduces.
func readAll(b []byte, opts ReaderOptions) (out []byte, packets, canonical int, err error) {
	r, err := NewReader(bytes.NewReader(b), opts)
	if err != nil {
		return nil, 0, 0, err
	}
	var tmp []byte
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out, packets, canonical, nil
		}
		if err != nil {
			return out, packets, canonical, err
		}
		out = append(out, rec.Raw...)
		if rec.Kind == KindPacket {
			packets++
			tmp = AppendPacketRecord(tmp[:0], r.Framing(), rec.Timestamp, rec.Interface, rec.OrigLen, rec.Data)
			if bytes.Equal(tmp, rec.Raw) {
				canonical++
			}
		}
	}
}

// gunzip returns b decompressed (gzip, xz, zstd), or b itself.
func gunzip(b []byte) []byte {
	zr, c, err := Decompress(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		return nil
	}
	if c == NoCompression {
		return b
	}
	out, _ := io.ReadAll(zr)
	return out
}

func devFiles(t testing.TB) []string {
	devdata.Path(t)
	var files []string
	filepath.WalkDir(devDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	return files
}

// TestDevRoundTrip reads every file of dev-v1 that sniffs as a capture:
// with KeepTrailing the concatenated Raw must equal the (decompressed)
// input, or the reader must return one of its sentinel errors.
func TestDevRoundTrip(t *testing.T) {
	files := devFiles(t)
	var nCap, nOK, nErr, nTrail int
	canon := map[string][2]int{} // top folder -> packets, canonical
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewReader(bytes.NewReader(b), ReaderOptions{}); err != nil {
			if strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".gz") {
				t.Logf("%s: not read: %v", p, err)
			}
			continue
		}
		nCap++
		in := gunzip(b)
		out, pk, cn, err := readAll(b, ReaderOptions{KeepTrailing: true})
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) {
				t.Errorf("%s: error wraps no sentinel: %v", p, err)
			}
			t.Logf("%s: %v", p, err)
			nErr++
			continue
		}
		if !bytes.Equal(out, in) {
			t.Errorf("%s: concatenated Raw (%d bytes) differs from input (%d bytes)", p, len(out), len(in))
			continue
		}
		if _, _, _, err := readAll(b, ReaderOptions{}); err != nil {
			nTrail++
		}
		nOK++
		rel, _ := filepath.Rel(devDir, p)
		top := strings.SplitN(rel, string(filepath.Separator), 2)[0]
		c := canon[top]
		canon[top] = [2]int{c[0] + pk, c[1] + cn}
	}
	t.Logf("%d captures: %d round-trip (%d of them need KeepTrailing), %d rejected with an error", nCap, nOK, nTrail, nErr)
	for top, c := range canon {
		t.Logf("%s: AppendPacketRecord == Raw for %d of %d packets (%.2f%%)", top, c[1], c[0], 100*float64(c[1])/float64(max(c[0], 1)))
	}
	for _, top := range []string{"ndpi", "generated"} {
		if c := canon[top]; c[0] > 0 && float64(c[1]) < 0.95*float64(c[0]) {
			t.Errorf("%s: only %d of %d packet records are canonical", top, c[1], c[0])
		}
	}
}

// TestPacketWriterReproducesTcpdump rewrites the generated captures (made by
// tcpdump) packet by packet with PacketWriter: the output must be identical.
func TestPacketWriterReproducesTcpdump(t *testing.T) {
	demo := filepath.Join("..", "..", "testdata", "demo")
	for _, name := range []string{"dns.pcap", "mqtt.pcap", "ssh.pcap"} {
		t.Run("demo/"+name, func(t *testing.T) { testPacketWriterReproduces(t, filepath.Join(demo, name)) })
	}
	for _, name := range []string{"dns.pcap", "mqtt.pcap"} {
		t.Run("dev-v1/"+name, func(t *testing.T) { testPacketWriterReproduces(t, devdata.Path(t, "generated", name)) })
	}
}

func testPacketWriterReproduces(t *testing.T, path string) {
	name := filepath.Base(path)
	{
		in, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(bytes.NewReader(in), ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		hdr, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		snap := r.u32(hdr.Raw[16:])
		recs, err := ReadPackets(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := WritePackets(&out, r.Framing(), r.LinkType(), snap, recs); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), in) {
			t.Errorf("%s: PacketWriter output differs from tcpdump's", name)
		}
	}
}
