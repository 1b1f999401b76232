package dataset

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

func TestSubsetKeepsChosenTrainFlowsAndOtherSplitsWhole(t *testing.T) {
	root := "../../testdata/demo"
	files := inputsOf(t, root, "dns.pcap", "redis.pcap")
	tmp := t.TempDir()
	src := filepath.Join(tmp, "ds")
	if _, err := Build(context.Background(), src, files, BuildOptions{Labels: "file", Group: "flow",
		Split: []SplitFrac{{"train", 0.6}, {"valid", 0.2}, {"test", 0.2}}, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	ds, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	tr, _ := ds.Split("train")
	keep := []int{7, 2, 2, tr.Len() - 1}
	dst := filepath.Join(tmp, "sub")
	m, err := Subset(dst, ds, map[string][]int{"train": keep})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if sub.Manifest().Hash() != m.Hash() || m.Options.Extra["subset_of"] != ds.Manifest().Hash() {
		t.Fatalf("hash %s (returned %s), subset_of %v, want source %s", sub.Manifest().Hash(), m.Hash(), m.Options.Extra["subset_of"], ds.Manifest().Hash())
	}
	str, _ := sub.Split("train")
	want := []int{2, 7, tr.Len() - 1}
	if str.Len() != len(want) || m.Splits["train"].Flows != len(want) {
		t.Fatalf("subset train has %d flows (manifest %d), want %d", str.Len(), m.Splits["train"].Flows, len(want))
	}
	for j, i := range want {
		a, _ := tr.Flow(i, nil)
		b, _ := str.Flow(j, nil)
		if !slices.Equal(a, b) || tr.Meta(i).FlowID != str.Meta(j).FlowID || tr.Meta(i).Label != str.Meta(j).Label {
			t.Fatalf("subset flow %d differs from source flow %d", j, i)
		}
	}
	for _, name := range []string{"valid", "test"} {
		a, _ := ds.Split(name)
		b, _ := sub.Split(name)
		if a.Len() != b.Len() || a.Tokens() != b.Tokens() || ds.Manifest().Splits[name].Flows != m.Splits[name].Flows {
			t.Fatalf("split %s: %d flows %d tokens, source %d flows %d tokens", name, b.Len(), b.Tokens(), a.Len(), a.Tokens())
		}
	}
	// Keeping only redis flows drops the dns label and renumbers redis to 0.
	only := map[string][]int{}
	for _, name := range ds.Manifest().SplitNames() {
		s, _ := ds.Split(name)
		only[name] = []int{}
		for i := 0; i < s.Len(); i++ {
			if ds.Manifest().Labels[s.Meta(i).Label] == "redis" {
				only[name] = append(only[name], i)
			}
		}
	}
	rm, err := Subset(filepath.Join(tmp, "redis"), ds, only)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rm.Labels, []string{"redis"}) || rm.Splits["test"].PerClass["redis"] != len(only["test"]) {
		t.Fatalf("labels %v, test per class %v, want only redis (%d test flows)", rm.Labels, rm.Splits["test"].PerClass, len(only["test"]))
	}
	rds, _ := Open(filepath.Join(tmp, "redis"))
	defer rds.Close()
	rtr, _ := rds.Split("train")
	for i := 0; i < rtr.Len(); i++ {
		if rtr.Meta(i).Label != 0 {
			t.Fatalf("train flow %d has label %d, want 0 (redis)", i, rtr.Meta(i).Label)
		}
	}
	for _, bad := range []map[string][]int{{"nope": {0}}, {"train": {tr.Len()}}, {"train": {-1}}} {
		if _, err := Subset(filepath.Join(tmp, "bad"), ds, bad); err == nil {
			t.Fatalf("subset %v succeeded", bad)
		}
	}
}
