package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchClassifyRows: the classification rows time a classifier on the
// demo captures and write the trade-off table.
func TestBenchClassifyRows(t *testing.T) {
	table := filepath.Join(t.TempDir(), "t.md")
	o := benchOptions{classify: "random:tiny:64@3", classifyInput: demoDataDir, repeats: 1, table: table}
	var rows []benchRow
	add := func(what, value, note string) { rows = append(rows, benchRow{what, value, note}) }
	var out strings.Builder
	if err := benchClassifyRows(context.Background(), o, &out, add, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !strings.HasSuffix(rows[0].value, "flows/s") || !strings.Contains(rows[0].note, "653 flows of 6 captures") {
		t.Errorf("rows %+v", rows)
	}
	md, err := os.ReadFile(table)
	if err != nil || !strings.Contains(string(md), "| random tiny | 2 x 32") {
		t.Errorf("table %s: %v", md, err)
	}
}
