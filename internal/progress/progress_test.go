package progress

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDrawsRateAndETA: on a terminal the bar shows percent, rate and ETA;
// reading through it counts bytes.
func TestDrawsRateAndETA(t *testing.T) {
	var buf bytes.Buffer
	p := &Bar{w: &buf, on: true, what: "classify", unit: "B", total: 4 << 20, start: time.Now().Add(-2 * time.Second)}
	r := p.Reader(bytes.NewReader(make([]byte, 2<<20)))
	if _, err := r.Read(make([]byte, 2<<20)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"classify [", "50%", "B/s", "ETA 2s"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar %q lacks %q", out, want)
		}
	}
	if p.Done() != 2<<20 || p.Total() != 4<<20 {
		t.Errorf("done %v total %v", p.Done(), p.Total())
	}
	buf.Reset()
	p.Finish()
	if !strings.HasPrefix(buf.String(), "\r") || strings.TrimSpace(buf.String()) != "" {
		t.Errorf("finish: %q", buf.String())
	}
}

// TestQuietInPipes: a pipe or a buffer gets no bar, from New as from the
// Stages callback; a nil bar does nothing.
func TestQuietInPipes(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	for _, sink := range []interface{ Write([]byte) (int, error) }{w, &buf} {
		p := New(sink, "verify", "files", 10)
		p.Add(5, "x")
		p.Set(7, "")
		p.Finish()
		st := Stages(sink, func(string) string { return "files" })
		st("read real", 1, 2)
		st("read real", 2, 2)
		st("discriminator", 1, 5)
	}
	w.Close()
	var got bytes.Buffer
	got.ReadFrom(r)
	if got.Len() != 0 || buf.Len() != 0 {
		t.Errorf("progress wrote %q to a pipe, %q to a buffer", got.String(), buf.String())
	}
	var nilBar *Bar
	nilBar.Add(1, "")
	nilBar.Set(1, "")
	nilBar.Finish()
	if rr := nilBar.Reader(&buf); rr != &buf {
		t.Error("a nil bar's Reader is not its reader")
	}
}

func TestUnits(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{512, "B", "512 B"},
		{2048, "B", "2.0 kB"},
		{3 << 20, "B", "3.0 MB"},
		{5 << 30, "B", "5.00 GB"},
		{12, "flows", "12 flows"},
		{1500, "steps", "1.5k steps"},
		{2.5e6, "tokens", "2.50M tokens"},
	} {
		if got := Units(c.v, c.unit); got != c.want {
			t.Errorf("Units(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}

func TestFileBytes(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	os.WriteFile(a, make([]byte, 100), 0o644)
	if got := FileBytes([]string{a, "-", filepath.Join(dir, "missing"), dir}); got != 100 {
		t.Errorf("FileBytes = %v, want 100", got)
	}
}
