package atomicfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.bin")
	f, err := Create(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("partial"))
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("target exists before commit: %v", err)
	}
	f.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("abort left %d files", len(ents))
	}
	if err := WriteFile(p, []byte("whole")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "whole" {
		t.Fatalf("got %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("%d files after commit, want 1", len(ents))
	}
}

// TestTargets writes "new" through Create to each kind of output and checks
// what is left at the path and where the bytes went.
func TestTargets(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the output path
		check func(t *testing.T, dir, out string)
	}{
		{"new file gets 0666 minus umask", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "a.tgt")
		}, func(t *testing.T, dir, out string) {
			wantFile(t, out, "new", 0o640)
		}},
		{"replaced file keeps its mode", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "a.tgt")
			must(t, os.WriteFile(p, []byte("old"), 0o600))
			must(t, os.Chmod(p, 0o604)) // a bit the umask would clear
			return p
		}, func(t *testing.T, dir, out string) {
			wantFile(t, out, "new", 0o604)
		}},
		{"symlink kept, target replaced", func(t *testing.T, dir string) string {
			must(t, os.Mkdir(filepath.Join(dir, "real"), 0o755))
			must(t, os.WriteFile(filepath.Join(dir, "real", "t"), []byte("old"), 0o600))
			must(t, os.Symlink("real/t", filepath.Join(dir, "link")))
			return filepath.Join(dir, "link")
		}, func(t *testing.T, dir, out string) {
			if fi, err := os.Lstat(out); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				t.Fatalf("link replaced: %v %v", fi.Mode(), err)
			}
			wantFile(t, filepath.Join(dir, "real", "t"), "new", 0o600)
			if ents, _ := os.ReadDir(filepath.Join(dir, "real")); len(ents) != 1 {
				t.Fatalf("%d files next to the target", len(ents))
			}
		}},
		{"dangling symlink creates its target", func(t *testing.T, dir string) string {
			must(t, os.Symlink("missing", filepath.Join(dir, "link")))
			return filepath.Join(dir, "link")
		}, func(t *testing.T, dir, out string) {
			wantFile(t, filepath.Join(dir, "missing"), "new", 0o640)
		}},
		{"FIFO written in place, streaming", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "fifo")
			must(t, syscall.Mkfifo(p, 0o600))
			got := make(chan string, 1)
			go func() {
				b, _ := os.ReadFile(p)
				got <- string(b)
			}()
			t.Cleanup(func() {
				select {
				case s := <-got:
					if s != "new" {
						t.Errorf("FIFO reader got %q", s)
					}
				case <-time.After(5 * time.Second):
					t.Error("FIFO reader got nothing")
				}
			})
			return p
		}, func(t *testing.T, dir, out string) {
			if fi, _ := os.Lstat(out); fi.Mode()&fs.ModeNamedPipe == 0 {
				t.Fatalf("FIFO replaced by %v", fi.Mode())
			}
		}},
		{"device written in place", func(t *testing.T, dir string) string {
			return "/dev/null"
		}, func(t *testing.T, dir, out string) {
			if fi, _ := os.Lstat(out); fi.Mode()&fs.ModeCharDevice == 0 {
				t.Fatalf("/dev/null replaced by %v", fi.Mode())
			}
		}},
		{"device node made by mknod (as root)", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "n")
			if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
				t.Skipf("mknod: %v", err)
			}
			return p
		}, func(t *testing.T, dir, out string) {
			if fi, _ := os.Lstat(out); fi.Mode()&fs.ModeCharDevice == 0 {
				t.Fatalf("device replaced by %v", fi.Mode())
			}
		}},
		{"symlink to a device", func(t *testing.T, dir string) string {
			must(t, os.Symlink("/dev/null", filepath.Join(dir, "null")))
			return filepath.Join(dir, "null")
		}, func(t *testing.T, dir, out string) {
			if fi, _ := os.Stat(out); fi.Mode()&fs.ModeCharDevice == 0 {
				t.Fatalf("device replaced by %v", fi.Mode())
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := tc.setup(t, dir)
			f, err := Create(out, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Abort()
			if _, err := f.Write([]byte("new")); err != nil {
				t.Fatal(err)
			}
			if err := f.Commit(); err != nil {
				t.Fatal(err)
			}
			tc.check(t, dir, out)
		})
	}
}

