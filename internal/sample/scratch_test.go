package sample

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
)

func TestScratchReplay(t *testing.T) {
	f, err := os.Open(os.Getenv("PCAP"))
	if err != nil {
		t.Skip()
	}
	defer f.Close()
	nf := 0
	codec.EncodeFlows(context.Background(), f, codec.EncodeOptions{Flow: flow.DefaultConfig()}, func(ef *codec.EncodedFlow) error {
		nf++
		rw := newRow(0, &Options{Label: -1})
		allowed := make([]bool, codec.VocabSize)
		pk := 0
		for i, tok := range ef.Tokens {
			if i >= 3 {
				rw.g.Allowed(allowed)
				rw.r.constrain(allowed)
				inHdr := rw.r.phase == pBody && rw.r.sh.inHdr
				if !allowed[tok] && !inHdr && rw.r.phase == pBody {
					app := ""
					if rw.r.app != nil {
						app = rw.r.app.name
					}
					fmt.Printf("flow %d: token %d (%s) not allowed; packet %d, body len %d, payOff %d, app %s\n", nf, i, codec.TokenName(tok), pk, len(rw.r.body), rw.r.sh.payOff, app)
					if len(rw.r.body) > rw.r.sh.payOff {
						fmt.Printf("  payload: %x\n", rw.r.body[rw.r.sh.payOff:])
					}
					return nil
				}
			}
			if tok == codec.PKTC2S || tok == codec.PKTS2C {
				pk++
			}
			if err := rw.push(tok); err != nil {
				fmt.Printf("flow %d: push %v\n", nf, err)
				return nil
			}
		}
		return nil
	})
}
