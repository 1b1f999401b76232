package codec

import (
	"math/rand/v2"
	"testing"
)

// TestGrammarRandomWalks: flows sampled from the grammar's allowed sets
// (uniformly, and biased towards ending packets) always decode.
func TestGrammarRandomWalks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	allowed := make([]bool, VocabSize)
	for walk := 0; walk < 300; walk++ {
		g := NewGrammar(200)
		g.MaxPackets = 1 + r.IntN(6)
		var toks []Token
		for steps := 0; !g.Done(); steps++ {
			if steps > 5000 {
				t.Fatalf("walk %d does not end", walk)
			}
			g.Allowed(allowed)
			var choices []Token
			for tok, ok := range allowed {
				if ok {
					choices = append(choices, Token(tok))
				}
			}
			if len(choices) == 0 {
				t.Fatalf("walk %d: nothing allowed after\n%s", walk, Format(toks))
			}
			tok := choices[r.IntN(len(choices))]
			// Prefer structure now and then so packets stay short.
			if r.IntN(8) == 0 {
				for _, c := range choices {
					if c == PKTC2S || c == PKTS2C || c == END {
						tok = c
					}
				}
			}
			if err := g.Push(tok); err != nil {
				t.Fatalf("walk %d: push %s: %v\n%s", walk, TokenName(tok), err, Format(toks))
			}
			toks = append(toks, tok)
		}
		n := 0
		if _, err := DecodeFlow(toks, 0, func(Packet) error { n++; return nil }); err != nil || n != g.Packets() {
			t.Fatalf("walk %d: decode: %v (%d packets, grammar counted %d)\n%s", walk, err, n, g.Packets(), Format(toks))
		}
	}
}
