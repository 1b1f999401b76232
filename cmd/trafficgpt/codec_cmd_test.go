package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/devdata"
)

// pcapFile builds a small classic pcap with n Ethernet/IPv4/UDP packets.
func pcapFile(n int) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 1)
	for i := 0; i < n; i++ {
		pkt := []byte{
			0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,
			0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
			0x30, 0x39, 0, 53, 0, 12, 0, 0, 'a', 'b', 'c', byte(i),
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(1000+i))
		b = binary.LittleEndian.AppendUint32(b, uint32(i*1000))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
		b = append(b, pkt...)
	}
	return b
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMain(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTokenizeRoundTripCLI(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	os.WriteFile(in, pcapFile(5), 0o644)
	arc, back := filepath.Join(dir, "a.tgt"), filepath.Join(dir, "back.pcap")
	if code, _, e := run(t, "tokenize", in, "-o", arc); code != 0 {
		t.Fatalf("tokenize: %d %s", code, e)
	}
	if code, _, e := run(t, "detokenize", arc, "-o", back); code != 0 {
		t.Fatalf("detokenize: %d %s", code, e)
	}
	a, _ := os.ReadFile(in)
	b, _ := os.ReadFile(back)
	if !bytes.Equal(a, b) {
		t.Fatal("round trip through files differs")
	}
	if code, out, _ := run(t, "verify", in); code != 0 || !strings.Contains(out, "1 files byte-identical") {
		t.Fatalf("verify: %d\n%s", code, out)
	}
	if code, out, _ := run(t, "flows", "--format", "csv", in); code != 0 || strings.Count(out, "\n") != 2 {
		t.Fatalf("flows csv: %d\n%s", code, out)
	}
}

// TestBadCaptures: broken inputs give a clear error naming the problem and
// leave no output file behind.
func TestBadCaptures(t *testing.T) {
	good := pcapFile(3)
	huge := append([]byte(nil), good[:24]...)
	huge = binary.LittleEndian.AppendUint32(huge, 1)
	huge = binary.LittleEndian.AppendUint32(huge, 0)
	huge = binary.LittleEndian.AppendUint32(huge, 1<<31)
	huge = binary.LittleEndian.AppendUint32(huge, 1<<31)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"bogus-magic", []byte("this is not a capture file at all"), "magic"},
		{"cut-in-header", good[:10], "truncated"},
		{"cut-mid-record", good[:len(good)-7], "truncated"},
		{"record-2^31", huge, "too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.pcap")
			os.WriteFile(in, c.data, 0o644)
			out := filepath.Join(dir, "out.tgt")
			code, _, e := run(t, "tokenize", in, "-o", out)
			if code == 0 || !strings.Contains(e, c.want) || !strings.Contains(e, "in.pcap") {
				t.Errorf("tokenize: exit %d, stderr %q; want an error naming the file and %q", code, e, c.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("tokenize left files behind: %v", ents)
			}
			code, o, _ := run(t, "verify", in)
			if code == 0 || !strings.Contains(o, "ERROR") {
				t.Errorf("verify: exit %d, output %q", code, o)
			}
		})
	}
	// A file cut mid-record round-trips with --keep-trailing.
	dir := t.TempDir()
	in := filepath.Join(dir, "cut.pcap")
	os.WriteFile(in, good[:len(good)-7], 0o644)
	if code, o, _ := run(t, "verify", "--keep-trailing", in); code != 0 {
		t.Errorf("verify --keep-trailing on a cut file: exit %d\n%s", code, o)
	}
	// A corrupt archive: clear error, no output.
	arc := filepath.Join(dir, "bad.tgt")
	os.WriteFile(arc, []byte("TGTA\x01\x01\x00P\x05"), 0o644)
	code, _, e := run(t, "detokenize", arc, "-o", filepath.Join(dir, "x.pcap"))
	if code == 0 || !strings.Contains(e, "bad archive") {
		t.Errorf("detokenize of a corrupt archive: exit %d, %q", code, e)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.pcap")); err == nil {
		t.Error("detokenize left an output file")
	}
}

// TestVerifyCorpus: every capture of testdata/demo round-trips (exit 0);
// every readable capture of dev-v1 (extended) round-trips and the
// unreadable ones are reported with file and reason.
func TestVerifyCorpus(t *testing.T) {
	t.Run("demo", func(t *testing.T) {
		code, out, stderr := run(t, "verify", "-q", demoDataDir)
		if code != 0 || strings.Contains(out, "MISMATCH") || strings.Contains(out, "ERROR") {
			t.Errorf("verify testdata/demo: exit %d\n%s\n%s", code, out, stderr)
		}
	})
	t.Run("dev-v1", testVerifyDevCorpus)
}

func testVerifyDevCorpus(t *testing.T) {
	devData := devdata.Path(t)
	code, out, _ := run(t, "verify", "-q", devData)
	if strings.Contains(out, "MISMATCH") {
		t.Fatalf("mismatches:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "ERROR") && !strings.Contains(line, "offset") {
			t.Errorf("error without a position: %s", line)
		}
	}
	t.Logf("exit %d\n%s", code, out)
}
