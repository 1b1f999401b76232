package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// TestVerifyReadsPipesOnce: verify of "-" (a pipe) and of a FIFO path (what
// /dev/stdin is in a shell pipe) reads its input once and finds it
// byte-identical; before, the second open saw an empty pipe and reported a
// truncation.
func TestVerifyReadsPipesOnce(t *testing.T) {
	data, err := os.ReadFile(demoDNS)
	if err != nil {
		t.Fatal(err)
	}
	var code int
	var out, e string
	withStdin(t, data, func() { code, out, e = run(t, "verify", "-") })
	if code != 0 || !strings.Contains(out, "1 files byte-identical") {
		t.Fatalf("verify -: %d\n%s%s", code, out, e)
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		w.Write(data)
		w.Close()
	}()
	code, out, e = run(t, "verify", fifo)
	if code != 0 || !strings.Contains(out, "1 files byte-identical") {
		t.Fatalf("verify FIFO: %d\n%s%s", code, out, e)
	}
}

// TestTokenizePipeline: tokenize - -o - | detokenize - -o - gives the
// capture back, the summaries going to stderr.
func TestTokenizePipeline(t *testing.T) {
	data, err := os.ReadFile(demoDNS)
	if err != nil {
		t.Fatal(err)
	}
	var code int
	var arc, e string
	withStdin(t, data, func() { code, arc, e = run(t, "tokenize", "-", "-o", "-") })
	if code != 0 || !strings.HasPrefix(arc, "TGTA") || !strings.Contains(e, "100 flows") {
		t.Fatalf("tokenize: %d %q... %s", code, arc[:min(len(arc), 8)], e)
	}
	var back string
	withStdin(t, []byte(arc), func() { code, back, e = run(t, "detokenize", "-", "-o", "-") })
	if code != 0 || !bytes.Equal([]byte(back), data) {
		t.Fatalf("detokenize: %d, %d bytes back of %d: %s", code, len(back), len(data), e)
	}
}

// TestEvalGenerateFromPipe: one side of eval generate may be "-" (read
// once into a temporary file, as the evaluation reads captures twice).
func TestEvalGenerateFromPipe(t *testing.T) {
	data, err := os.ReadFile("../../testdata/demo/mqtt.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var code int
	var out, e string
	withStdin(t, data, func() {
		code, out, e = run(t, "eval", "generate", "--real", demoDNS, "--generated", "-", "--seeds", "1", "--trees", "5", "--tshark", "off")
	})
	if code != 0 || !regexp.MustCompile(`flows\s+100\s+141`).MatchString(out) {
		t.Fatalf("eval generate --generated -: exit %d\n%s%s", code, out, e)
	}
	if code, _, e := run(t, "eval", "generate", "--real", "-", "--generated", "-"); code != exitUsage || !strings.Contains(e, "named 2 times") {
		t.Errorf("- twice: exit %d %s", code, e)
	}
}

// TestGenerateStdoutWithTokensRefused: -o - cannot be tokenized again.
func TestGenerateStdoutWithTokensRefused(t *testing.T) {
	if code, out, e := run(t, "generate", "--model", "m", "-o", "-", "--tokens", "g.tgt"); code != exitUsage || out != "" || !strings.Contains(e, "--tokens") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, e)
	}
}
