package dataset

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
)

const devData = "../../../shared/data/dev-v1"

func needDev(t *testing.T) {
	if _, err := os.Stat(devData); err != nil {
		t.Skip("dev-v1 not found")
	}
}

// inputsOf expands a folder the way the CLI does (capture files only).
func inputsOf(t *testing.T, root string, names ...string) []InputFileRoot {
	var out []InputFileRoot
	if len(names) > 0 {
		for _, n := range names {
			out = append(out, InputFileRoot{Path: filepath.Join(root, n), Root: root})
		}
		return out
	}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && filepath.Ext(p) != ".csv" && filepath.Ext(p) != ".md" && filepath.Ext(p) != ".out" {
			out = append(out, InputFileRoot{Path: p, Root: root})
		}
		return nil
	})
	return out
}

// flowsPerFile counts flows with EncodeFlows, as `trafficgpt flows` does.
func flowsPerFile(t *testing.T, path string) int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	if _, err := codec.EncodeFlows(context.Background(), f, codec.EncodeOptions{KeepTrailing: true}, func(*codec.EncodedFlow) error {
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBuildGeneratedByFile(t *testing.T) {
	needDev(t)
	root := filepath.Join(devData, "generated")
	files := inputsOf(t, root, "dns.pcap", "mqtt.pcap", "redis.pcap")
	dir := filepath.Join(t.TempDir(), "ds")
	m, err := Build(context.Background(), dir, files, BuildOptions{Labels: "file", Group: "flow", Seed: 3,
		Split: []SplitFrac{{"train", 0.8}, {"valid", 0.1}, {"test", 0.1}}, View: codec.View{Mask: codec.MaskAddr | codec.MaskPorts}})
	if err != nil {
		t.Fatal(err)
	}
	perClass := map[string]int{}
	for _, si := range m.Splits {
		for c, n := range si.PerClass {
			perClass[c] += n
		}
	}
	for _, f := range files {
		label := fileLabel("file", root, f.Path)
		if want := flowsPerFile(t, f.Path); perClass[label] != want {
			t.Errorf("class %s: %d flows in the dataset, %d in the capture", label, perClass[label], want)
		}
	}
	if !m.Audit.Clean {
		t.Errorf("audit: %+v", m.Audit)
	}
	// Every split holds every class (stratified), in roughly the asked shares.
	for _, name := range []string{"train", "valid", "test"} {
		if len(m.Splits[name].PerClass) != 3 {
			t.Errorf("split %s has classes %v", name, m.Splits[name].PerClass)
		}
	}
}

func TestBuildZeekByDir(t *testing.T) {
	needDev(t)
	root := filepath.Join(devData, "zeek")
	var files []InputFileRoot
	for _, sub := range []string{"dns", "http", "ssh", "tls"} {
		for _, f := range inputsOf(t, filepath.Join(root, sub)) {
			files = append(files, InputFileRoot{Path: f.Path, Root: root})
		}
	}
	dir := filepath.Join(t.TempDir(), "ds")
	m, err := Build(context.Background(), dir, files, BuildOptions{Labels: "dir", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, si := range m.Splits {
		total += si.Flows
	}
	want := 0
	for _, in := range m.Inputs {
		want += flowsPerFile(t, in.Path)
	}
	if total != want {
		t.Errorf("%d flows in the dataset, %d in the captures", total, want)
	}
	if len(m.Labels) != 4 {
		t.Errorf("labels %v, want the 4 folders", m.Labels)
	}
	checkGroupedByFile(t, dir, m)
}

func TestBuildNdpiCSV(t *testing.T) {
	needDev(t)
	root := filepath.Join(devData, "ndpi", "pcap")
	files := inputsOf(t, root)[:120]
	dir := filepath.Join(t.TempDir(), "ds")
	m, err := Build(context.Background(), dir, files, BuildOptions{Labels: "csv:" + filepath.Join(devData, "ndpi", "flow_labels.csv"),
		LabelColumn: "app", Seed: 1, MinPackets: 2, AcceptSplitWarnings: true})
	if err != nil {
		t.Fatal(err)
	}
	// One capture holds most of the flows: grouped by file, the splits cannot
	// meet their targets, and the manifest says so.
	if len(m.Warnings) == 0 {
		t.Errorf("no split warning: %+v", m.Splits)
	}
	kept := 0
	for _, si := range m.Splits {
		kept += si.Flows
	}
	if kept == 0 || m.Dropped.Unlabelled == 0 || len(m.Labels) < 20 {
		t.Errorf("kept %d flows, dropped %d unlabelled, %d labels", kept, m.Dropped.Unlabelled, len(m.Labels))
	}
	checkGroupedByFile(t, dir, m)
}

// checkGroupedByFile: no capture file or connection in two splits (shared
// payloads are counted, not merged: see TestSplitsSharedMessages).
func checkGroupedByFile(t *testing.T, dir string, m *Manifest) {
	t.Helper()
	ds, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	fileSplit := map[uint32]string{}
	paySplit := map[uint64]string{}
	for _, name := range m.SplitNames() {
		sp, err := ds.Split(name)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < sp.Len(); i++ {
			meta := sp.Meta(i)
			if s, ok := fileSplit[meta.File]; ok && s != name {
				t.Errorf("file %s in splits %s and %s", m.Inputs[meta.File].Path, s, name)
			}
			fileSplit[meta.File] = name
			_ = paySplit
		}
	}
	if m.Audit.FilesAcrossSplits != 0 || m.Audit.KeysAcrossSplits != 0 || !m.Audit.Clean {
		t.Errorf("audit: %+v", m.Audit)
	}
}

func TestBuildDeterministic(t *testing.T) {
	needDev(t)
	files := inputsOf(t, filepath.Join(devData, "generated"), "dns.pcap", "mqtt.pcap")
	var shards [2][]byte
	for i := range shards {
		dir := filepath.Join(t.TempDir(), "ds")
		_, err := Build(context.Background(), dir, files, BuildOptions{Labels: "file", Group: "flow", Seed: 42, Jobs: 2,
			Split: []SplitFrac{{"train", 0.5}, {"test", 0.5}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"train.tgs", "test.tgs"} {
			b, _ := os.ReadFile(filepath.Join(dir, s))
			shards[i] = append(shards[i], b...)
		}
	}
	if !bytes.Equal(shards[0], shards[1]) {
		t.Error("the same seed gave different shards")
	}
}

func TestBuildSkipsBadFilesAndLeavesNoPartialDir(t *testing.T) {
	needDev(t)
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "bad.pcap")
	os.WriteFile(bad, []byte("not a capture, just text that is long enough"), 0o644)
	files := append(inputsOf(t, filepath.Join(devData, "generated"), "dns.pcap"), InputFileRoot{Path: bad, Root: tmp})
	var warned []string
	dir := filepath.Join(tmp, "ds")
	m, err := Build(context.Background(), dir, files, BuildOptions{Split: []SplitFrac{{"train", 1}}, Warn: func(s string) { warned = append(warned, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Skipped) != 1 || len(warned) != 1 {
		t.Errorf("skipped %v, warned %v", m.Skipped, warned)
	}
	// A cancelled build leaves no dataset directory behind.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir2 := filepath.Join(tmp, "ds2")
	if _, err := Build(ctx, dir2, files, BuildOptions{Split: []SplitFrac{{"train", 1}}}); err == nil {
		t.Error("cancelled build succeeded")
	}
	ents, _ := os.ReadDir(tmp)
	for _, e := range ents {
		if e.Name() != "ds" && e.Name() != "bad.pcap" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if _, err := Build(context.Background(), dir, files, BuildOptions{}); err == nil {
		t.Error("building into a non-empty directory succeeded")
	}
}

func TestLoaders(t *testing.T) {
	needDev(t)
	files := inputsOf(t, filepath.Join(devData, "generated"), "dns.pcap", "mqtt.pcap")
	dir := filepath.Join(t.TempDir(), "ds")
	if _, err := Build(context.Background(), dir, files, BuildOptions{Labels: "file", Group: "flow", Split: []SplitFrac{{"train", 1}},
		View: codec.View{MaxTokens: 300}}); err != nil {
		t.Fatal(err)
	}
	ds, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	sp, _ := ds.Split("train")
	const B, T = 3, 64
	// Packed windows tile the stream: window k's last target = window k+1's first token.
	ld, err := NewLMLoader(sp, LMOptions{Batch: B, Context: T, Packed: true, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	tok, tgt, kinds := make([]int32, B*T), make([]int32, B*T), make([]uint8, B*T)
	var prevLast int32 = -2
	var states []LoaderState
	var batches [][]int32
	for step := 0; step < 600; step++ {
		states = append(states, ld.State())
		if err := ld.Next(tok, tgt, kinds); err != nil {
			t.Fatal(err)
		}
		batches = append(batches, append([]int32(nil), tok...))
		for b := 0; b < B; b++ {
			row, trow := tok[b*T:(b+1)*T], tgt[b*T:(b+1)*T]
			if prevLast != -2 && row[0] != prevLast {
				t.Fatalf("step %d row %d: window starts with %d, previous window's last target was %d", step, b, row[0], prevLast)
			}
			for i := 0; i+1 < T; i++ {
				if trow[i] != row[i+1] {
					t.Fatalf("target %d is not the next token", i)
				}
			}
			prevLast = trow[T-1]
		}
	}
	if ld.Epoch() < 1 {
		t.Errorf("600 batches did not complete an epoch (%d tokens)", sp.Tokens())
	}
	// Restore gives the same batches.
	ld2, _ := NewLMLoader(sp, LMOptions{Batch: B, Context: T, Packed: true, Seed: 9})
	if err := ld2.Restore(states[450]); err != nil {
		t.Fatal(err)
	}
	for step := 450; step < 600; step++ {
		ld2.Next(tok, tgt, nil)
		for i := range tok {
			if tok[i] != batches[step][i] {
				t.Fatalf("restored loader differs at step %d", step)
			}
		}
	}
	// Unpacked: one flow per row, padded, targets -1 on padding.
	ldu, _ := NewLMLoader(sp, LMOptions{Batch: B, Context: T, Seed: 1})
	ldu.Next(tok, tgt, kinds)
	if tok[0] != int32(codec.FLOW) {
		t.Errorf("unpacked row does not start with <flow>")
	}
	// Classification: one pass, <cls> at clsPos, labels in range.
	cl, _ := NewClsLoader(sp, ClsOptions{Batch: 8, Context: 32})
	cls, labels := make([]int32, 8), make([]int32, 8)
	seen := 0
	for {
		n, err := cl.Next(make([]int32, 8*32), cls, labels, nil)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if cls[i] > 31 || labels[i] < 0 || labels[i] > 1 {
				t.Fatalf("bad sample: cls %d label %d", cls[i], labels[i])
			}
		}
		seen += n
	}
	if seen != sp.Len() {
		t.Errorf("one pass gave %d samples, split has %d", seen, sp.Len())
	}
}

// TestShardedBuildMerge: 3 shards merged give the same dataset as one build.
func TestShardedBuildMerge(t *testing.T) {
	needDev(t)
	var files []InputFileRoot
	root := filepath.Join(devData, "zeek")
	for _, sub := range []string{"dns", "http", "ssh"} {
		for _, f := range inputsOf(t, filepath.Join(root, sub)) {
			files = append(files, InputFileRoot{Path: f.Path, Root: root})
		}
	}
	o := BuildOptions{Labels: "dir", Seed: 5, Split: []SplitFrac{{"train", 0.6}, {"valid", 0.2}, {"test", 0.2}}}
	tmp := t.TempDir()
	one := filepath.Join(tmp, "one")
	m1, err := Build(context.Background(), one, files, o)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for i := 0; i < 3; i++ {
		pd := filepath.Join(tmp, "part"+string(rune('0'+i)))
		if _, err := BuildShard(context.Background(), pd, files, o, i, 3); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, pd)
	}
	merged := filepath.Join(tmp, "merged")
	m2, err := Merge(context.Background(), merged, parts)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range m1.SplitNames() {
		a, _ := os.ReadFile(filepath.Join(one, m1.Splits[name].Shard))
		b, _ := os.ReadFile(filepath.Join(merged, m2.Splits[name].Shard))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("split %s: merged shard differs from the single build (%d vs %d bytes)", name, len(a), len(b))
		}
	}
	if len(m1.Labels) != len(m2.Labels) || len(m1.Inputs) != len(m2.Inputs) || m1.Groups != m2.Groups {
		t.Errorf("manifests differ: labels %d/%d inputs %d/%d groups %d/%d", len(m1.Labels), len(m2.Labels), len(m1.Inputs), len(m2.Inputs), m1.Groups, m2.Groups)
	}
	if _, err := Merge(context.Background(), filepath.Join(tmp, "bad"), parts[:2]); err == nil {
		t.Error("merging 2 of 3 shards succeeded")
	}
}
