package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
)

// TestPretrainCLI pre-trains tiny briefly on two dev captures, resumes, and
// checks that bad input stops before any work with a clear message.
func TestPretrainCLI(t *testing.T) {
	gen := demoDataDir
	dir := t.TempDir()
	ds := filepath.Join(dir, "ds")
	if code, _, e := run(t, "dataset", "build", "-o", ds, "--group", "flow", "--split", "train=0.9,valid=0.1",
		filepath.Join(gen, "dns.pcap"), filepath.Join(gen, "mqtt.pcap")); code != 0 {
		t.Fatalf("dataset build: %d %s", code, e)
	}
	mdir := filepath.Join(dir, "m")
	base := []string{"pretrain", "--data", ds, "-o", mdir, "--config", "tiny", "--ctx", "64", "--batch", "2",
		"--eval-every", "10", "--eval-batches", "2", "--save-every", "10"}
	code, out, e := run(t, append(base, "--steps", "20")...)
	if code != 0 {
		t.Fatalf("pretrain: %d %s", code, e)
	}
	for _, want := range []string{"step 20 of 20", "train loss", "valid loss", "header", "payload", "time", "structure", "of sgemm"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"model.safetensors", "trainer.state", "config.json", "train.jsonl", "loss.png"} {
		if _, err := os.Stat(filepath.Join(mdir, f)); err != nil {
			t.Error(err)
		}
	}
	// --resume with a larger --steps continues from the checkpoint.
	code, out, e = run(t, "pretrain", "--data", ds, "-o", mdir, "--resume", "--steps", "25")
	if code != 0 || !strings.Contains(out, "step 25 of 25 (this run from step 20)") {
		t.Fatalf("resume: %d\n%s\n%s", code, out, e)
	}

	otherCodec := filepath.Join(dir, "old")
	os.MkdirAll(otherCodec, 0o755)
	man, _ := os.ReadFile(filepath.Join(ds, "manifest.json"))
	v := strconv.Itoa(codec.Version)
	old := strings.Replace(strings.Replace(string(man), `"codec_version": `+v, `"codec_version": 999`, 1),
		`"codec_version":`+v, `"codec_version":999`, 1)
	os.WriteFile(filepath.Join(otherCodec, "manifest.json"), []byte(old), 0o644)

	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no output", []string{"pretrain", "--data", ds}, exitUsage, "need --data DIR and -o MODEL"},
		{"missing data", []string{"pretrain", "--data", filepath.Join(dir, "nope"), "-o", filepath.Join(dir, "x")}, exitFailure, "not a dataset directory"},
		{"other codec", []string{"pretrain", "--data", otherCodec, "-o", filepath.Join(dir, "x")}, exitFailure, "codec version"},
		{"other config", []string{"pretrain", "--data", ds, "-o", mdir, "--resume", "--config", "small"}, exitFailure, "another model config"},
		{"over a run", append(base, "--steps", "30"), exitFailure, "--resume"},
		{"resume nothing", []string{"pretrain", "--data", ds, "-o", filepath.Join(dir, "y"), "--resume"}, exitFailure, "does not exist"},
		{"context beyond memory", []string{"pretrain", "--data", ds, "-o", filepath.Join(dir, "z"), "--ctx", "100000000"}, exitFailure, "lower --ctx"},
		{"bad config", []string{"pretrain", "--data", ds, "-o", filepath.Join(dir, "z"), "--config", "huge"}, exitUsage, "not a preset"},
		{"bad lr", []string{"pretrain", "--data", ds, "-o", filepath.Join(dir, "z"), "--lr", "-1"}, exitUsage, "lr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, e := run(t, tc.args...)
			if code != tc.code || !strings.Contains(e, tc.msg) {
				t.Errorf("exit %d, want %d; stderr %q, want %q", code, tc.code, e, tc.msg)
			}
		})
	}
	for _, d := range []string{"x", "y", "z"} {
		if _, err := os.Stat(filepath.Join(dir, d)); err == nil {
			t.Errorf("a failed run created %s", d)
		}
	}
}
