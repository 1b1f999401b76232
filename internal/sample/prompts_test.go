package sample

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
)

// TestReadPrompts: prompts are the first k packets of the first n flows,
// without their end, with the label token after <flow> when asked; a
// capture with no usable flow is an error.
func TestReadPrompts(t *testing.T) {
	open := func() *os.File {
		f, err := os.Open(filepath.Join(demoData, "dns.pcap"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	ps, skipped, err := ReadPrompts(context.Background(), open(), 2, 5, -1, flow.DefaultConfig())
	if err != nil || len(ps) != 5 || skipped != 0 {
		t.Fatalf("%d prompts, %d skipped, %v", len(ps), skipped, err)
	}
	for i, p := range ps {
		if p[0] != codec.FLOW || p[len(p)-1] == codec.END || p[len(p)-1] == codec.CUT {
			t.Errorf("prompt %d: starts %d ends %d", i, p[0], p[len(p)-1])
		}
	}
	labelled, _, err := ReadPrompts(context.Background(), open(), 2, 1, 3, flow.DefaultConfig())
	if err != nil || labelled[0][1] != codec.Label0+3 || len(labelled[0]) != len(ps[0])+1 {
		t.Errorf("labelled prompt: %v, %v", labelled, err)
	}
	if _, _, err := ReadPrompts(context.Background(), strings.NewReader("not a capture"), 2, 1, -1, flow.DefaultConfig()); err == nil {
		t.Error("not a capture: no error")
	}
}
