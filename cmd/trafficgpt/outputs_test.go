package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestTokenizeOutputs: -o over the input is refused, -o - streams the
// archive to stdout (the summary goes to stderr), a FIFO stays a FIFO.
func TestTokenizeOutputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	capture := pcapFile(5)
	os.WriteFile(in, capture, 0o600)
	os.Symlink("in.pcap", filepath.Join(dir, "alias"))

	for _, out := range []string{in, filepath.Join(dir, "alias")} {
		code, _, e := run(t, "tokenize", in, "-o", out)
		if code != exitFailure || !strings.Contains(e, "one of the inputs") || !strings.Contains(e, out) {
			t.Errorf("-o %s: exit %d, %q", out, code, e)
		}
	}
	if b, _ := os.ReadFile(in); !bytes.Equal(b, capture) {
		t.Fatal("input overwritten")
	}

	code, arc, e := run(t, "tokenize", in, "-o", "-")
	if code != 0 || !strings.Contains(e, "5 packets") || len(arc) < 16 {
		t.Fatalf("-o -: exit %d, %d bytes on stdout, stderr %q", code, len(arc), e)
	}
	a := filepath.Join(dir, "a.tgt")
	os.WriteFile(a, []byte(arc), 0o644)
	back := filepath.Join(dir, "back.pcap")
	if code, _, e := run(t, "detokenize", a, "-o", back); code != 0 {
		t.Fatalf("detokenize of the stdout archive: %d %s", code, e)
	}
	if b, _ := os.ReadFile(back); !bytes.Equal(b, capture) {
		t.Fatal("archive written to stdout does not round-trip")
	}

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	got := make(chan []byte)
	go func() { b, _ := os.ReadFile(fifo); got <- b }()
	if code, _, e := run(t, "tokenize", in, "-o", fifo); code != 0 {
		t.Fatalf("-o fifo: %d %s", code, e)
	}
	if b := <-got; string(b) != arc {
		t.Fatalf("FIFO reader got %d bytes, want %d", len(b), len(arc))
	}
	if fi, _ := os.Lstat(fifo); fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("FIFO replaced by %v", fi.Mode())
	}
}
