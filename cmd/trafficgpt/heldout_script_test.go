package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestHeldoutScript runs scripts/heldout-gen.sh end to end on two demo
// classes with a tiny model and a few steps: split, dataset of half A,
// pre-training, labelled generation, and a report against half B with the
// floor, per-class rows and the membership check.
func TestHeldoutScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "trafficgpt")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	for _, class := range []string{"dns", "mqtt"} {
		b, err := os.ReadFile(filepath.Join(demoDataDir, class+".pcap"))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(data, class), 0o755)
		if err := os.WriteFile(filepath.Join(data, class, class+".pcap"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "heldout-gen.sh"), data, out)
	cmd.Env = append(os.Environ(), "TG="+bin, "CONFIG=tiny", "STEPS=3", "TIME=1m", "CTX=128", "SHARE=0.03", "MAXTOK=512",
		"EVAL_ARGS=--seeds 1 --trees 10 --tshark off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("heldout-gen.sh: %v\n%s", err, b)
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Floor *struct {
			RealFlowsA int `json:"real_flows_a"`
			RealFlowsB int `json:"real_flows_b"`
		} `json:"floor"`
		Classes []struct {
			Label          string `json:"label"`
			GeneratedFlows int    `json:"generated_flows"`
		} `json:"classes"`
		Memorization *struct {
			MembershipFlows int `json:"membership_flows"`
		} `json:"memorization"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Floor == nil || rep.Floor.RealFlowsA == 0 || rep.Floor.RealFlowsB == 0 {
		t.Errorf("floor %+v", rep.Floor)
	}
	if len(rep.Classes) != 2 || rep.Classes[0].Label != "dns" || rep.Classes[1].Label != "mqtt" || rep.Classes[0].GeneratedFlows == 0 {
		t.Errorf("classes %+v", rep.Classes)
	}
	if rep.Memorization == nil || rep.Memorization.MembershipFlows == 0 {
		t.Errorf("memorization %+v", rep.Memorization)
	}
	for _, half := range []string{"A", "B"} {
		if _, err := os.Stat(filepath.Join(out, half, "dns", "dns.pcap")); err != nil {
			t.Errorf("half %s: %v", half, err)
		}
	}
}
