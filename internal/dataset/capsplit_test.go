package dataset

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// TestSplitCaptures: class folders split by flow keep their paths, every
// flow lands whole in one half (the halves' flows add up to the input's),
// and the same seed gives the same bytes.
func TestSplitCaptures(t *testing.T) {
	root, files := demoClassDirs(t, 2, "dns", "mqtt")
	ins, err := pcap.Find([]string{root})
	if err != nil || len(ins) != len(files) {
		t.Fatalf("find: %v %v", ins, err)
	}
	want := 0
	for _, in := range ins {
		want += flowsPerFile(t, in.Path)
	}
	out := t.TempDir()
	o := CaptureSplitOptions{DirA: filepath.Join(out, "A"), DirB: filepath.Join(out, "B"), FracA: 0.5, Seed: 3}
	st, err := SplitCaptures(context.Background(), ins, o)
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != len(ins) || st.FlowsA+st.FlowsB != want || st.FlowsA < want/4 || st.FlowsB < want/4 {
		t.Errorf("stats %+v, %d flows in the inputs", st, want)
	}
	got := 0
	for _, half := range []string{o.DirA, o.DirB} {
		for _, class := range []string{"dns", "mqtt"} {
			for _, part := range []string{"part0.pcap", "part1.pcap"} {
				got += flowsPerFile(t, filepath.Join(half, class, part))
			}
		}
	}
	if got != want {
		t.Errorf("the halves read back as %d flows, the inputs have %d (a flow cut in two would add one)", got, want)
	}
	o2 := o
	o2.DirA, o2.DirB = filepath.Join(out, "A2"), filepath.Join(out, "B2")
	if _, err := SplitCaptures(context.Background(), ins, o2); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(o.DirA, "dns", "part0.pcap"))
	b, _ := os.ReadFile(filepath.Join(o2.DirA, "dns", "part0.pcap"))
	if len(a) == 0 || string(a) != string(b) {
		t.Error("the same seed split differently")
	}
	o.FracA = 1
	if _, err := SplitCaptures(context.Background(), ins, o); err == nil {
		t.Error("fraction 1: no error")
	}
}
