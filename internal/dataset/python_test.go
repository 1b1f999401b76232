package dataset

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// pythonWithNumpy returns a python3 that can import numpy (the one on PATH,
// then Debian's /usr/bin/python3), or "".
func pythonWithNumpy() string {
	for _, py := range []string{os.Getenv("TRAFFICGPT_PYTHON"), "python3", "/usr/bin/python3"} {
		if py == "" {
			continue
		}
		if path, err := exec.LookPath(py); err == nil && exec.Command(path, "-c", "import numpy").Run() == nil {
			return path
		}
	}
	return ""
}

// TestPythonReader: python/trafficgpt_data.py (numpy only) reads a built
// dataset's shards as this package does: flows, tokens, labels, flow ids
// and token values per split, with every CRC-32C checked. Skips without a
// python3 with numpy, fails then if CI is set (CI installs python3-numpy).
func TestPythonReader(t *testing.T) {
	py := pythonWithNumpy()
	if py == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no python3 with numpy (apt-get install python3-numpy)")
		}
		t.Skip("no python3 with numpy")
	}
	// Opened here so that go test's cache notices edits of the script.
	if _, err := os.ReadFile("../../python/trafficgpt_data.py"); err != nil {
		t.Fatal(err)
	}
	root := "../../testdata/demo"
	dir := filepath.Join(t.TempDir(), "ds")
	_, err := Build(context.Background(), dir, inputsOf(t, root, "dns.pcap", "mqtt.pcap"), BuildOptions{
		Labels: "file", Group: "flow", Seed: 5, Split: []SplitFrac{{"train", 0.7}, {"test", 0.3}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "../../python/trafficgpt_data.py", "--verify", "--json", dir).Output()
	if err != nil {
		t.Fatalf("python reader: %v\n%s", err, out)
	}
	var got struct {
		Labels []string
		Splits map[string]struct {
			Flows, Tokens int
			Labels        []int32
			FlowIDs       []uint64 `json:"flow_ids"`
			TokenSum      int64    `json:"token_sum"`
			FirstTokens   []uint16 `json:"first_tokens"`
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !slices.Equal(got.Labels, d.Manifest().Labels) || len(got.Splits) != 2 {
		t.Fatalf("labels %v (want %v), %d splits", got.Labels, d.Manifest().Labels, len(got.Splits))
	}
	for name, g := range got.Splits {
		s, err := d.Split(name)
		if err != nil {
			t.Fatal(err)
		}
		var labels []int32
		var ids []uint64
		var sum int64
		var first []uint16
		for i := 0; i < s.Len(); i++ {
			m := s.Meta(i)
			labels, ids = append(labels, m.Label), append(ids, m.FlowID)
			toks, err := s.Flow(i, nil)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = toks[:min(16, len(toks))]
			}
			for _, v := range toks {
				sum += int64(v)
			}
		}
		if g.Flows != s.Len() || int64(g.Tokens) != s.Tokens() || !slices.Equal(g.Labels, labels) ||
			!slices.Equal(g.FlowIDs, ids) || g.TokenSum != sum || !slices.Equal(g.FirstTokens, first) || g.Flows < 20 {
			t.Errorf("%s: python read %d flows, %d tokens, sum %d, first %v; Go %d, %d, %d, %v",
				name, g.Flows, g.Tokens, g.TokenSum, g.FirstTokens, s.Len(), s.Tokens(), sum, first)
		}
	}
	// A corrupt index is refused, not read.
	sh := filepath.Join(dir, d.Manifest().Splits["test"].Shard)
	b, _ := os.ReadFile(sh)
	b[len(b)-30] ^= 1
	os.WriteFile(sh, b, 0o644)
	if out, err := exec.Command(py, "../../python/trafficgpt_data.py", dir).CombinedOutput(); err == nil {
		t.Errorf("corrupt shard read without error:\n%s", out)
	}
}
