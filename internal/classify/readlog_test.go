package classify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadLogTornLine: a torn last line is ignored, a corrupt line before
// it is an error naming the line (the rule train.ReadLog shares).
func TestReadLogTornLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		text  string
		lines int
		err   string
	}{
		{`{"kind":"train","step":1}` + "\n" + `{"kind":"epoch","epoch":1}` + "\n", 2, ""},
		{`{"kind":"train","step":1}` + "\n" + `{"kind":"tra`, 1, ""},
		{`{"kind":"train","step":1}` + "\n" + "{oops\n" + `{"kind":"train","step":3}` + "\n", 1, "line 2"},
	} {
		if err := os.WriteFile(filepath.Join(dir, LogFile), []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		lines, err := ReadLog(dir)
		if len(lines) != tc.lines || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: %d lines, err %v; want %d lines, err %q", tc.text, len(lines), err, tc.lines, tc.err)
		}
	}
}
