package main

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

// TestTokenizeOutputs: -o over the input is refused, -o - streams the
// archive to stdout (the summary goes to stderr), a FIFO stays a FIFO.
func TestTokenizeOutputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	capture := pcapFile(5)
	os.WriteFile(in, capture, 0o600)
	os.Symlink("in.pcap", filepath.Join(dir, "alias"))

	for _, out := range []string{in, filepath.Join(dir, "alias")} {
		code, _, e := run(t, "tokenize", in, "-o", out)
		if code != exitFailure || !strings.Contains(e, "one of the inputs") || !strings.Contains(e, out) {
			t.Errorf("-o %s: exit %d, %q", out, code, e)
		}
	}
	if b, _ := os.ReadFile(in); !bytes.Equal(b, capture) {
		t.Fatal("input overwritten")
	}

	code, arc, e := run(t, "tokenize", in, "-o", "-")
	if code != 0 || !strings.Contains(e, "5 packets") || len(arc) < 16 {
		t.Fatalf("-o -: exit %d, %d bytes on stdout, stderr %q", code, len(arc), e)
	}
	a := filepath.Join(dir, "a.tgt")
	os.WriteFile(a, []byte(arc), 0o644)
	back := filepath.Join(dir, "back.pcap")
	if code, _, e := run(t, "detokenize", a, "-o", back); code != 0 {
		t.Fatalf("detokenize of the stdout archive: %d %s", code, e)
	}
	if b, _ := os.ReadFile(back); !bytes.Equal(b, capture) {
		t.Fatal("archive written to stdout does not round-trip")
	}

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	got := make(chan []byte)
	go func() { b, _ := os.ReadFile(fifo); got <- b }()
	if code, _, e := run(t, "tokenize", in, "-o", fifo); code != 0 {
		t.Fatalf("-o fifo: %d %s", code, e)
	}
	if b := <-got; string(b) != arc {
		t.Fatalf("FIFO reader got %d bytes, want %d", len(b), len(arc))
	}
	if fi, _ := os.Lstat(fifo); fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("FIFO replaced by %v", fi.Mode())
	}
}

// TestInputsAccounted: every input is accounted for, with the exit codes of
// exitcode.go: non-captures named and counted, partial results exit 4,
// nothing-read and empty results exit 1, cut captures suggest
// --keep-trailing, a CSV never holds rows of a file that failed, and a
// report that cannot be written to stdout fails.
func TestInputsAccounted(t *testing.T) {
	dir := t.TempDir()
	good := pcapFile(5)
	folder := filepath.Join(dir, "d")
	os.MkdirAll(folder, 0o755)
	os.WriteFile(filepath.Join(folder, "ok.pcap"), good, 0o644)
	os.WriteFile(filepath.Join(folder, "empty.pcap"), nil, 0o644)
	os.WriteFile(filepath.Join(folder, "garbled.pcap"), []byte("\x13\x37 not a capture, but named like one"), 0o644)
	os.WriteFile(filepath.Join(folder, "README.md"), []byte("# notes\n"), 0o644)
	cut := filepath.Join(dir, "cut.pcap")
	os.WriteFile(cut, good[:len(good)-10], 0o644)
	headerOnly := filepath.Join(dir, "header.pcap")
	os.WriteFile(headerOnly, good[:24], 0o644)
	flat := filepath.Join(dir, "flat")
	os.MkdirAll(flat, 0o755)
	os.WriteFile(filepath.Join(flat, "a.pcap"), good, 0o644)
	bad := filepath.Join(folder, "garbled.pcap")
	okFile := filepath.Join(folder, "ok.pcap")

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string // substrings
		stderr []string
	}{
		{"verify: a folder with broken captures and a README", []string{"verify", folder}, exitUnreadable,
			[]string{"2 unreadable", "1 not captures", "README.md", "ERROR    " + bad}, []string{"2 of 3 input files"}},
		{"verify: nothing readable", []string{"verify", bad, filepath.Join(folder, "empty.pcap")}, exitFailure, nil, []string{"none of the 2"}},
		{"verify: only a header, no packets", []string{"verify", headerOnly}, exitFailure, []string{"without packets"}, []string{"no packets"}},
		{"verify: cut capture suggests --keep-trailing", []string{"verify", cut}, exitFailure, []string{"--keep-trailing"}, nil},
		{"verify --keep-trailing reads it", []string{"verify", "--keep-trailing", cut}, exitOK, []string{"1 files byte-identical"}, nil},
		{"flows: csv with an unreadable file", []string{"flows", "--format", "csv", okFile, bad}, exitUnreadable,
			[]string{"file,"}, []string{bad, "none of its flows", "1 of 2 input files"}},
		{"flows: cut capture", []string{"flows", "--format", "csv", okFile, cut}, exitUnreadable, nil, []string{"--keep-trailing"}},
		{"flows: no flows at all", []string{"flows", headerOnly}, exitFailure, nil, []string{"no flows"}},
		{"dataset build: flat folder with --labels dir", []string{"dataset", "build", "-o", filepath.Join(dir, "ds1"), "--labels", "dir", flat}, exitFailure,
			nil, []string{"no class", "INPUT/<label>"}},
		{"dataset build: only unreadable files", []string{"dataset", "build", "-o", filepath.Join(dir, "ds2"), bad}, exitFailure,
			nil, []string{"none of the 1 input files could be read", "skipping"}},
		{"dataset build: one unreadable of two", []string{"dataset", "build", "-o", filepath.Join(dir, "ds3"), "--group", "flow",
			"--split", "train=1", okFile, bad}, exitUnreadable, []string{"1 skipped"}, []string{"1 of 2 input files"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, e := run(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, tc.code, out, e)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(e, s) {
					t.Errorf("stderr lacks %q:\n%s", s, e)
				}
			}
			if tc.args[0] == "flows" {
				for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
					if i > 0 && (strings.Count(line, ",") != strings.Count(strings.Split(out, "\n")[0], ",") || !strings.Contains(line, ","+okFile+",")) {
						t.Errorf("row %d is cut or not from %s: %q", i, okFile, line)
					}
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "ds1")); !os.IsNotExist(err) {
		t.Error("a failed build left its directory")
	}

	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer full.Close()
	var errb bytes.Buffer
	if code := runMain(t.Context(), []string{"verify", okFile}, full, &errb); code != exitFailure || !strings.Contains(errb.String(), "standard output") {
		t.Fatalf("verify > /dev/full: exit %d, %s", code, errb.String())
	}
}

// TestSecondInterrupt: the first SIGINT asks the command to stop cleanly;
// a second one is not swallowed while the command is busy (here blocked
// reading a pipe that never ends): it ends the process at once.
func TestSecondInterrupt(t *testing.T) {
	if os.Getenv("TRAFFICGPT_MAIN_CHILD") != "" {
		os.Args = []string{"trafficgpt", "flows", "-"}
		main()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondInterrupt$")
	cmd.Env = append(os.Environ(), "TRAFFICGPT_MAIN_CHILD=1")
	stdinW, err := cmd.StdinPipe() // kept open: the child blocks reading it
	if err != nil {
		t.Fatal(err)
	}
	defer stdinW.Close()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(500 * time.Millisecond) // let it reach the read
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		t.Logf("ended after the first signal: %v", err) // fine too: it stopped cleanly
		return
	case <-time.After(time.Second):
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != -1 {
			t.Fatalf("second interrupt: %v (want killed by the signal)", err)
		}
		if !strings.Contains(errb.String(), "once more to quit") {
			t.Errorf("no notice after the first signal: %q", errb.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("second interrupt swallowed: still running 10s later")
	}
}
