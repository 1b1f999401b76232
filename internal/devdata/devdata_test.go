package devdata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDir: the default location is ../shared/data/dev-v1 beside the module
// root, from any package folder; the environment variable overrides it.
func TestDir(t *testing.T) {
	t.Setenv(EnvDir, "")
	want := filepath.Join("..", "..", "..", "shared", "data", "dev-v1")
	if got := Dir(); got != want {
		t.Errorf("Dir() = %q, want %q (from internal/devdata)", got, want)
	}
	t.Setenv(EnvDir, "/x/y")
	if got := Dir(); got != "/x/y" {
		t.Errorf("Dir() with %s set = %q", EnvDir, got)
	}
}

// TestPathMissing: a missing path skips without CI and fails with it.
func TestPathMissing(t *testing.T) {
	t.Setenv(EnvDir, t.TempDir())
	for _, ci := range []string{"", "1"} {
		t.Setenv("CI", ci)
		r := &recorder{TB: t}
		func() {
			defer func() { recover() }() // Skipf/Fatalf end the call via runtime.Goexit in real tests; the recorder panics instead
			Path(r, "no", "such.pcap")
		}()
		if ci == "" && (!r.skipped || r.failed) {
			t.Errorf("CI unset: skipped %v failed %v, want a skip", r.skipped, r.failed)
		}
		if ci != "" && (!r.failed || r.skipped) {
			t.Errorf("CI set: skipped %v failed %v, want a failure", r.skipped, r.failed)
		}
		if !strings.Contains(r.msg, "such.pcap") && ci != "" {
			t.Errorf("failure message %q does not name the path", r.msg)
		}
	}
	// An existing path comes back joined.
	dir := os.Getenv(EnvDir)
	if err := os.WriteFile(filepath.Join(dir, "a.pcap"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Path(t, "a.pcap"); got != filepath.Join(dir, "a.pcap") {
		t.Errorf("Path = %q", got)
	}
}

// recorder notes Skipf and Fatalf instead of ending the test.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = true
	panic("skip")
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = format
	if len(args) > 0 {
		if s, ok := args[0].(string); ok {
			r.msg = s
		}
	}
	panic("fatal")
}
