package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/model"
)

func TestQuickSuiteOnDemo(t *testing.T) {
	s, err := ReadSpec("../../testdata/suite/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	s.Quick()
	out := t.TempDir()
	r, err := Run(context.Background(), Options{Spec: s, Out: out, Quick: true, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Complete || len(r.Tasks) != 1 || len(r.Tasks[0].Classes) != 6 {
		t.Fatalf("complete %v, %d tasks, classes %v", r.Complete, len(r.Tasks), r.Tasks[0].Classes)
	}
	want := len(s.Budgets) * len(s.Seeds) * 4 // forest, 1-NN, k-NN, scratch: no base
	if len(r.Runs) != want {
		t.Fatalf("%d runs, want %d", len(r.Runs), want)
	}
	for _, run := range r.Runs {
		if run.TestF1 < 0 || run.TestF1 > 1 || run.TestAcc < 0 || run.TestAcc > 1 {
			t.Errorf("%+v: scores out of [0, 1]", run)
		}
		if run.Budget != All && run.TrainFlows > 6*int(run.Budget) {
			t.Errorf("%+v: more train flows than the budget allows", run)
		}
		// Six protocols with distinct packet sizes: the forest must do far
		// better than chance (1/6) even with 20 flows per class.
		if run.Method == Forest && run.Budget == 20 && run.TestF1 < 0.6 {
			t.Errorf("forest at 20 flows per class: macro-F1 %.3f", run.TestF1)
		}
	}
	var back Report
	b, err := os.ReadFile(filepath.Join(out, "suite.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil || !back.Complete || len(back.Runs) != want || len(back.Summary) != len(s.Budgets)*4 {
		t.Fatalf("suite.json: err %v, complete %v, %d runs, %d summary cells", err, back.Complete, len(back.Runs), len(back.Summary))
	}
	md, err := os.ReadFile(filepath.Join(out, "demo", "table.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"| random forest |", "| 1-NN |", "| k-NN (k on valid) |", "| from scratch |", "5/class", "20/class"} {
		if !strings.Contains(string(md), w) {
			t.Errorf("table.md lacks %q:\n%s", w, md)
		}
	}
	all, _ := os.ReadFile(filepath.Join(out, "suite.md"))
	if !strings.Contains(string(all), "no --base model") || !strings.Contains(string(all), string(md)) {
		t.Errorf("suite.md lacks the skip note or the task table:\n%s", all)
	}
	pb, err := os.ReadFile(filepath.Join(out, "demo", "curve.png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(pb)); err != nil {
		t.Fatalf("curve.png: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(out, "demo", "work", "*")); len(left) > 0 {
		t.Errorf("work files left: %v", left)
	}
}

func TestSuiteIsDeterministic(t *testing.T) {
	scores := func() []Run1 {
		s, err := ReadSpec("../../testdata/suite/demo.json")
		if err != nil {
			t.Fatal(err)
		}
		s.Quick()
		s.Budgets = []Budget{5}
		s.Methods = []string{Forest, KNN, Scratch}
		r, err := Run(context.Background(), Options{Spec: s, Out: t.TempDir(), Jobs: 2})
		if err != nil {
			t.Fatal(err)
		}
		for i := range r.Runs {
			r.Runs[i].Seconds = 0
		}
		return r.Runs
	}
	a, b := scores(), scores()
	if len(a) != 3 || len(a) != len(b) {
		t.Fatalf("%d and %d runs, want 3", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("run %d differs:\n%+v\n%+v", i, a[i], b[i])
		}
	}
}

func TestReadSpecRejectsBadSpecs(t *testing.T) {
	tests := map[string]string{
		"unknown field":  `{"tasks": [{"name": "a", "inputs": ["x"], "labels": "file", "lables": "dir"}]}`,
		"no tasks":       `{"budgets": [5]}`,
		"bad budget":     `{"budgets": [0], "tasks": [{"name": "a", "inputs": ["x"], "labels": "file"}]}`,
		"no labels":      `{"tasks": [{"name": "a", "inputs": ["x"]}]}`,
		"bad mask":       `{"tasks": [{"name": "a", "inputs": ["x"], "labels": "file", "mask": "nose"}]}`,
		"bad split":      `{"tasks": [{"name": "a", "inputs": ["x"], "labels": "file", "split": "train"}]}`,
		"duplicate task": `{"tasks": [{"name": "a", "inputs": ["x"], "labels": "file"}, {"name": "a", "inputs": ["y"], "labels": "file"}]}`,
		"unknown method": `{"methods": ["svm"], "tasks": [{"name": "a", "inputs": ["x"], "labels": "file"}]}`,
		"k of one":       `{"k_values": [1], "tasks": [{"name": "a", "inputs": ["x"], "labels": "file"}]}`,
	}
	dir := t.TempDir()
	for name, body := range tests {
		p := filepath.Join(dir, "spec.json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSpec(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Relative inputs and csv labels resolve against the spec's folder.
	dir, _ = filepath.Abs(dir)
	p := filepath.Join(dir, "ok.json")
	os.WriteFile(p, []byte(`{"tasks": [{"name": "a", "inputs": ["caps"], "labels": "csv:l.csv"}]}`), 0o644)
	s, err := ReadSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	if s.Tasks[0].Inputs[0] != filepath.Join(dir, "caps") || s.Tasks[0].Labels != "csv:"+filepath.Join(dir, "l.csv") || len(s.Budgets) != 4 {
		t.Fatalf("inputs %v, labels %s, budgets %v", s.Tasks[0].Inputs, s.Tasks[0].Labels, s.Budgets)
	}
}

// A base model (here random weights: the test is about the plumbing, not
// the scores) adds the probe and fine-tune rows, and from scratch takes
// the base's architecture.
func TestSuiteWithBase(t *testing.T) {
	cfg, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Layers = 1
	m, err := model.New(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(t.TempDir(), "base")
	os.MkdirAll(base, 0o755)
	if err := m.Save(filepath.Join(base, "model.safetensors"), map[string]string{}); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSpec("../../testdata/suite/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	s.Quick()
	s.Budgets = []Budget{5}
	s.Methods = []string{Forest, Scratch, Probe, Finetune}
	out := t.TempDir()
	r, err := Run(context.Background(), Options{Spec: s, Out: out, Base: base, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, run := range r.Runs {
		got[run.Method] = true
		if run.TestF1 < 0 || run.TestF1 > 1 || run.TrainFlows != 30 {
			t.Errorf("%+v: score out of range or not 5 flows for each of 6 classes", run)
		}
	}
	if len(r.Runs) != 4 || !got[Probe] || !got[Finetune] || len(r.Notes) != 0 {
		t.Fatalf("runs %+v, notes %v: want forest, scratch, probe and fine-tune, no skip note", r.Runs, r.Notes)
	}
	md, _ := os.ReadFile(filepath.Join(out, "suite.md"))
	for _, w := range []string{"| linear probe (base) |", "| fine-tuned (base) |", "## Average over 1 tasks"} {
		if !strings.Contains(string(md), w) {
			t.Errorf("suite.md lacks %q:\n%s", w, md)
		}
	}
	if r.ScratchConfig.Layers != 1 {
		t.Fatalf("from scratch has %d layers, want the base's 1", r.ScratchConfig.Layers)
	}
}

func TestAverageAndChecks(t *testing.T) {
	r := &Report{Spec: Spec{Budgets: []Budget{20, All}}, Methods: []string{Forest, NN1, KNN, Scratch, Probe, Finetune},
		Tasks: []*TaskReport{{Name: "a"}, {Name: "b"}}}
	f1 := map[string][2]float64{ // method -> task a, task b (both budgets, both seeds)
		Forest: {0.80, 0.60}, NN1: {0.70, 0.50}, KNN: {0.75, 0.65}, Scratch: {0.70, 0.55}, Probe: {0.70, 0.72}, Finetune: {0.90, 0.62},
	}
	for m, v := range f1 {
		for ti, task := range []string{"a", "b"} {
			for _, b := range r.Spec.Budgets {
				for seed := uint64(1); seed <= 2; seed++ {
					r.Runs = append(r.Runs, Run1{Task: task, Method: m, Budget: b, Seed: seed, TestF1: v[ti] + 0.01*float64(seed)})
				}
			}
		}
	}
	r.summarize()
	if c := r.cell("a", Forest, 20); c == nil || c.Seeds != 2 || math.Abs(c.F1Mean-0.815) > 1e-9 || math.Abs(c.F1Std-0.00707107) > 1e-6 {
		t.Fatalf("forest on a at 20: %+v, want mean 0.815, std 0.00707 over 2 seeds", c)
	}
	md := r.AverageMarkdown()
	for _, w := range []string{
		"| random forest | 0.715 | 0.715 |",
		"fine-tuned 0.775 >= from scratch 0.640 + 0.05: yes",
		"fine-tuned >= forest, 1-NN and k-NN on every task: **no** (b: k-NN (k on valid) 0.665 > 0.635)",
		"linear probe 0.725 >= forest 0.715 on average: yes",
	} {
		if !strings.Contains(md, w) {
			t.Errorf("missing %q in\n%s", w, md)
		}
	}
}

// A second run into the same OUT takes matching runs from the first and
// keeps the rows of methods it does not run; Fresh starts over.
func TestSuiteReusesEarlierRuns(t *testing.T) {
	spec := func(methods ...string) *Spec {
		s, err := ReadSpec("../../testdata/suite/demo.json")
		if err != nil {
			t.Fatal(err)
		}
		s.Quick()
		s.Budgets = []Budget{5}
		s.Methods = methods
		return s
	}
	out := t.TempDir()
	first, err := Run(context.Background(), Options{Spec: spec(Forest, Scratch), Out: out, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Run(context.Background(), Options{Spec: spec(Forest, KNN, Scratch), Out: out, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	reused := map[string]bool{}
	for _, run := range second.Runs {
		reused[run.Method] = run.Reused
	}
	if len(second.Runs) != 3 || !reused[Forest] || !reused[Scratch] || reused[KNN] {
		t.Fatalf("second run: %+v, want forest and scratch reused, k-NN new", second.Runs)
	}
	for _, a := range first.Runs {
		for _, b := range second.Runs {
			if b.Method == a.Method {
				b.Reused = false
				if a != b {
					t.Errorf("reused run differs:\n%+v\n%+v", a, b)
				}
			}
		}
	}
	third, err := Run(context.Background(), Options{Spec: spec(KNN), Out: out, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(third.Methods, []string{Forest, KNN, Scratch}) || len(third.Runs) != 3 {
		t.Fatalf("third run (k-NN only): methods %v, %d runs, want the forest and scratch rows kept", third.Methods, len(third.Runs))
	}
	// Another budget alone: the budget-5 runs are kept outside the tables
	// and are reused when budget 5 is asked for again.
	other := spec(Forest)
	other.Budgets = []Budget{20}
	fourth, err := Run(context.Background(), Options{Spec: other, Out: out, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(fourth.Runs) != 1 || fourth.Runs[0].Budget != 20 || len(fourth.Other) != 3 {
		t.Fatalf("budget 20 alone: %d runs, %d other runs; want 1 and the 3 of budget 5 kept", len(fourth.Runs), len(fourth.Other))
	}
	fifth, err := Run(context.Background(), Options{Spec: spec(KNN), Out: out, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(fifth.Runs) != 3 || !fifth.Runs[0].Reused || len(fifth.Other) != 1 {
		t.Fatalf("budget 5 again: %+v (%d other), want its 3 runs back and budget 20's kept", fifth.Runs, len(fifth.Other))
	}
	// Interrupted after its first run (a new 1-NN run): every earlier run
	// is still in suite.json, in runs or other_runs.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := Run(ctx, Options{Spec: spec(NN1, Forest, KNN, Scratch), Out: out, Jobs: 2,
		Progress: func(done, total int, what string) { cancel() }}); err == nil {
		t.Fatal("the interrupted run returned no error")
	}
	kept := readRuns(filepath.Join(out, "suite.json"))
	have := map[string]int{}
	for _, run := range kept {
		have[fmt.Sprintf("%s/%s", run.Budget, run.Method)]++
	}
	for _, k := range []string{"5/forest", "5/knn", "5/scratch", "20/forest", "5/1nn"} {
		if have[k] != 1 {
			t.Errorf("after the interruption suite.json holds %d runs of %s (%v), want 1", have[k], k, have)
		}
	}
	fresh, err := Run(context.Background(), Options{Spec: spec(KNN), Out: out, Jobs: 2, Fresh: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh.Runs) != 1 || fresh.Runs[0].Reused {
		t.Fatalf("fresh run: %+v, want one new k-NN run", fresh.Runs)
	}
}
