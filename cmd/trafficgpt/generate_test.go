package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/train"
)

// tinyModelDir saves a random tiny model as a model directory.
func tinyModelDir(t *testing.T) string {
	t.Helper()
	cfg, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(filepath.Join(dir, "model.safetensors"), nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGenerateCLI(t *testing.T) {
	mdir := tinyModelDir(t)
	dir := t.TempDir()
	out, tgt := filepath.Join(dir, "gen.pcap"), filepath.Join(dir, "gen.tgt")
	code, stdout, stderr := run(t, "generate", "--model", mdir, "-n", "6", "-o", out, "--max-packets", "4",
		"--top-k", "50", "--seed", "3", "--batch", "4", "--tokens", tgt)
	if code != 0 {
		t.Fatalf("generate: %d %s", code, stderr)
	}
	if !strings.Contains(stdout, "6 flows") {
		t.Errorf("summary: %s", stdout)
	}
	// Same seed, same capture.
	out2 := filepath.Join(dir, "gen2.pcap")
	if code, _, stderr := run(t, "generate", "--model", mdir, "-n", "6", "-o", out2, "--max-packets", "4",
		"--top-k", "50", "--seed", "3", "--batch", "4"); code != 0 {
		t.Fatalf("generate: %d %s", code, stderr)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(out2)
	if !bytes.Equal(a, b) {
		t.Error("same seed gave different captures")
	}
	if code, _, stderr := run(t, "verify", out); code != 0 {
		t.Errorf("verify: %d %s", code, stderr)
	}
	back := filepath.Join(dir, "back.pcap")
	if code, _, stderr := run(t, "detokenize", tgt, "-o", back); code != 0 {
		t.Fatalf("detokenize: %d %s", code, stderr)
	}
	if c, _ := os.ReadFile(back); !bytes.Equal(a, c) {
		t.Error("--tokens archive does not rebuild the capture")
	}
}

func TestGenerateCLIErrors(t *testing.T) {
	mdir := tinyModelDir(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "gen.pcap")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-n", "2", "-o", out}, exitUsage, "--model"},
		{[]string{"--model", mdir, "-n", "0", "-o", out}, exitUsage, "at least one flow"},
		{[]string{"--model", mdir, "-o", out, "--top-p", "2"}, exitUsage, "top-p"},
		{[]string{"--model", mdir, "-o", out, "--label", "dns"}, exitFailure, "no class labels"},
		{[]string{"--model", filepath.Join(dir, "missing"), "-o", out}, exitFailure, "missing"},
		{[]string{"--model", mdir, "-o", out, "--validate", "yes"}, exitUsage, "--validate must be"},
		{[]string{"--model", mdir, "-o", out, "--invalid", "fix"}, exitUsage, "--invalid must be"},
		{[]string{"--model", mdir, "-o", out, "--validate-retries", "-1"}, exitUsage, "--validate-retries"},
	} {
		code, _, stderr := run(t, append([]string{"generate"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed run left an output file")
	}
}

func TestGenerateCLIPrompt(t *testing.T) {
	in := filepath.Join(demoDataDir, "dns.pcap")
	mdir := tinyModelDir(t)
	out := filepath.Join(t.TempDir(), "gen.pcap")
	code, stdout, stderr := run(t, "generate", "--model", mdir, "-n", "3", "-o", out, "--prompt", in,
		"--prompt-packets", "2", "--max-packets", "4", "--seed", "1")
	if code != 0 {
		t.Fatalf("generate: %d %s", code, stderr)
	}
	t.Log(stdout)
	if code, _, stderr := run(t, "verify", out); code != 0 {
		t.Errorf("verify: %d %s", code, stderr)
	}
}

// TestGenerateCLILabel: --label maps a name through the manifest of the
// dataset named in the model's metadata to its label token.
func TestGenerateCLILabel(t *testing.T) {
	gen := demoDataDir
	dir := t.TempDir()
	ds := filepath.Join(dir, "ds")
	if code, _, stderr := run(t, "dataset", "build", "-o", ds, "--labels", "file", "--label-tokens",
		"--split", "train=1", filepath.Join(gen, "dns.pcap"), filepath.Join(gen, "mqtt.pcap")); code != 0 {
		t.Fatalf("dataset build: %d %s", code, stderr)
	}
	d, err := dataset.Open(ds)
	if err != nil {
		t.Fatal(err)
	}
	labels, hash := d.Manifest().Labels, d.Manifest().Hash()
	d.Close()
	cfg, _ := model.Preset("tiny")
	m, err := model.New(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	mfile := filepath.Join(dir, "m.safetensors")
	if err := m.Save(mfile, map[string]string{train.MetaDatasetPath: ds, train.MetaDatasetHash: hash}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "gen.pcap")
	if slices.Index(labels, "mqtt") < 0 {
		t.Fatalf("labels %v", labels)
	}
	if code, _, stderr := run(t, "generate", "--model", mfile, "-n", "2", "-o", out, "--label", "mqtt",
		"--max-packets", "2"); code != 0 {
		t.Fatalf("generate: %d %s", code, stderr)
	}
	code, _, stderr := run(t, "generate", "--model", mfile, "-n", "2", "-o", out, "--label", "nope")
	if code != exitUsage || !strings.Contains(stderr, "mqtt") {
		t.Errorf("unknown label: %d %s", code, stderr)
	}
	// --no-copy model indexes the model's dataset and reports what it did.
	code, stdout, stderr := run(t, "generate", "--model", mfile, "-n", "2", "-o", out, "--label", "mqtt",
		"--max-packets", "2", "--no-copy", "model")
	if code != 0 || !strings.Contains(stderr, "64-byte windows") || !strings.Contains(stdout, "--no-copy:") {
		t.Errorf("--no-copy model: %d %s %s", code, stdout, stderr)
	}
}

// TestGenerateCLIValidate: --validate decode and tshark run, report their
// counts on stderr, and give the same capture as no validation when
// nothing is rejected (a random model under the rules writes valid
// headers; tshark here rejects flows only by their payloads).
func TestGenerateCLIValidate(t *testing.T) {
	mdir := tinyModelDir(t)
	dir := t.TempDir()
	args := []string{"generate", "--model", mdir, "-n", "6", "--max-packets", "4", "--seed", "5", "--batch", "3"}
	plain := filepath.Join(dir, "plain.pcap")
	if code, _, stderr := run(t, append(args, "-o", plain)...); code != 0 {
		t.Fatalf("generate: %d %s", code, stderr)
	}
	modes := []string{"decode"}
	if _, err := exec.LookPath("tshark"); err == nil {
		modes = append(modes, "tshark")
	}
	for _, mode := range modes {
		out := filepath.Join(dir, mode+".pcap")
		code, _, stderr := run(t, append(args, "-o", out, "--validate", mode, "--invalid", "drop")...)
		if code != 0 {
			t.Fatalf("--validate %s: %d %s", mode, code, stderr)
		}
		if !strings.Contains(stderr, "--validate "+mode+": 0 packets sampled again") {
			t.Errorf("--validate %s: stderr %q", mode, stderr)
		}
		if code, _, stderr := run(t, "verify", out); code != 0 {
			t.Errorf("verify: %d %s", code, stderr)
		}
		if mode == "decode" {
			a, _ := os.ReadFile(plain)
			b, _ := os.ReadFile(out)
			if !bytes.Equal(a, b) {
				t.Error("--validate decode that rejected nothing changed the capture")
			}
		}
	}
}
