package sample

import (
	"context"
	"io"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
)

// ReadPacketCounts returns the packet count of every flow of the capture r
// (in flow order; none for a capture without flows), for Options.Lengths: a generator that draws each flow's
// packet budget from a real capture's flows has their length distribution
// by construction, instead of trusting the model to end a flow (left to
// itself it sometimes runs a one-packet protocol for dozens of packets).
func ReadPacketCounts(ctx context.Context, r io.Reader, fc flow.Config) ([]int, error) {
	var counts []int
	_, err := codec.EncodeFlows(ctx, r, codec.EncodeOptions{Flow: fc, View: codec.View{MaxPackets: 1}}, func(ef *codec.EncodedFlow) error {
		counts = append(counts, ef.Packets)
		return nil
	})
	return counts, err
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
