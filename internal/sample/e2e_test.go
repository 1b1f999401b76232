package sample

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

func tinyModel(t testing.TB, seed uint64) *model.Model {
	t.Helper()
	cfg, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// generatePcap samples n flows from m and writes them as one pcap.
func generatePcap(t testing.TB, m *model.Model, n int, o Options, wo WriteOptions) ([]byte, Stats, []*Flow) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, n, wo)
	if err != nil {
		t.Fatal(err)
	}
	var flows []*Flow
	st, err := Generate(context.Background(), m, n, o, func(f *Flow) error {
		flows = append(flows, f)
		return w.AddFlow(f)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), st, flows
}

func TestRandomModelEndToEnd(t *testing.T) {
	m := tinyModel(t, 1)
	o := Options{Sampling: Sampling{Temperature: 1}, Seed: 7, Batch: 4, MaxPackets: 6, Label: -1}
	pcapBytes, st, flows := generatePcap(t, m, 12, o, WriteOptions{Seed: 7})
	t.Logf("stats %+v", st)
	if len(flows) != 12 {
		t.Fatalf("%d flows", len(flows))
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "gen.pcap")
	if err := os.WriteFile(p, pcapBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile("/tmp/gen/e2e.pcap", pcapBytes, 0o644)
	// Lossless round trip of the written capture.
	var tgt, back bytes.Buffer
	if _, err := codec.Tokenize(context.Background(), bytes.NewReader(pcapBytes), &tgt, codec.TokenizeOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := codec.Detokenize(context.Background(), &tgt, &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Bytes(), pcapBytes) {
		t.Fatal("tokenize/detokenize round trip differs")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	out, err := exec.Command("tshark", "-n", "-r", p, "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-o", "ip.check_checksum:TRUE", "-T", "fields", "-e", "frame.protocols", "-e", "_ws.expert.message").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	t.Logf("tshark:\n%s", out)
	if strings.Contains(string(out), "alformed") || strings.Contains(strings.ToLower(string(out)), "checksum") {
		t.Errorf("tshark expert info")
	}
}
