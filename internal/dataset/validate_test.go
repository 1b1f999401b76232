package dataset

import (
	"bytes"
	"strings"
	"testing"
)

func TestCaptureSplitOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		o    CaptureSplitOptions
		want string
	}{
		{CaptureSplitOptions{DirA: "a", DirB: "b", FracA: 0.5}, ""},
		{CaptureSplitOptions{DirA: "a", FracA: 0.5}, "need -a and -b, two different folders"},
		{CaptureSplitOptions{DirA: "a", DirB: "a", FracA: 0.5}, "need -a and -b, two different folders"},
		{CaptureSplitOptions{DirA: "a", DirB: "b", FracA: 1}, "--frac 1: want a share between 0 and 1"},
		{CaptureSplitOptions{DirA: "a", DirB: "b"}, "--frac 0: want a share between 0 and 1"},
	} {
		err := c.o.Validate()
		if (c.want == "" && err != nil) || (c.want != "" && (err == nil || err.Error() != c.want)) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		s    string
		i, n int
		ok   bool
	}{
		{"0/3", 0, 3, true}, {"2/3", 2, 3, true}, {"3/3", 0, 0, false}, {"-1/3", 0, 0, false},
		{"0/0", 0, 0, false}, {"x", 0, 0, false}, {"1", 0, 0, false},
	} {
		i, n, err := ParseShard(c.s)
		if (err == nil) != c.ok || i != c.i || n != c.n {
			t.Errorf("ParseShard(%q) = %d, %d, %v", c.s, i, n, err)
		}
		if err != nil && err.Error() != `--shard "`+c.s+`": want I/N with 0 <= I < N` {
			t.Errorf("ParseShard(%q): message %q", c.s, err)
		}
	}
}

// TestDatasetWriteStats: dataset stats on a dataset built from the demo
// captures: the manifest's tables, then one percentile row per split.
func TestDatasetWriteStats(t *testing.T) {
	ds := openDemoDNSMQTT(t)
	var b bytes.Buffer
	if err := ds.WriteStats(&b); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	i := strings.Index(s, "\nsplit         p50      p90      p99      max     mean\n")
	if i < 0 {
		t.Fatalf("no percentile table:\n%s", s)
	}
	var m bytes.Buffer
	ds.Manifest().WriteStats(&m)
	if s[:i] != m.String() {
		t.Errorf("the manifest's tables do not come first:\n%s", s)
	}
	rows := strings.Split(strings.TrimSpace(s[i:]), "\n")[1:]
	if len(rows) != len(ds.Manifest().SplitNames()) {
		t.Errorf("%d percentile rows for splits %v:\n%s", len(rows), ds.Manifest().SplitNames(), s[i:])
	}
}
