package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestProgressDrawsRateAndETA: on a terminal the bar shows percent, rate
// and ETA; reading through it counts bytes.
func TestProgressDrawsRateAndETA(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, on: true, what: "classify", unit: "B", total: 4 << 20, start: time.Now().Add(-2 * time.Second)}
	r := p.reader(bytes.NewReader(make([]byte, 2<<20)))
	if _, err := r.Read(make([]byte, 2<<20)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"classify [", "50%", "B/s", "ETA 2s"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar %q lacks %q", out, want)
		}
	}
	buf.Reset()
	p.finish()
	if !strings.HasPrefix(buf.String(), "\r") || strings.TrimSpace(buf.String()) != "" {
		t.Errorf("finish: %q", buf.String())
	}
}

// TestProgressQuietInPipes: stderr that is a pipe or a buffer gets no bar,
// from newProgress as from the stage callback of eval generate.
func TestProgressQuietInPipes(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	for _, sink := range []interface{ Write([]byte) (int, error) }{w, &buf} {
		p := newProgress(sink, "verify", "files", 10)
		p.add(5, "x")
		p.finish()
		st := stageProgress(sink)
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
}
