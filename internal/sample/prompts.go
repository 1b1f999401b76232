package sample

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
)

// ReadPrompts takes the first k packets of up to n flows of the capture r
// as generation prompts (tokens without the flow's end), with the label
// token of label after <flow> when label >= 0. Flows CheckPrompt rejects
// (not Ethernet, or outside the generation grammar) are skipped and
// counted; no usable flow at all is an error.
func ReadPrompts(ctx context.Context, r io.Reader, k, n, label int, fc flow.Config) (prompts [][]codec.Token, skipped int, err error) {
	errFull := errors.New("enough prompts")
	_, err = codec.EncodeFlows(ctx, r, codec.EncodeOptions{Flow: fc, View: codec.View{MaxPackets: k}}, func(ef *codec.EncodedFlow) error {
		toks := ef.Tokens
		if m := len(toks); m > 0 && (toks[m-1] == codec.END || toks[m-1] == codec.CUT) {
			toks = toks[:m-1]
		}
		p := slices.Clone(toks)
		if label >= 0 && len(p) > 1 {
			p = slices.Insert(p, 1, codec.Label0+codec.Token(label))
		}
		if CheckPrompt(p) != nil {
			skipped++
			return nil
		}
		prompts = append(prompts, p)
		if len(prompts) == n {
			return errFull
		}
		return nil
	})
	if err != nil && err != errFull {
		return nil, 0, err
	}
	if len(prompts) == 0 {
		return nil, skipped, fmt.Errorf("no flow can serve as a prompt (%d skipped: not Ethernet, or the generation grammar rejects it)", skipped)
	}
	return prompts, skipped, nil
}
