package model

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// pythonWithTorch returns a python3 that can import torch and numpy (the
// one on PATH, then Debian's /usr/bin/python3), or "" and why not.
func pythonWithTorch() (string, string) {
	var tried []string
	for _, py := range []string{os.Getenv("TRAFFICGPT_PYTHON"), "python3", "/usr/bin/python3"} {
		if py == "" {
			continue
		}
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if out, err := exec.Command(path, "-c", "import numpy, torch").CombinedOutput(); err != nil {
			tried = append(tried, path+": "+string(out))
			continue
		}
		return path, ""
	}
	return "", "no python3 with numpy and torch (Debian: apt-get install python3-numpy python3-torch); tried " + fmtList(tried)
}

func fmtList(s []string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestPyTorchReference runs python/trafficgpt_torch.py on checkpoints of
// the tiny and small presets (and reversible and quadratic variants of
// tiny), with every parameter perturbed so that biases, norms and attention
// are far from their init, and compares its logits (float64 PyTorch) with
// the Go forward on the same tokens: max |go - torch| / max |torch| must
// stay below 1e-4. Skips only when python3-torch is absent, and fails then
// if CI is set (CI installs it).
func TestPyTorchReference(t *testing.T) {
	py, why := pythonWithTorch()
	if py == "" {
		if os.Getenv("CI") != "" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	script, err := filepath.Abs("../../python/trafficgpt_torch.py")
	if err != nil {
		t.Fatal(err)
	}
	// Opened here so that go test's cache notices edits of the script.
	if _, err := os.ReadFile(script); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	type run struct {
		name    string
		cfg     Config
		B, T    int
		classes int // > 0: compare the classifier's probabilities at clsPos
		clsPos  []int32
		goLogit []float32
	}
	small, _ := Preset("small")
	runs := []*run{
		{name: "tiny", cfg: tinyCfg(t, nil), B: 2, T: 41},
		{name: "small", cfg: small, B: 2, T: 200},
		{name: "tiny-reversible", cfg: tinyCfg(t, func(c *Config) { c.Reversible = true }), B: 2, T: 33},
		{name: "tiny-quadratic-untied", cfg: tinyCfg(t, func(c *Config) {
			c.Attention, c.TiedEmbedding, c.TokenShift = AttentionQuadratic, false, false
		}), B: 1, T: 30},
		{name: "tiny-classifier-last", cfg: tinyCfg(t, nil), B: 3, T: 24, classes: 5, clsPos: []int32{23, 7, 0}},
		{name: "tiny-classifier-mean", cfg: tinyCfg(t, func(c *Config) { c.Reversible, c.Pool = true, PoolMean }), B: 3, T: 24, classes: 4,
			clsPos: []int32{23, 11, 1}},
	}
	var jobs []map[string]any
	for i, r := range runs {
		m := newModel(t, r.cfg, uint64(10+i))
		if r.classes > 0 {
			if err := m.AddClassifier(r.classes, 3); err != nil {
				t.Fatal(err)
			}
		}
		rng := rand.New(rand.NewPCG(uint64(i), 99))
		for _, p := range m.ParamInfos() {
			for j := p.Offset; j < p.Offset+p.Size; j++ {
				if p.Decay {
					m.params[j] *= 4
				}
				m.params[j] += float32(rng.NormFloat64() * 0.05)
			}
		}
		ckpt := filepath.Join(dir, r.name+".safetensors")
		if err := m.Save(ckpt, nil); err != nil {
			t.Fatal(err)
		}
		tok := randTokens(r.B*r.T, r.cfg.Vocab, uint64(i))
		if r.classes > 0 {
			_, probs, err := m.ForwardClassify(tok, r.B, r.T, r.clsPos, nil)
			if err != nil {
				t.Fatal(err)
			}
			r.goLogit = append([]float32(nil), probs...)
		} else {
			if _, err := m.Forward(tok, nil, r.B, r.T); err != nil {
				t.Fatal(err)
			}
			r.goLogit = append([]float32(nil), m.Logits()...)
		}
		tb := make([]byte, 4*len(tok))
		for j, v := range tok {
			binary.LittleEndian.PutUint32(tb[4*j:], uint32(v))
		}
		tokPath := filepath.Join(dir, r.name+".tokens")
		if err := os.WriteFile(tokPath, tb, 0o644); err != nil {
			t.Fatal(err)
		}
		job := map[string]any{"checkpoint": ckpt, "tokens": tokPath, "batch": r.B, "out": filepath.Join(dir, r.name+".logits")}
		if r.classes > 0 {
			job["cls_pos"] = r.clsPos
		}
		jobs = append(jobs, job)
	}
	jb, _ := json.Marshal(jobs)
	jobsPath := filepath.Join(dir, "jobs.json")
	os.WriteFile(jobsPath, jb, 0o644)
	if out, err := exec.Command(py, script, "--jobs", jobsPath).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	for _, r := range runs {
		b, err := os.ReadFile(filepath.Join(dir, r.name+".logits"))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 4*len(r.goLogit) {
			t.Fatalf("%s: %d logits from torch, %d from Go", r.name, len(b)/4, len(r.goLogit))
		}
		var maxDiff, maxRef float64
		for j, g := range r.goLogit {
			ref := float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:])))
			maxDiff = max(maxDiff, math.Abs(float64(g)-ref))
			maxRef = max(maxRef, math.Abs(ref))
		}
		rel := maxDiff / maxRef
		t.Logf("%s (B=%d T=%d): max |go - torch| = %.3g, max |logit| = %.3g, relative %.3g", r.name, r.B, r.T, maxDiff, maxRef, rel)
		if !(rel < 1e-4) || maxRef < 1 && r.classes == 0 || maxRef < 0.3 {
			t.Errorf("%s: relative logit difference %.3g (max |logit| %.3g), want < 1e-4 with logits of size", r.name, rel, maxRef)
		}
	}
}
