package sample

import (
	"context"
	"testing"
)

// TestGrammarOnly: with Options.GrammarOnly a random model's flows still
// decode into a capture (the codec grammar holds), but many of its packets
// do not parse as TCP or UDP over IP, where the rules make every packet
// parse; options that are rules are refused with it.
func TestGrammarOnly(t *testing.T) {
	m := tinyModel(t, 3)
	o := Options{Sampling: Sampling{Temperature: 1}, Seed: 3, Batch: 4, MaxPackets: 8, MaxTokens: 400, Label: -1}
	ruled, _, _ := generatePcap(t, m, 16, o, WriteOptions{Seed: 3})
	if bad, all := nonIP(t, ruled); bad != 0 || all == 0 {
		t.Fatalf("with the rules %d of %d packets do not parse", bad, all)
	}
	o.GrammarOnly = true
	free, _, flows := generatePcap(t, m, 16, o, WriteOptions{Seed: 3})
	bad, all := nonIP(t, free)
	if all == 0 || bad*4 < all {
		t.Fatalf("grammar only: %d of %d packets do not parse; a random model should break most", bad, all)
	}
	for _, f := range flows {
		if n := len(f.Tokens); n > 400+MaxFrame+64 {
			t.Errorf("flow %d: %d tokens past MaxTokens 400", f.Index, n)
		}
	}
	for _, bad := range []Options{
		{Label: -1, GrammarOnly: true, Handshake: 1},
		{Label: -1, GrammarOnly: true, CheckPackets: true},
		{Label: -1, GrammarOnly: true, Shapes: []FlowShape{{Proto: 17, Packets: []PacketShape{{}}}}},
	} {
		if _, err := Generate(context.Background(), m, 2, bad, func(*Flow) error { return nil }); err == nil {
			t.Errorf("options %+v were accepted", bad)
		}
	}
}
