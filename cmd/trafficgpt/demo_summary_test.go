package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoSummaryDiscriminator: with too few generated flows the report's
// discriminator F1 is null, and the summary says "-" and why, not 0; with
// a score it prints the score.
func TestDemoSummaryDiscriminator(t *testing.T) {
	for _, tc := range []struct{ disc, want string }{
		{`null, "discriminator_f1_std": null`, "discriminator F1 - (8 generated flows: too few to train it, it needs 10)"},
		{`0.61, "discriminator_f1_std": 0.02`, "discriminator F1 0.610 +- 0.020"},
	} {
		dir := t.TempDir()
		p := func(name string) string { return filepath.Join(dir, name) }
		os.WriteFile(p("eval-classify.json"), []byte(`{"macro_f1": 1, "accuracy": 1}`), 0o644)
		os.WriteFile(p("eval-generate.json"), []byte(`{"header_jsd": {"mean": 0.5}, "flow_jsd": {"mean": 0.4}, "discriminator_f1": `+tc.disc+
			`, "validity": {"generated": {"flows": 8, "packet_decode_share": 1, "l4_checksum_share": 1, "tcp_handshake_share": 1}}}`), 0o644)
		var out bytes.Buffer
		if err := demoSummary(&out, demoOptions{input: "x"}, p, time.Second); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("summary lacks %q:\n%s", tc.want, out.String())
		}
		if strings.Contains(out.String(), "0.000 +- 0.000") {
			t.Errorf("summary prints a zero score:\n%s", out.String())
		}
	}
}
