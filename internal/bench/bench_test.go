package bench

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/bench.txt")

// TestWriteTextGolden pins the layout of bench's table (the numbers are
// the machine's; these are fixed).
func TestWriteTextGolden(t *testing.T) {
	r := &Report{Rows: []Row{
		{"tokenize", "412 MB/s", "(http.pcap, 3.1 MB, lossless check on, 1 core)"},
		{"sgemm 1024^3", "95 GFLOP/s", "(openblas, 2 threads)"},
		{"train small, T=1024", "5210 tokens/s", "(41 GFLOP/s = 43% of sgemm)"},
		{"sample small, batch 8 / batch 1", "1.70x", "(random weights, top-k 40)"},
		{"classify", "skipped", "(no captures: stat testdata/demo: no such file or directory; --classify-input DIR)"},
	}}
	var got bytes.Buffer
	if err := r.WriteText(&got); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("..", "..", "testdata", "golden", "bench.txt")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run TestWriteTextGolden -update writes it)", err)
	}
	if got.String() != string(want) {
		t.Errorf("bench table:\n%s\nwant (%s):\n%s", got.String(), golden, want)
	}
	var none bytes.Buffer
	(&Report{}).WriteText(&none)
	if none.Len() != 0 {
		t.Errorf("an empty report printed %q", none.String())
	}
}

func TestValidate(t *testing.T) {
	ok := Options{Context: 12032, GenPos: 12000, Configs: []string{"small", "paper"}, Classify: DefaultClassify, Repeats: 3}
	for _, c := range []struct {
		name string
		edit func(*Options)
		want string // "" = valid
	}{
		{"defaults", func(*Options) {}, ""},
		{"quick overrides sizes", func(o *Options) { o.Quick, o.Context, o.Configs = true, 0, []string{"nope"} }, ""},
		{"unknown preset", func(o *Options) { o.Configs = []string{"huge"} }, "huge"},
		{"classify only ignores presets", func(o *Options) { o.ClassifyOnly, o.Configs = true, []string{"huge"} }, ""},
		{"bad classifier spec", func(o *Options) { o.Classify = "random:tiny:x" }, "--classify "},
		{"no classifiers", func(o *Options) { o.Classify = "" }, ""},
		{"zero context", func(o *Options) { o.Context = 0 }, "--ctx 0"},
		{"zero repeats", func(o *Options) { o.Repeats = 0 }, "--classify-repeats 0"},
	} {
		o := ok
		c.edit(&o)
		err := o.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestClassifyRows: the classification rows time a classifier on the demo
// captures and write the trade-off table.
func TestClassifyRows(t *testing.T) {
	table := filepath.Join(t.TempDir(), "t.md")
	var seen []Row
	o := Options{Classify: "random:tiny:64@3", ClassifyInput: filepath.Join("..", "..", "testdata", "demo"), Repeats: 1, Table: table,
		ClassifyOnly: true, Row: func(r Row) { seen = append(seen, r) }}
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 1 || len(seen) != 1 || !strings.HasSuffix(r.Rows[0].Value, "flows/s") || !strings.Contains(r.Rows[0].Note, "653 flows of 6 captures") {
		t.Errorf("rows %+v", r.Rows)
	}
	md, err := os.ReadFile(table)
	if err != nil || !strings.Contains(string(md), "| random tiny | 2 x 32") {
		t.Errorf("table %s: %v", md, err)
	}
	// Without the captures (and not --classify-only) the row says so.
	o.ClassifyOnly, o.ClassifyInput = false, filepath.Join(t.TempDir(), "missing")
	var rows []Row
	if err := classifyRows(context.Background(), o, func(w, v, n string) { rows = append(rows, Row{w, v, n}) }); err != nil || len(rows) != 1 || rows[0].Value != "skipped" {
		t.Errorf("missing input: %v, rows %+v", err, rows)
	}
}

func TestLoadAverage(t *testing.T) {
	if la := LoadAverage(); la != "unknown" && len(strings.Fields(la)) != 3 {
		t.Errorf("LoadAverage() = %q", la)
	}
}
