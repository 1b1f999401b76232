package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/evalgen"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden reports under testdata/golden")

// goldenEvalDemo is the fixed comparison of the golden test: three demo
// classes as "real", four as "generated", two as training data, tshark off
// (its verdicts depend on the installed version).
func goldenEvalDemo() evalGenerateOptions {
	d := filepath.Join("..", "..", "testdata", "demo")
	p := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(d, n))
		}
		return out
	}
	return evalGenerateOptions{Options: evalgen.Options{
		Real:      p("dns.pcap", "http.pcap", "mqtt.pcap"),
		Generated: p("https.pcap", "redis.pcap", "ssh.pcap", "dns.pcap"),
		Train:     p("dns.pcap", "mqtt.pcap"),
		Seeds:     3, Trees: 30, MaxFlows: 300, Tshark: "off", Workers: 2,
	}}
}

// TestEvalGenerateGolden: the JSON report on fixed inputs is byte for byte
// the committed one (run with -update to accept a deliberate change).
func TestEvalGenerateGolden(t *testing.T) {
	golden := filepath.Join("..", "..", "testdata", "golden", "eval-generate-demo.json")
	opts := goldenEvalDemo()
	opts.JSON = filepath.Join(t.TempDir(), "report.json")
	var out, errOut bytes.Buffer
	if err := runEvalGenerate(context.Background(), opts, &out, &errOut); err != nil {
		t.Fatalf("runEvalGenerate: %v\n%s", err, errOut.String())
	}
	got, err := os.ReadFile(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report differs from %s:\n got: %s\nwant: %s", golden, got, want)
	}
}
