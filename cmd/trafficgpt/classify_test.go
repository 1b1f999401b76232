package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The three classification commands end to end through runMain: dataset
// build, finetune from scratch, eval classify (JSON keys, plots), classify
// (the same labels as eval on the test flows), and wrong inputs.
func TestClassifyCommands(t *testing.T) {
	dns, mqtt := filepath.Join(demoDataDir, "dns.pcap"), filepath.Join(demoDataDir, "mqtt.pcap")
	ctx := context.Background()
	dir := t.TempDir()
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := runMain(ctx, args, &out, &errOut); code != want {
			t.Fatalf("%q: exit %d, want %d\nstdout %s\nstderr %s", args, code, want, out.String(), errOut.String())
		}
		return out.String(), errOut.String()
	}
	ds, clf := filepath.Join(dir, "ds"), filepath.Join(dir, "clf")
	run(exitOK, "dataset", "build", "-o", ds, "--labels", "file", "--group", "flow", "--mask", "addr+ports",
		"--split", "train=0.6,valid=0.2,test=0.2", "-j", "1", dns, mqtt)
	out, _ := run(exitOK, "finetune", "--from-scratch", "--config", "tiny", "--data", ds, "-o", clf, "--len", "64", "--epochs", "4")
	if !strings.Contains(out, "best epoch") {
		t.Errorf("finetune output: %s", out)
	}
	js := filepath.Join(dir, "report.json")
	plots := filepath.Join(dir, "plots")
	out, _ = run(exitOK, "eval", "classify", "--model", clf, "--data", ds, "--json", js, "--plots", plots, "--trees", "10")
	if !strings.Contains(out, "baseline (forest)") || !strings.Contains(out, "baseline (k-NN)") {
		t.Errorf("eval output lacks the baseline: %s", out)
	}
	var rep map[string]any
	b, err := os.ReadFile(js)
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("report %s: %v", b, err)
	}
	for _, k := range []string{"accuracy", "macro_precision", "macro_recall", "macro_f1", "per_class", "confusion", "labels", "baseline", "knn_baseline"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	if rep["macro_f1"] != 1.0 {
		t.Errorf("test macro-F1 %v, want 1", rep["macro_f1"])
	}
	for _, f := range []string{"confusion.png", "confusion_baseline.png"} {
		if _, err := os.Stat(filepath.Join(plots, f)); err != nil {
			t.Error(err)
		}
	}
	out, _ = run(exitOK, "classify", "--model", clf, "--format", "jsonl", dns, mqtt)
	sc := bufio.NewScanner(strings.NewReader(out))
	counts := map[string]int{}
	for sc.Scan() {
		var r struct {
			File, Label string
			Top3        []struct{ Label string }
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("jsonl line %q: %v", sc.Text(), err)
		}
		// finetune gave the classifier an open-set rule that rejects
		// about 1% of known flows: those are unknown, with the right top 1.
		want := strings.TrimSuffix(filepath.Base(r.File), ".pcap")
		if (r.Label != want && r.Label != "unknown") || len(r.Top3) != 2 || r.Top3[0].Label != want {
			t.Errorf("%s: label %s (top3 %v), want %s", r.File, r.Label, r.Top3, want)
		}
		counts[r.Label]++
	}
	if counts["dns"] == 0 || counts["mqtt"] == 0 || counts["unknown"] > (counts["dns"]+counts["mqtt"])/20 {
		t.Errorf("classified %v: want dns, mqtt and at most 5%% unknown", counts)
	}
	out, _ = run(exitOK, "classify", "--model", clf, "--format", "csv", "--early", "3", dns)
	if !strings.HasPrefix(out, "file,flow_id,community_id,flow,at_packet,after_s,decided,label,probability,open_set_score,top3\n") {
		t.Errorf("csv: %.200s", out)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("csv: %v: %.200s", err, out)
	}
	for _, r := range rows[1:] {
		if at, _ := strconv.Atoi(r[4]); at < 1 || at > 3 || !strings.HasPrefix(r[2], "1:") || (at < 3 && r[6] != "end" && r[6] != "full") {
			t.Errorf("--early 3 row %v: want a decision by packet 3 and a Community ID", r)
		}
	}

	// Unknown traffic: an open-set rule from the valid split, AUROC against
	// flows of classes never trained on, and "unknown" rows for them.
	redis, memc := filepath.Join(demoDataDir, "redis.pcap"), filepath.Join(demoDataDir, "ssh.pcap")
	unk := filepath.Join(dir, "unk")
	run(exitOK, "dataset", "build", "-o", unk, "--labels", "file", "--group", "flow", "--mask", "addr+ports",
		"--split", "test=1", "-j", "1", redis, memc)
	if out, _ := run(exitOK, "calibrate", "--model", clf, "--data", ds, "--frr", "0.02"); !strings.Contains(out, "mahalanobis") {
		t.Errorf("calibrate: %s", out)
	}
	js2 := filepath.Join(dir, "report2.json")
	out, _ = run(exitOK, "eval", "classify", "--model", clf, "--data", ds, "--unknown", unk, "--json", js2, "--no-baseline")
	var rep2 struct {
		OpenSet struct {
			UnknownFlows int `json:"unknown_flows"`
			Results      []struct {
				Method, Source string
				AUROC          float64
			}
		} `json:"open_set"`
	}
	if b, err := os.ReadFile(js2); err != nil || json.Unmarshal(b, &rep2) != nil {
		t.Fatalf("report %s: %v", b, err)
	}
	if n := len(rep2.OpenSet.Results); n != 4 || rep2.OpenSet.UnknownFlows == 0 || rep2.OpenSet.Results[3].Source != "openset.json" {
		t.Errorf("open-set report %+v: want 3 fitted rules, the classifier's, and unknown flows\n%s", rep2.OpenSet, out)
	}
	for _, r := range rep2.OpenSet.Results {
		if !(r.AUROC >= 0 && r.AUROC <= 1) {
			t.Errorf("%s AUROC %v", r.Method, r.AUROC)
		}
	}
	out, _ = run(exitOK, "classify", "--model", clf, "--format", "csv", redis)
	if strings.Count(out, ",unknown,") == 0 {
		t.Errorf("no redis flow is unknown to a dns/mqtt classifier with an open-set rule:\n%.500s", out)
	}
	out, _ = run(exitOK, "classify", "--model", clf, "--format", "csv", "--no-unknown", redis)
	if strings.Contains(out, ",unknown,") {
		t.Errorf("--no-unknown still says unknown:\n%.300s", out)
	}

	// Wrong inputs: a dataset as model, an empty capture, a usage error.
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	if _, e := run(exitFailure, "classify", "--model", clf, empty); !strings.Contains(e, "empty") {
		t.Errorf("empty capture: %s", e)
	}
	if _, e := run(exitFailure, "generate", "--model", clf, "-o", filepath.Join(dir, "gen.pcap")); !strings.Contains(e, "is a classifier") {
		t.Errorf("generate from a classifier: %s", e)
	}
	if _, e := run(exitFailure, "eval", "classify", "--model", ds, "--data", ds); !strings.Contains(e, "model") {
		t.Errorf("dataset as model: %s", e)
	}
	run(exitUsage, "classify", "--model", clf, "--format", "xml", dns)
	run(exitUsage, "finetune", "--data", ds, "-o", filepath.Join(dir, "x"))
}
