package dataset

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/devdata"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// demoRoot holds the repository's real captures of 6 classes: the fixtures
// of the core tests. dev-v1 (devdata) is for the extended checks.
var demoRoot = filepath.Join("..", "..", "testdata", "demo")

// demoClassDirs builds a folder per demo class under a temporary root, each
// holding the class's capture cut into parts files (consecutive runs of
// packets, so flows that straddle a cut are in two files), and returns them
// as inputs rooted there: the shape of a corpus labelled by folder.
func demoClassDirs(t *testing.T, parts int, classes ...string) (root string, files []InputFileRoot) {
	t.Helper()
	root = t.TempDir()
	for _, class := range classes {
		data, err := os.ReadFile(filepath.Join(demoRoot, class+".pcap"))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := pcap.ReadPackets(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, class)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < parts; i++ {
			var buf bytes.Buffer
			part := recs[i*len(recs)/parts : (i+1)*len(recs)/parts]
			if err := pcap.WritePackets(&buf, pcap.Framing{Format: pcap.FormatPcap, Resolution: recs[0].Resolution}, recs[0].LinkType, 262144, part); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, fmt.Sprintf("part%d.pcap", i))
			if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, InputFileRoot{Path: p, Root: root})
		}
	}
	return root, files
}

// zeekDirs lists dev-v1's zeek captures of some protocols, labelled by
// folder (extended checks).
func zeekDirs(t *testing.T, subs ...string) []InputFileRoot {
	root := devdata.Path(t, "zeek")
	var files []InputFileRoot
	for _, sub := range subs {
		for _, f := range inputsOf(t, filepath.Join(root, sub)) {
			files = append(files, InputFileRoot{Path: f.Path, Root: root})
		}
	}
	return files
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

func TestBuildByFile(t *testing.T) {
	root := demoRoot
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
		label := FileLabel("file", root, f.Path)
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

// TestSplitLengths: the summary of a split's token lengths agrees with
// its flows, and the split's tokens are their sum.
func TestSplitLengths(t *testing.T) {
	ds := openDemoDNSMQTT(t)
	sp, err := ds.Split("train")
	if err != nil {
		t.Fatal(err)
	}
	l, ok := sp.Lengths()
	if !ok {
		t.Fatal("train split: no lengths")
	}
	var lens []int
	for i := range sp.Len() {
		lens = append(lens, int(sp.Meta(i).Len))
	}
	slices.Sort(lens)
	n := len(lens)
	want := Lengths{P50: lens[n/2], P90: lens[int(0.9*float64(n))], P99: lens[int(0.99*float64(n))], Max: lens[n-1],
		Mean: float64(sp.Tokens()) / float64(n)}
	if l != want || !(l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("lengths %+v, want %+v", l, want)
	}
}

// TestBuildByDir: labels from folders, split by file: every flow of the
// inputs is in the dataset, no file in two splits.
func TestBuildByDir(t *testing.T) {
	t.Run("demo", func(t *testing.T) {
		_, files := demoClassDirs(t, 10, "dns", "http", "ssh", "mqtt")
		testBuildByDir(t, files)
	})
	t.Run("dev-v1/zeek", func(t *testing.T) { testBuildByDir(t, zeekDirs(t, "dns", "http", "ssh", "tls")) })
}

func testBuildByDir(t *testing.T, files []InputFileRoot) {
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

// TestBuildCSV: per-flow labels from a CSV keyed by (file, protocol,
// client, server), either direction: a flow is kept exactly when its key is
// labelled, the others are dropped as unlabelled.
func TestBuildCSV(t *testing.T) {
	tmp := t.TempDir()
	csvPath := filepath.Join(tmp, "labels.csv")
	rows := "pcap,l4,client,server,app\n"
	labelled, all := 0, 0
	labelledKeys := map[string]bool{}
	var files []InputFileRoot
	for _, name := range []string{"dns.pcap", "http.pcap"} {
		path := filepath.Join(demoRoot, name)
		files = append(files, InputFileRoot{Path: path, Root: demoRoot})
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var flows []*codec.EncodedFlow
		_, err = codec.EncodeFlows(context.Background(), f, codec.EncodeOptions{KeepTrailing: true}, func(ef *codec.EncodedFlow) error {
			c := *ef
			c.Tokens = nil
			flows = append(flows, &c)
			return nil
		})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, ef := range flows {
			all++
			if ef.Key.Kind != packet.KindPorts || ef.ID%3 == 0 {
				continue // left unlabelled
			}
			c, s := ef.Key.ClientServer(ef.FirstAToB)
			l4 := map[uint8]string{6: "TCP", 17: "udp"}[ef.Key.Proto]
			if ef.ID%2 == 0 {
				c, s = s, c // either direction names the flow
			}
			rows += fmt.Sprintf("%s,%s,%s,%s,%s-app\n", name, l4, c, s, name[:len(name)-5])
			labelledKeys[name+ef.Key.String()] = true
		}
		for _, ef := range flows {
			if labelledKeys[name+ef.Key.String()] {
				labelled++
			}
		}
	}
	if err := os.WriteFile(csvPath, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "ds")
	m, err := Build(context.Background(), dir, files, BuildOptions{Labels: "csv:" + csvPath, LabelColumn: "app", Group: "flow", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, si := range m.Splits {
		kept += si.Flows
	}
	if labelled == 0 || labelled == all || kept != labelled || m.Dropped.Unlabelled != all-labelled || len(m.Labels) != 2 {
		t.Errorf("kept %d flows (want %d), dropped %d unlabelled (want %d), labels %v", kept, labelled, m.Dropped.Unlabelled, all-labelled, m.Labels)
	}
}

// TestBuildNdpiCSV (extended, dev-v1): ndpi's per-flow labels.
func TestBuildNdpiCSV(t *testing.T) {
	root := devdata.Path(t, "ndpi", "pcap")
	files := inputsOf(t, root)[:120]
	dir := filepath.Join(t.TempDir(), "ds")
	m, err := Build(context.Background(), dir, files, BuildOptions{Labels: "csv:" + devdata.Path(t, "ndpi", "flow_labels.csv"),
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
	files := inputsOf(t, demoRoot, "dns.pcap", "mqtt.pcap")
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
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "bad.pcap")
	os.WriteFile(bad, []byte("not a capture, just text that is long enough"), 0o644)
	files := append(inputsOf(t, demoRoot, "dns.pcap"), InputFileRoot{Path: bad, Root: tmp})
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
	files := inputsOf(t, demoRoot, "dns.pcap", "mqtt.pcap")
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
	t.Run("demo", func(t *testing.T) {
		_, files := demoClassDirs(t, 5, "dns", "http", "ssh")
		testShardedBuildMerge(t, files)
	})
	t.Run("dev-v1/zeek", func(t *testing.T) { testShardedBuildMerge(t, zeekDirs(t, "dns", "http", "ssh")) })
}

func testShardedBuildMerge(t *testing.T, files []InputFileRoot) {
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

// openDemoDNSMQTT builds a dataset of the demo's dns and mqtt captures
// (labels by file, split by flow 0.8/0.2, seed 1) and opens it; it is closed
// when the test ends.
func openDemoDNSMQTT(t *testing.T) *Dataset {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ds")
	if _, err := Build(context.Background(), dir, inputsOf(t, demoRoot, "dns.pcap", "mqtt.pcap"), BuildOptions{Labels: "file",
		Group: "flow", Seed: 1, Split: []SplitFrac{{"train", 0.8}, {"test", 0.2}}}); err != nil {
		t.Fatal(err)
	}
	ds, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}