func TestStdout(t *testing.T) {
	var buf bytes.Buffer
	f, err := Create("-", Options{Stdout: &buf, Inputs: []string{"-"}})
	if err != nil {
		t.Fatal(err)
	}
	if !f.IsStdout() || !f.InPlace() {
		t.Fatal("- is not stdout in place")
	}
	f.Write([]byte("streamed"))
	if buf.String() != "streamed" { // before Commit: nothing is held back
		t.Fatalf("stdout has %q before commit", buf.String())
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestRefusesInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "x.pcap")
	must(t, os.WriteFile(in, []byte("capture"), 0o644))
	must(t, os.Symlink("x.pcap", filepath.Join(dir, "sym")))
	must(t, os.Link(in, filepath.Join(dir, "hard")))
	for _, out := range []string{in, filepath.Join(dir, ".", "x.pcap"), filepath.Join(dir, "sym"), filepath.Join(dir, "hard")} {
		_, err := Create(out, Options{Inputs: []string{"-", in}})
		if !errors.Is(err, ErrIsInput) || !strings.Contains(err.Error(), out) {
			t.Errorf("%s: err %v, want ErrIsInput naming it", out, err)
		}
		if err := CheckNotInput(out, in); !errors.Is(err, ErrIsInput) {
			t.Errorf("CheckNotInput(%s): %v", out, err)
		}
	}
	if b, _ := os.ReadFile(in); string(b) != "capture" {
		t.Fatalf("input changed to %q", b)
	}
	if _, err := Create(filepath.Join(dir, "y"), Options{Inputs: []string{in}}); err != nil {
		t.Fatalf("a different output refused: %v", err)
	}
}

// TestErrorsNameUserPath: a failing write or rename names the path the user
// gave, not ".x.tmp-...".
func TestErrorsNameUserPath(t *testing.T) {
	f, err := Create("/dev/full", Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write([]byte("x"))
	if err == nil || !strings.Contains(err.Error(), "/dev/full") {
		t.Fatalf("write to /dev/full: %v", err)
	}
	f.Abort()

	dir := t.TempDir()
	out := filepath.Join(dir, "d")
	must(t, os.Mkdir(out, 0o755))
	must(t, os.WriteFile(filepath.Join(out, "f"), nil, 0o644))
	if _, err := Create(out, Options{}); err == nil || !strings.Contains(err.Error(), out) {
		t.Fatalf("directory as output: %v", err)
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		must(t, os.Mkdir(ro, 0o555))
		_, err := Create(filepath.Join(ro, "x.tgt"), Options{})
		if err == nil || strings.Contains(err.Error(), ".tmp-") || !strings.Contains(err.Error(), filepath.Join(ro, "x.tgt")) {
			t.Fatalf("read-only directory: %v", err)
		}
	}
}

// TestCleanStale kills a writer with SIGKILL mid-write (a child process
// running this test binary) and checks the next Create of the same name
// removes its temporary file and folder, but not a live writer's.
func TestCleanStale(t *testing.T) {
	if dir := os.Getenv("ATOMICFILE_CHILD"); dir != "" {
		f, err := Create(filepath.Join(dir, "x.tgt"), Options{})
		if err != nil {
			os.Exit(3)
		}
		f.Write([]byte("half"))
		d, err := TempDir(filepath.Join(dir, "ds"))
		if err != nil {
			os.Exit(3)
		}
		os.WriteFile(filepath.Join(d.Path(), "shard"), []byte("half"), 0o644)
		os.Stdout.WriteString("ready\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCleanStale$")
	cmd.Env = append(os.Environ(), "ATOMICFILE_CHILD="+dir)
	out, _ := cmd.StdoutPipe()
	must(t, cmd.Start())
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil || string(buf) != "ready\n" {
		cmd.Process.Kill()
		t.Fatalf("child: %q %v", buf, err)
	}
	// A live writer of the same name, in this process.
	live, err := Create(filepath.Join(dir, "x.tgt"), Options{})
	must(t, err)
	defer live.Abort()
	must(t, cmd.Process.Kill())
	cmd.Wait()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Fatalf("before cleaning: %d entries, want 3 (two temp files, one temp dir)", len(ents))
	}
	past := time.Now().Add(-time.Minute)
	for _, e := range ents {
		os.Chtimes(filepath.Join(dir, e.Name()), past, past)
	}
	// Someone else's hidden file with a similar name stays.
	must(t, os.WriteFile(filepath.Join(dir, ".x.tgt.tmp-notours"), nil, 0o644))
	f, err := Create(filepath.Join(dir, "x.tgt"), Options{})
	must(t, err)
	f.Abort()
	d, err := TempDir(filepath.Join(dir, "ds"))
	must(t, err)
	d.Abort()
	var names []string
	ents, _ = os.ReadDir(dir)
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("after cleaning: %v, want the live writer's temp file and .x.tgt.tmp-notours", names)
	}
	if err := live.Commit(); err != nil {
		t.Fatalf("live writer's file was removed: %v", err)
	}
}

