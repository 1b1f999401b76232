package classify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseBenchSpecs(t *testing.T) {
	tests := []struct {
		in   string
		want []BenchSpec
		bad  bool
	}{
		{"random:tiny:256@3", []BenchSpec{{Name: "random:tiny:256@3", Preset: "tiny", Len: 256, Early: 3}}, false},
		{"clf@5=ds,other", []BenchSpec{{Name: "clf@5=ds", Model: "clf", Data: "ds", Early: 5}, {Name: "other", Model: "other"}}, false},
		{"clf@x", nil, true},
		{"random:tiny", nil, true},
	}
	for _, tc := range tests {
		got, err := ParseBenchSpecs(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: no error", tc.in)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Fatalf("%q: %+v, %v", tc.in, got, err)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: spec %d %+v, want %+v", tc.in, i, got[i], tc.want[i])
			}
		}
	}
}

// TestBench: a random tiny classifier classifies every flow of the demo
// captures, and its row reaches the trade-off table.
func TestBench(t *testing.T) {
	specs, err := ParseBenchSpecs("random:tiny:64@3")
	if err != nil {
		t.Fatal(err)
	}
	rows, ncap, err := Bench(context.Background(), specs, "../../testdata/demo", 1)
	if err != nil {
		t.Fatal(err)
	}
	if ncap != 6 || len(rows) != 1 || rows[0].Rate.Flows != 653 || rows[0].MacroF1 != -1 || rows[0].Len != 64 {
		t.Fatalf("%d captures, rows %+v", ncap, rows)
	}
	var md strings.Builder
	png := filepath.Join(t.TempDir(), "curve.png")
	if err := WriteBenchTable(&md, png, rows, "demo", "0.5 0.5 0.5"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| random tiny | 2 x 32") || !strings.Contains(md.String(), "load average 0.5 0.5 0.5") {
		t.Errorf("table:\n%s", md.String())
	}
	if _, err := os.Stat(png); err == nil {
		t.Errorf("%s written without a macro-F1 to plot", png)
	}
	if _, _, err := Bench(context.Background(), specs, t.TempDir(), 1); err == nil {
		t.Error("no captures: no error")
	}
}

func TestViewName(t *testing.T) {
	c, err := RandomClassifier("tiny", 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	v := c.View
	for _, tc := range []struct {
		mut  func()
		want string
	}{
		{func() { v.MaxPackets, v.HeaderOnly, v.MaxPayload = 0, false, 0 }, "whole flows"},
		{func() { v.MaxPackets, v.HeaderOnly = 20, true }, "20 packets, headers only"},
		{func() { v.MaxPackets, v.HeaderOnly, v.MaxPayload = 0, false, 64 }, "payload <= 64 B"},
	} {
		tc.mut()
		if got := viewName(v); got != tc.want {
			t.Errorf("viewName(%+v) = %q, want %q", v, got, tc.want)
		}
	}
}
