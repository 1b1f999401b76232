package classify

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// TestReportText: the tables of eval classify for a report read from its
// JSON (testdata/eval-report.*: a tiny demo classifier with the baselines
// and the open-set check, printed by the command before WriteText moved
// here).
func TestReportText(t *testing.T) {
	b, err := os.ReadFile("testdata/eval-report.json")
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/eval-report.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	r.WriteText(&got)
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("text differs from testdata/eval-report.txt:\n got:\n%s\nwant:\n%s", got.Bytes(), want)
	}
	// The JSON round-trips through Report unchanged.
	again, err := json.MarshalIndent(&r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(again, '\n'), b) {
		t.Errorf("JSON does not round-trip through Report:\n%s", again)
	}
}
