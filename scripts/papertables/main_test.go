package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/model"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTables builds the script's output layout for two variants (one run
// unfinished) and a third that ran at no context, and checks the tables
// carry our numbers, the paper's beside them, "-" for what did not finish,
// no row for what never started, and that the sweep plot is written.
func TestTables(t *testing.T) {
	out := t.TempDir()
	r := func(v string, c int) string {
		return filepath.Join(out, "runs", v+"-c"+map[int]string{256: "256", 512: "512"}[c])
	}
	writeFile(t, filepath.Join(r("linear", 512), "cls-128.json"), `{"macro_f1":0.8123,"baseline":{"macro_f1":0.7001}}`)
	writeFile(t, filepath.Join(r("linear", 512), "cls-32.json"), `{"macro_f1":0.5}`)
	writeFile(t, filepath.Join(r("linear", 256), "cls-128.json"), `{"macro_f1":0.75}`)
	writeFile(t, filepath.Join(r("rwkv", 512), "cls-128.json"), `{"macro_f1":0.6}`)
	if err := os.MkdirAll(r("rwkv", 256), 0o755); err != nil { // started, never finished
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(r("rwkv", 512), "model", "train.jsonl"), // stopped by its time limit
		`{"kind":"valid","step":0,"elapsed_s":1,"valid":{"tokens":512,"loss":6.25,"kind_loss":{"header":6.2}}}`+"\n"+
			`{"kind":"train","step":1,"loss":6.2,"tokens":512,"elapsed_s":2}`+"\n")
	writeFile(t, filepath.Join(r("linear", 512), "model", "train.jsonl"),
		`{"kind":"train","step":1,"loss":6.2,"tokens":512,"elapsed_s":1}`+"\n"+
			`{"kind":"train","step":2,"loss":5.5,"tokens":1024,"elapsed_s":2.4}`+"\n"+
			`{"kind":"valid","step":2,"elapsed_s":3,"valid":{"tokens":512,"loss":5.25,"kind_loss":{"header":3.5}}}`+"\n")
	writeFile(t, filepath.Join(r("linear", 512), "gen.json"),
		`{"header_jsd":{"sport":0.25,"mean":0.3333},"flow_jsd":{"mean":null},"discriminator_f1":0.61,"discriminator_f1_std":0.02,
		  "validity":{"generated":{"ip_transport_share":0.99,"tshark":{"clean_share":0.97}}}}`)
	writeFile(t, filepath.Join(r("linear", 512), "gen-free.json"),
		`{"validity":{"generated":{"ip_transport_share":0.5,"tshark":{"clean_share":0.25}}}}`)
	writeFile(t, filepath.Join(out, "speed", "rwkv-c256", "train.jsonl"),
		`{"kind":"train","step":1,"tokens_per_s":10}`+"\n"+`{"kind":"train","step":2,"tokens_per_s":300}`+"\n"+
			`{"kind":"train","step":3,"tokens_per_s":200}`+"\n"+`{"kind":"train","step":4,"tokens_per_s":100}`+"\n")
	writeFile(t, filepath.Join(out, "speed", "rwkv-c256.rss"), "Command exited with non-zero status 0\n204800\n")
	var stdout bytes.Buffer
	err := run([]string{"tables", "-o", out, "-variants", "linear,rwkv,retention", "-ctx", "256,512", "-speed-ctx", "256",
		"-lens", "32,128", "-main-len", "128", "-data", "demo"}, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "tables.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{
		"| TrafficGPT (linear) 512 | 0.8123 | 0.9863 | 0.9498 | 1.0000 | 0.9877 |",
		"| TrafficGPT (linear) 256 | 0.7500 | 0.9829 |",
		"| RWKV 512 | 0.6000 | 0.8992 | 0.8269 |",
		"| RWKV 256 | - | - |",
		"| 0.7001 | 0.9644 (YaTC) |",
		"| src port | - | 0.2500 | - | - | 0.1156 | 0.1346 | - | - |",
		"| **mean** | - | 0.3333 | - | - | 0.1752 | 0.1605 | 0.9931 | 0.9318 |",
		"| linear 512 | 0.6100 +- 0.0200 | 0.6683 +- 0.0232 | 0.9900 | 0.9700 | 0.5000 | 0.2500 |",
		"| rwkv 512 | - | - | - | - | - | - |",
		"| RWKV | 200 | 200 | ", // median of the steps after the first; 204800 kB
		"| TrafficGPT (linear) | 0.5000 | 0.8123 | ",
		"| linear 512 | 2 | 1024 | 2 | 5.5000 | 5.2500 | 3.5000 |",
		"| rwkv 256 | - | - | - | - | - | - |",
		"| rwkv 512 | 1 | 512 | 2 | 6.2000 | 6.2500 (step 0) | 6.2000 (step 0) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("tables.md lacks %q", want)
		}
	}
	for _, not := range []string{"| RetNet (retention) 512 |", "retention 512", "| linear 256 | 0"} {
		if strings.Contains(md, not) {
			t.Errorf("tables.md has %q", not)
		}
	}
	if st, err := os.Stat(filepath.Join(out, "sweep.png")); err != nil || st.Size() == 0 {
		t.Errorf("sweep.png: %v", err)
	}
}

func TestConfig(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"config", "tiny", "rwkv"}, &out); err != nil {
		t.Fatal(err)
	}
	var c model.Config
	if err := json.Unmarshal(out.Bytes(), &c); err != nil || c.Attention != model.AttentionRWKV || c.Layers != 2 {
		t.Fatalf("config %+v, err %v", c, err)
	}
	for _, bad := range [][]string{{"config", "tiny", "cosine"}, {"config", "huge", "rwkv"}, {"tables"}, {"nope"}} {
		if err := run(bad, &out); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestVariantConfig(t *testing.T) {
	c, err := variantConfig("paper", "rwkv-pure")
	if err != nil || c.LocalHeads != 0 || c.GlobalHeads != 12 || c.Attention != model.AttentionRWKV {
		t.Fatalf("rwkv-pure: %+v, %v", c, err)
	}
	file := filepath.Join(t.TempDir(), "mini.json")
	writeFile(t, file, `{"vocab":512,"layers":2,"width":64,"head_dim":16,"local_heads":2,"global_heads":2,"window":16,
		"chunk":16,"ffn":128,"token_shift":true,"rope_base":10000,"attention":"linear","tied_embedding":true,"max_context":1024}`)
	if c, err := variantConfig(file, "retention-pure"); err != nil || c.Width != 64 || c.GlobalHeads != 4 || c.Attention != model.AttentionRetention {
		t.Fatalf("config file, retention-pure: %+v, %v", c, err)
	}
	writeFile(t, file, `{"layers":2,"widht":64}`)
	if _, err := variantConfig(file, "linear"); err == nil {
		t.Error("misspelt key: no error")
	}
	if _, err := variantConfig("paper", "linear-pure"); err == nil {
		t.Error("linear-pure: no error")
	}
	if n := variantName("retention-pure"); n != "RetNet (retention), no local heads" {
		t.Errorf("variantName: %q", n)
	}
}