func TestTempDir(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "ds")
	must(t, os.Mkdir(target, 0o755)) // an empty folder may be replaced
	d, err := TempDir(target)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(d.Path(), "manifest.json"), []byte("{}"), 0o644))
	if _, err := os.Stat(filepath.Join(target, "manifest.json")); err == nil {
		t.Fatal("visible before commit")
	}
	must(t, d.Commit())
	if _, err := os.Stat(filepath.Join(target, "manifest.json")); err != nil {
		t.Fatal(err)
	}
	d, err = TempDir(target) // not empty now: Commit must fail and leave it
	must(t, err)
	if err := d.Commit(); err == nil {
		t.Fatal("replaced a non-empty folder")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("%d entries left", len(ents))
	}
}

func wantFile(t *testing.T, p, content string, perm fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != perm {
		t.Errorf("%s: mode %v, want regular %v", p, fi.Mode(), perm)
	}
	if b, _ := os.ReadFile(p); string(b) != content {
		t.Errorf("%s: %q, want %q", p, b, content)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestStaged: committed rows reach the writer, discarded ones never do,
// also past the in-memory limit (spilled to a temporary file).
func TestStaged(t *testing.T) {
	for _, limit := range []int{8 << 20, 4} {
		s := NewStaged()
		s.limit = limit
		var out bytes.Buffer
		s.Write([]byte("a,1\n"))
		s.Write([]byte("b,2\n"))
		if err := s.Commit(&out); err != nil {
			t.Fatal(err)
		}
		s.Write([]byte("lost\n"))
		s.Discard()
		s.Write([]byte("c,3\n"))
		if err := s.Commit(&out); err != nil {
			t.Fatal(err)
		}
		if got := out.String(); got != "a,1\nb,2\nc,3\n" {
			t.Errorf("limit %d: got %q", limit, got)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	v := map[string]int{"flows": 3}
	const want = "{\n  \"flows\": 3\n}\n"
	var out bytes.Buffer
	if err := WriteJSON("", v, &out); err != nil || out.Len() != 0 {
		t.Fatalf("\"\": %v, wrote %q", err, out.String())
	}
	if err := WriteJSON(Stdout, v, &out); err != nil || out.String() != want {
		t.Fatalf("-: %v, wrote %q", err, out.String())
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := WriteJSON(path, v, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Errorf("file: %q", b)
	}
}
