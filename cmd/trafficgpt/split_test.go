package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSplitCLI(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	code, out, stderr := run(t, "split", "-a", a, "-b", b, "--seed", "2", filepath.Join(demoDataDir, "dns.pcap"))
	if code != 0 || !strings.Contains(out, "1 files") {
		t.Fatalf("split: %d %s %s", code, out, stderr)
	}
	if code, _, stderr := run(t, "verify", "-q", a, b); code != 0 {
		t.Errorf("verify the halves: %d %s", code, stderr)
	}
	for _, args := range [][]string{
		{"split", "-a", a, filepath.Join(demoDataDir, "dns.pcap")},
		{"split", "-a", a, "-b", a, filepath.Join(demoDataDir, "dns.pcap")},
		{"split", "-a", a, "-b", b, "--frac", "1", filepath.Join(demoDataDir, "dns.pcap")},
		{"split", "-a", a, "-b", b},
	} {
		if code, _, _ := run(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want a usage error", args, code)
		}
	}
}
