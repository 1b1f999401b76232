package sample

import (
	"context"
	"fmt"
	"os"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// ReadPacketCounts returns the packet count of every flow of the capture
// at path ("-": standard input), or of every capture in the folder path
// (in file and flow order), for Options.Lengths: a generator that draws each flow's packet
// budget from a real capture's flows has their length distribution by
// construction, instead of trusting the model to end a flow (left to
// itself it sometimes runs a one-packet protocol for dozens of packets).
// No flow at all is an error.
func ReadPacketCounts(ctx context.Context, path string, fc flow.Config) ([]int, error) {
	ins, err := pcap.Find([]string{path})
	if err != nil {
		return nil, err
	}
	var counts []int
	for _, in := range ins {
		f := os.Stdin
		if in.Path != pcap.Stdin {
			if f, err = os.Open(in.Path); err != nil {
				return nil, err
			}
		}
		_, err = codec.EncodeFlows(ctx, f, codec.EncodeOptions{Flow: fc, View: codec.View{MaxPackets: 1}}, func(ef *codec.EncodedFlow) error {
			counts = append(counts, ef.Packets)
			return nil
		})
		if f != os.Stdin {
			f.Close()
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Path, err)
		}
	}
	if len(counts) == 0 {
		return nil, fmt.Errorf("%s: no flows to draw packet counts from", path)
	}
	return counts, nil
}

// packetBudget is the packet limit of one flow: a draw from lengths (with
// the row's stream, so it depends on the seed and the flow index only)
// capped by max (0: no cap); with no lengths, max.
func packetBudget(lengths []int, max int, draw func(int) int) int {
	if len(lengths) == 0 {
		return max
	}
	n := lengths[draw(len(lengths))]
	if max > 0 && n > max {
		n = max
	}
	return n
}
