package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// exampleFixtures are the files each command's --help example reads, made
// once by exampleSetup; an example runs in a fresh directory holding only
// copies of these (and testdata, the repository's), so its outputs never
// collide and an example that changes a fixture (calibrate adds to clf)
// changes only its own copy.
var exampleFixtures = map[string][]string{
	"calibrate":     {"clf", "ds"},
	"split":         {"captures"},
	"classify":      {"clf", "capture.pcapng"},
	"dataset stats": {"ds"},
	"detokenize":    {"capture.tgt"},
	"eval classify": {"clf", "ds"},
	"eval generate": {"gen.pcap"},
	"eval suite":    {"model"},
	"finetune":      {"pre", "ds"},
	"generate":      {"model"},
	"pretrain":      {"ds"},
	"tokenize":      {"capture.pcapng"},
}

// exampleOf is the runnable part of a command's help example: its first
// line up to an alternative ("   |   ...") or a comment ("   (...").
var exampleCut = regexp.MustCompile(`\s{3,}[|(]`)

func exampleOf(t *testing.T, name string) string {
	t.Helper()
	_, out, _ := run(t, append(strings.Fields(name), "--help")...)
	_, ex, ok := strings.Cut(out, "\nexample:\n  ")
	if !ok {
		t.Fatalf("%s: no example", name)
	}
	ex, _, _ = strings.Cut(ex, "\n")
	if loc := exampleCut.FindStringIndex(ex); loc != nil {
		ex = ex[:loc[0]]
	}
	return strings.TrimSpace(ex)
}

// toPcapng rewrites a classic pcap as pcapng (same packets and times).
func toPcapng(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := pcap.ReadPackets(bytes.NewReader(b))
	if err != nil || len(recs) == 0 {
		t.Fatalf("%s: %d packets, %v", src, len(recs), err)
	}
	var out bytes.Buffer
	if err := pcap.WritePackets(&out, pcap.Framing{Format: pcap.FormatPcapng, Resolution: pcap.Micro}, recs[0].LinkType, 65535, recs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// exampleSetup makes the fixtures in dir with the commands themselves
// (in-process): a pcapng capture and its archive, a small labelled
// dataset, a tiny pre-trained model and a classifier fine-tuned from it.
func exampleSetup(t *testing.T, dir string) {
	t.Helper()
	demo, _ := filepath.Abs("../../testdata/demo")
	toPcapng(t, filepath.Join(demo, "dns.pcap"), filepath.Join(dir, "capture.pcapng"))
	b, _ := os.ReadFile(filepath.Join(demo, "mqtt.pcap"))
	os.WriteFile(filepath.Join(dir, "gen.pcap"), b, 0o644)
	os.Mkdir(filepath.Join(dir, "captures"), 0o755)
	for _, name := range []string{"dns.pcap", "mqtt.pcap", "redis.pcap"} {
		b, _ := os.ReadFile(filepath.Join(demo, name))
		os.WriteFile(filepath.Join(dir, "captures", name), b, 0o644)
	}
	p := func(s string) string { return filepath.Join(dir, s) }
	for _, args := range [][]string{
		{"tokenize", p("capture.pcapng"), "-o", p("capture.tgt")},
		{"dataset", "build", "-o", p("ds"), "--labels", "file", "--group", "flow", "--split", "train=0.6,valid=0.2,test=0.2",
			"--mask", "addr+ports", "--max-tokens", "512", filepath.Join(demo, "dns.pcap"), filepath.Join(demo, "mqtt.pcap"), filepath.Join(demo, "redis.pcap")},
		{"pretrain", "--data", p("ds"), "-o", p("model"), "--config", "tiny", "--steps", "10", "--ctx", "128", "--batch", "4"},
		{"finetune", "--model", p("model"), "--data", p("ds"), "-o", p("clf"), "--len", "64", "--epochs", "1"},
	} {
		if code, _, e := run(t, args...); code != 0 {
			t.Fatalf("setup %q: exit %d\n%s", args, code, e)
		}
	}
	if err := os.Symlink(p("model"), p("pre")); err != nil {
		t.Fatal(err)
	}
}

// TestHelpExamplesRun runs every command's --help example as written, with
// bash and a trafficgpt binary built from this package on PATH, each in its
// own directory beside the repository's testdata (and the fixtures it
// names). Alternatives after "   |   " (live capture on an interface) are
// documented, not run. The demo, bench and suite examples take about a
// minute each: the test is skipped with -short.
func TestHelpExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: builds the binary and runs demo --quick, bench --quick, eval suite --quick")
	}
	for _, tool := range []string{"bash", "go", "tcpdump"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s absent", tool)
		}
	}
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "trafficgpt"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fix := filepath.Join(root, "fixtures")
	os.Mkdir(fix, 0o755)
	exampleSetup(t, fix)
	testdata, _ := filepath.Abs("../../testdata")
	for name := range commands {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			ex := exampleOf(t, name)
			if !strings.Contains(ex, "trafficgpt "+name) {
				t.Fatalf("example %q does not run trafficgpt %s", ex, name)
			}
			dir := filepath.Join(root, "run-"+strings.ReplaceAll(name, " ", "-"))
			os.Mkdir(dir, 0o755)
			os.Symlink(testdata, filepath.Join(dir, "testdata"))
			for _, f := range exampleFixtures[name] {
				copyFixture(t, filepath.Join(fix, f), filepath.Join(dir, f))
			}
			cmd := exec.Command("bash", "-o", "pipefail", "-c", ex)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s\n%v\nstdout:\n%s\nstderr:\n%s", ex, err, tail(out.String()), tail(errb.String()))
			}
			t.Logf("%s: ok, %d bytes of output", ex, out.Len())
		})
	}
	// The README's pipe, with tcpdump reading a file instead of -i any:
	// classify rows come out of a pipe, with flow ids and Community IDs.
	t.Run("readme_pipe", func(t *testing.T) {
		ex := "tcpdump -r testdata/demo/dns.pcap -w - | trafficgpt classify --model clf --format csv -"
		cmd := exec.Command("bash", "-o", "pipefail", "-c", ex)
		cmd.Dir = fix
		os.Symlink(testdata, filepath.Join(fix, "testdata"))
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.Output()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err != nil || len(lines) < 50 || !strings.Contains(lines[0], "community_id") || !strings.Contains(lines[1], ",1:") {
			t.Fatalf("%s: %v, %d lines:\n%s", ex, err, len(lines), tail(string(out)))
		}
	})
}

// copyFixture copies a fixture file or folder (following a symlink).
func copyFixture(t *testing.T, src, dst string) {
	t.Helper()
	src, err := filepath.EvalSymlinks(src)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		err = os.CopyFS(dst, os.DirFS(src))
	} else {
		var b []byte
		if b, err = os.ReadFile(src); err == nil {
			err = os.WriteFile(dst, b, 0o644)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}
