package sample

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// undecodable counts the packets of capture pc that packet.Decode rejects
// or that carry neither TCP nor UDP over IP.
func undecodable(t *testing.T, pc []byte) (bad, all int) {
	t.Helper()
	r, err := pcap.NewReader(bytes.NewReader(pc), pcap.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var l packet.Layers
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return bad, all
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind != pcap.KindPacket {
			continue
		}
		all++
		if packet.Decode(packet.LinkEthernet, rec.Data, &l) != nil || l.IPVersion == 0 || !l.HasPorts() {
			bad++
		}
	}
}

// TestGrammarOnly: with Options.GrammarOnly a random model's flows still
// decode into a capture (the codec grammar holds), but many of its packets
// do not parse as TCP or UDP over IP, where the rules make every packet
// parse; options that are rules are refused with it.
func TestGrammarOnly(t *testing.T) {
	m := tinyModel(t, 3)
	o := Options{Sampling: Sampling{Temperature: 1}, Seed: 3, Batch: 4, MaxPackets: 8, MaxTokens: 400, Label: -1}
	ruled, _, _ := generatePcap(t, m, 16, o, WriteOptions{Seed: 3})
	if bad, all := undecodable(t, ruled); bad != 0 || all == 0 {
		t.Fatalf("with the rules %d of %d packets do not parse", bad, all)
	}
	o.GrammarOnly = true
	free, _, flows := generatePcap(t, m, 16, o, WriteOptions{Seed: 3})
	bad, all := undecodable(t, free)
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
