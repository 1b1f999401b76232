package train

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

// TestModelDir: a model directory or its file loads with its metadata; the
// trained context and the class labels come from the metadata and the
// dataset it names, with clear errors when they cannot.
func TestModelDir(t *testing.T) {
	dir := t.TempDir()
	demo := filepath.Join("..", "..", "testdata", "demo")
	ds := filepath.Join(dir, "ds")
	var files []dataset.InputFileRoot
	for _, f := range []string{"dns.pcap", "mqtt.pcap"} {
		files = append(files, dataset.InputFileRoot{Path: filepath.Join(demo, f), Root: demo})
	}
	m0, err := dataset.Build(context.Background(), ds, files, dataset.BuildOptions{Labels: "file", LabelTokens: true, Group: "flow",
		Split: []dataset.SplitFrac{{Name: "train", Frac: 1}}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := model.Preset("tiny")
	m, err := model.New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	mdir := filepath.Join(dir, "model")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{MetaDatasetPath: ds, MetaDatasetHash: m0.Hash(), MetaTrainOptions: `{"context":96}`}
	if err := m.Save(filepath.Join(mdir, ModelFile), meta); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{mdir, filepath.Join(mdir, ModelFile)} {
		_, got, err := LoadModel(p)
		if err != nil {
			t.Fatalf("LoadModel(%s): %v", p, err)
		}
		if TrainedContext(got) != 96 {
			t.Errorf("%s: trained context %d, want 96", p, TrainedContext(got))
		}
		labels, err := ModelLabels(got)
		if err != nil || !reflect.DeepEqual(labels, []string{"dns", "mqtt"}) {
			t.Errorf("%s: labels %v, %v", p, labels, err)
		}
	}
	if TrainedContext(map[string]string{}) != 0 {
		t.Error("no metadata: trained context not 0")
	}
	for _, tc := range []struct {
		meta map[string]string
		want string
	}{
		{map[string]string{}, "names no dataset"},
		{map[string]string{MetaDatasetPath: ds, MetaDatasetHash: "0123"}, "changed since training"},
		{map[string]string{MetaDatasetPath: demoDataset(t)}, "without --label-tokens"},
	} {
		if _, err := ModelLabels(tc.meta); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ModelLabels(%v): %v, want %q", tc.meta, err, tc.want)
		}
	}
}

// TestReadLogTornLine: a torn last line is ignored, a corrupt line before
// it is an error naming the line (the rule classify.ReadLog shares).
func TestReadLogTornLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		text  string
		lines int
		err   string
	}{
		{`{"kind":"train","step":1}` + "\n" + `{"kind":"train","step":2}` + "\n", 2, ""},
		{`{"kind":"train","step":1}` + "\n" + `{"kind":"tra`, 1, ""},
		{`{"kind":"train","step":1}` + "\n" + `{"kind":"tra` + "\n" + `{"kind":"train","step":3}` + "\n", 1, "line 2"},
	} {
		if err := os.WriteFile(filepath.Join(dir, LogFile), []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		lines, err := ReadLog(dir)
		if len(lines) != tc.lines || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: %d lines, err %v; want %d lines, err %q", tc.text, len(lines), err, tc.lines, tc.err)
		}
	}
}

// TestLoadGenerator: a pre-trained model loads for sampling; a classifier
// is refused with the name the user gave.
func TestLoadGenerator(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := model.Preset("tiny")
	for _, classes := range []int{0, 3} {
		c := cfg
		c.Classes = classes
		m, err := model.New(c, 1)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "m.safetensors")
		if err := m.Save(p, map[string]string{}); err != nil {
			t.Fatal(err)
		}
		g, _, err := LoadGenerator(p, "clf")
		switch {
		case classes == 0 && (err != nil || g.Train):
			t.Errorf("pre-trained model: %v", err)
		case classes > 0 && (err == nil || !strings.Contains(err.Error(), "--model clf is a classifier (a head over 3 classes")):
			t.Errorf("classifier: %v", err)
		}
	}
}
