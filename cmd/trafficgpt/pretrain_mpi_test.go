package main

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/dist"
	"github.com/trafficgpt/trafficgpt/internal/train"
)

// TestPretrainMPI checks data-parallel pre-training under mpirun against one
// process with the same global batch and seed: the loss curves (train and
// valid, from train.jsonl) agree to 1e-4 relative, with whole micro-batches
// per rank (dropout on) and with micro-batches split across ranks (dropout
// off), and checkpoints resume under any number of ranks (2 -> 1, 1 -> 2).
// The binary is built with -tags mpi; the single-process runs use the same
// binary outside mpirun.
func TestPretrainMPI(t *testing.T) {
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("mpirun not installed (apt-get install libopenmpi-dev openmpi-bin): data-parallel test skipped")
	}
	gen := demoDataDir
	dir := t.TempDir()
	bin := filepath.Join(dir, "trafficgpt-mpi")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-tags", "mpi", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags mpi: %v\n%s", err, out)
	}
	ds := filepath.Join(dir, "ds")
	if code, _, e := run(t, "dataset", "build", "-o", ds, "--group", "flow", "--split", "train=0.9,valid=0.1",
		filepath.Join(gen, "dns.pcap"), filepath.Join(gen, "mqtt.pcap")); code != 0 {
		t.Fatalf("dataset build: %d %s", code, e)
	}
	exe := func(np int, args ...string) {
		t.Helper()
		var cmd *exec.Cmd
		if np == 1 {
			cmd = exec.Command(bin, args...)
		} else {
			cmd = exec.Command(mpirun, append(append(dist.MPIRunFlags(np), bin), args...)...)
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("np %d %v: %v\n%s", np, args, err, out.String())
		}
	}
	pretrain := func(np int, mdir string, steps string, extra ...string) {
		t.Helper()
		args := append([]string{"pretrain", "--data", ds, "-o", mdir, "--config", "tiny", "--ctx", "64",
			"--eval-every", "3", "--eval-batches", "2", "--threads", "1", "--warmup", "2", "--lr", "3e-3",
			"--steps", steps, "--check-every", "2"}, extra...)
		exe(np, args...)
	}

	t.Run("whole micro-batches, dropout", func(t *testing.T) {
		opts := []string{"--batch", "2", "--accum", "2", "--dropout", "0.1"}
		one, two := filepath.Join(dir, "w1"), filepath.Join(dir, "w2")
		pretrain(1, one, "6", opts...)
		pretrain(2, two, "6", opts...)
		sameCurve(t, one, two, 6)
	})
	t.Run("split micro-batches, resume across rank counts", func(t *testing.T) {
		opts := []string{"--batch", "3", "--accum", "1", "--dropout", "0"}
		a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
		pretrain(1, a, "4", opts...)
		copyDir(t, a, c)
		pretrain(2, b, "4", opts...)
		sameCurve(t, a, b, 4)
		// Resume to step 7: one process, 2 ranks -> 1, 1 rank -> 2.
		exe(1, "pretrain", "--data", ds, "-o", a, "--resume", "--steps", "7")
		exe(1, "pretrain", "--data", ds, "-o", b, "--resume", "--steps", "7")
		exe(2, "pretrain", "--data", ds, "-o", c, "--resume", "--steps", "7")
		sameCurve(t, a, b, 7)
		sameCurve(t, a, c, 7)
	})
}

// sameCurve compares the train and valid losses of two runs' train.jsonl.
func sameCurve(t *testing.T, want, got string, steps int) {
	t.Helper()
	curve := func(d string) (tr, va map[int]float64) {
		lines, err := train.ReadLog(d)
		if err != nil {
			t.Fatal(err)
		}
		tr, va = map[int]float64{}, map[int]float64{}
		for _, l := range lines {
			if l.Kind == "train" {
				tr[l.Step] = l.Loss
			} else if l.Valid != nil {
				va[l.Step] = l.Valid.Loss
			}
		}
		return tr, va
	}
	wt, wv := curve(want)
	gt, gv := curve(got)
	if len(wt) != steps || len(gt) != steps || len(wv) == 0 || len(wv) != len(gv) {
		t.Fatalf("%s: %d train, %d valid lines; %s: %d, %d; want %d train lines", want, len(wt), len(wv), got, len(gt), len(gv), steps)
	}
	cmp := func(kind string, w, g map[int]float64) {
		for s, x := range w {
			y, ok := g[s]
			if !ok || math.Abs(x-y) > 1e-4*math.Abs(x) {
				t.Errorf("%s loss at step %d: one process %.7f, data-parallel %.7f", kind, s, x, y)
			}
		}
	}
	cmp("train", wt, gt)
	cmp("valid", wv, gv)
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
