package dataset

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// TestWriteStats: the tables of dataset stats for a manifest (a demo
// build, given a leak, a warning and a short flow count by hand), as the
// command printed them before WriteStats moved here.
func TestWriteStats(t *testing.T) {
	b, err := os.ReadFile("testdata/stats-manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/stats.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	m.WriteStats(&got)
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("stats differ from testdata/stats.txt:\n got:\n%s\nwant:\n%s", got.Bytes(), want)
	}
}
