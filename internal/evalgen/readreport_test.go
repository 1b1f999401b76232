package evalgen

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadReportRoundTrip: the golden report read back and written again
// is the same bytes (Scores keep their order, null stays null).
func TestReadReportRoundTrip(t *testing.T) {
	golden := filepath.Join("..", "..", "testdata", "golden", "eval-generate-demo.json")
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ReadReport(golden)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(got)+"\n" != string(want) {
		t.Errorf("round trip differs from %s:\n%s", golden, got)
	}
}

// TestWriteSummary: with too few generated flows the report's discriminator
// F1 is null, and the summary says "-" and why, not 0; with a score it
// prints the score.
func TestWriteSummary(t *testing.T) {
	for _, tc := range []struct{ disc, want string }{
		{`null, "discriminator_f1_std": null`, "discriminator F1 - (8 generated flows: too few to train it, it needs 10)"},
		{`0.61, "discriminator_f1_std": 0.02`, "discriminator F1 0.610 +- 0.020"},
	} {
		path := filepath.Join(t.TempDir(), "r.json")
		os.WriteFile(path, []byte(`{"header_jsd": {"mean": 0.5}, "flow_jsd": {"mean": 0.4}, "discriminator_f1": `+tc.disc+
			`, "validity": {"generated": {"flows": 8, "packet_decode_share": 1, "l4_checksum_share": 1, "tcp_handshake_share": 1}}}`), 0o644)
		r, err := ReadReport(path)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		r.WriteSummary(&out)
		s := out.String()
		if !strings.Contains(s, tc.want) || !strings.Contains(s, "header JSD 0.500   flow JSD 0.400") ||
			!strings.Contains(s, "decode 100.0%   TCP/UDP checksums 100.0%   handshakes 100.0%   tshark clean -") {
			t.Errorf("summary lacks %q:\n%s", tc.want, s)
		}
		if strings.Contains(s, "0.000 +- 0.000") {
			t.Errorf("summary prints a zero score:\n%s", s)
		}
	}
}
