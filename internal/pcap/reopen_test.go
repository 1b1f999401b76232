package pcap

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReopenable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.pcap")
	os.WriteFile(file, []byte("capture"), 0o644)
	// A regular file is itself.
	p, cleanup, err := Reopenable(file, nil)
	if err != nil || p != file {
		t.Fatalf("file: %q %v", p, err)
	}
	cleanup()
	// Standard input becomes a temporary copy, removed by cleanup.
	p, cleanup, err = Reopenable(Stdin, strings.NewReader("from stdin"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "from stdin" {
		t.Errorf("stdin copy %q", b)
	}
	cleanup()
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s", p)
	}
	// A FIFO is read once into a copy.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			f.WriteString("from a fifo")
			f.Close()
		}
	}()
	p, cleanup, err = Reopenable(fifo, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if b, _ := os.ReadFile(p); p == fifo || string(b) != "from a fifo" {
		t.Errorf("fifo copy %s: %q", p, b)
	}
	// A missing file is an error.
	if _, _, err := Reopenable(filepath.Join(dir, "missing"), nil); err == nil {
		t.Error("missing file accepted")
	}
}

func TestReopenStdin(t *testing.T) {
	a, b := []string{"x.pcap", Stdin}, []string{"y.pcap"}
	cleanup, err := ReopenStdin(strings.NewReader("piped"), &a, &b)
	if err != nil {
		t.Fatal(err)
	}
	if a[0] != "x.pcap" || a[1] == Stdin || b[0] != "y.pcap" {
		t.Errorf("lists %v %v", a, b)
	}
	if got, _ := os.ReadFile(a[1]); string(got) != "piped" {
		t.Errorf("copy %q", got)
	}
	cleanup()
	if _, err := os.Stat(a[1]); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s", a[1])
	}
	c, d := []string{Stdin}, []string{Stdin}
	if _, err := ReopenStdin(strings.NewReader(""), &c, &d); !errors.Is(err, ErrStdinTwice) || err.Error() != "standard input (-) named 2 times" {
		t.Errorf("stdin twice: %v", err)
	}
}
