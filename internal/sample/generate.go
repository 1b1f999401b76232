package sample

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

// Options configure Generate.
type Options struct {
	Sampling
	Seed uint64
	// Batch is the number of flows generated in parallel (rows of one
	// model.State); default 8.
	Batch int
	// MaxPackets > 0 ends a flow after that many packets (prompt packets
	// included); 0 means no limit.
	MaxPackets int
	// Lengths, when not empty, are packet counts of real flows (e.g.
	// ReadPacketCounts of a capture of the class): each flow draws one as
	// its own packet limit (capped by MaxPackets), so generated flows end
	// no later than real ones do and TCP flows close in time for it.
	Lengths []int
	// MaxTokens > 0 ends a flow at the first packet boundary after that
	// many tokens (the packet being generated is finished first, up to its
	// transport header); 0 means no limit.
	MaxTokens int
	// Label >= 0 forces <label:Label> after <flow>; -1: no label token.
	Label int
	// Prompts, when not empty, are the forced beginnings of the flows: flow
	// i starts with Prompts[i % len(Prompts)] (a flow header and whole
	// packets, without <end>/<cut>; see CheckPrompt). Without prompts every
	// flow starts with the forced header <flow> [<label:i>] <link:eth>
	// <res:us>.
	Prompts [][]codec.Token
	// Refill > 0 lets a row whose flow ended go on with the next flow in
	// the same history (after the <end>) while the row's position is below
	// Refill (e.g. the training context); past it, or with 0, the row is
	// reset and the next flow starts from an empty history.
	Refill int
	// Handshake is the share of generated TCP flows (without a prompt)
	// held to open with a handshake: SYN, SYN-ACK, ACK, without payload
	// (doc.go, "TCP shape"); the others open as the model writes them.
	// Close is the share of TCP flows held to end closed: FIN both ways and
	// the last FIN acknowledged, or RST, closed in time for MaxPackets and
	// MaxTokens. 0: off; real captures measure 1 for both (doc.go).
	Handshake, Close float64
	// TimeSampling, when set, draws the time tokens (each packet's
	// inter-arrival magnitude and number bytes) instead of Sampling: the
	// command's default is the model's full distribution (temperature 1,
	// no top-k or top-p), since truncating it cuts the tails of the
	// inter-arrival times (long gaps, bursts) that real traffic has.
	TimeSampling *Sampling
	// NoCopy, when set, checks every finished flow against the training
	// payloads (doc.go, "Copies"): a flow with a packet that repeats
	// ShingleLen bytes of a training payload is sampled again from a new
	// stream, at most CopyRetries times, then refused (Flow.Refused).
	NoCopy      *CopyIndex
	CopyRetries int
	// FreePayloads turns the application payload grammars off (doc.go,
	// "Application payloads"): payloads are then the model's alone.
	FreePayloads bool
	// Progress, if set, is called after each finished flow.
	Progress func(flows int, tokens int64)
}

// Flow is one generated flow.
type Flow struct {
	Index  int           // 0..n-1
	Prompt int           // index into Options.Prompts, -1 without
	Forced int           // leading tokens that were forced (header or prompt)
	Repeat bool          // the prompt served an earlier flow too (i >= len(Prompts))
	Tokens []codec.Token // <flow> ... <end>; owned by the callee
	// Attempt counts the times the flow was sampled again because it
	// copied training payload (Options.NoCopy); Refused: it still did after
	// CopyRetries, and is left out (Writer.AddFlow writes nothing of it).
	Attempt int
	Refused bool
}

// Stats summarise a Generate call.
type Stats struct {
	Flows   int
	Packets int
	Steps   int64 // model.Step calls
	Tokens  int64 // tokens fed to the model (rows that were still generating)
	Sampled int64 // tokens drawn from the model (the rest were forced)
	// Resampled counts flows sampled again for copying training payload;
	// Refused the flows left out after CopyRetries (Options.NoCopy).
	Resampled, Refused int
	Elapsed            time.Duration
}

// TokensPerSecond is the generation throughput (fed tokens per second).
func (s Stats) TokensPerSecond() float64 {
	return float64(s.Tokens) / max(s.Elapsed.Seconds(), 1e-9)
}

// Header is the forced flow header for a label (-1: none).
func Header(label int) []codec.Token {
	h := []codec.Token{codec.FLOW}
	if label >= 0 {
		h = append(h, codec.Label0+codec.Token(label))
	}
	return append(h, codec.LinkEth, codec.ResMicro)
}

// CheckPrompt reports whether toks can start a generated flow: a flow
// header with link type Ethernet, then whole packets the grammar accepts,
// and no <end>/<cut>.
func CheckPrompt(toks []codec.Token) error {
	h, _, err := codec.ParseHeader(toks)
	if err != nil {
		return err
	}
	if h.LinkType != 1 {
		return fmt.Errorf("sample: prompt flow has link type %d; generation writes Ethernet", h.LinkType)
	}
	g := codec.NewGrammar(maxBodyTokens)
	for i, t := range toks {
		if err := g.Push(t); err != nil {
			return fmt.Errorf("sample: prompt token %d: %w", i, err)
		}
		if g.Done() {
			return fmt.Errorf("sample: prompt token %d: the flow ends", i)
		}
	}
	return nil
}

// row is one generating flow of a batch.
type row struct {
	flow   *Flow
	g      *codec.Grammar
	r      *rules
	rng    *rand.Rand
	forced []codec.Token
	active bool
}

// newRow sets up flow idx (nothing pushed yet); attempt > 0 draws from
// the stream (Seed, idx | attempt<<48) instead of (Seed, idx).
func newRow(idx, attempt int, o *Options) *row {
	f := &Flow{Index: idx, Prompt: -1, Attempt: attempt}
	rw := &row{flow: f, g: codec.NewGrammar(maxBodyTokens), active: true,
		rng: rand.New(rand.NewPCG(o.Seed, uint64(idx)|uint64(attempt)<<48))}
	maxPackets := packetBudget(o.Lengths, o.MaxPackets, rw.rng.IntN)
	rw.g.MaxPackets = maxPackets
	rw.r = newRules(rw.g)
	rw.r.maxTokens = o.MaxTokens
	rw.r.appChecked, rw.r.free = o.FreePayloads, o.FreePayloads
	rw.r.maxPackets = maxPackets
	// A share strictly between 0 and 1 takes one draw from the flow's
	// stream; 0 and 1 take none.
	draw := func(p float64) bool { return p >= 1 || p > 0 && rw.rng.Float64() < p }
	rw.r.handshake = draw(o.Handshake) && len(o.Prompts) == 0
	rw.r.close = draw(o.Close)
	if len(o.Prompts) > 0 {
		f.Prompt = idx % len(o.Prompts)
		f.Repeat = idx >= len(o.Prompts)
		rw.forced = o.Prompts[f.Prompt]
	} else {
		rw.forced = Header(o.Label)
	}
	f.Forced = len(rw.forced)
	return rw
}

// Generate samples n flows from m (which must have the codec vocabulary)
// and calls fn with each as it ends (in completion order; Flow.Index says
// which). See doc.go for rows, refills and seeds.
func Generate(ctx context.Context, m *model.Model, n int, o Options, fn func(*Flow) error) (Stats, error) {
	var stats Stats
	t0 := time.Now()
	if err := o.Sampling.Validate(); err != nil {
		return stats, err
	}
	if m.Config.Vocab != codec.VocabSize {
		return stats, fmt.Errorf("%w: model vocabulary %d, codec needs %d", ErrOptions, m.Config.Vocab, codec.VocabSize)
	}
	if o.Label >= codec.MaxLabels {
		return stats, fmt.Errorf("%w: label %d >= %d", ErrOptions, o.Label, codec.MaxLabels)
	}
	if !(o.Handshake >= 0 && o.Handshake <= 1 && o.Close >= 0 && o.Close <= 1) {
		return stats, fmt.Errorf("%w: handshake %g and close %g shares must be in [0, 1]", ErrOptions, o.Handshake, o.Close)
	}
	if o.CopyRetries < 0 {
		return stats, fmt.Errorf("%w: copy retries %d must be >= 0", ErrOptions, o.CopyRetries)
	}
	for _, n := range o.Lengths {
		if n < 1 {
			return stats, fmt.Errorf("%w: packet count %d in lengths must be >= 1", ErrOptions, n)
		}
	}
	if o.MaxPackets < 0 || o.MaxTokens < 0 || o.Refill < 0 {
		return stats, fmt.Errorf("%w: max packets %d, max tokens %d and refill %d must be >= 0", ErrOptions, o.MaxPackets, o.MaxTokens, o.Refill)
	}
	for i, p := range o.Prompts {
		if len(p) == 0 || p[0] != codec.FLOW {
			return stats, fmt.Errorf("%w: prompt %d does not start with <flow>", ErrOptions, i)
		}
	}
	B := o.Batch
	if B <= 0 {
		B = 8
	}
	B = min(B, n)
	if B == 0 {
		stats.Elapsed = time.Since(t0)
		return stats, nil
	}
	V := codec.VocabSize
	pick := Picker{S: o.Sampling}
	timePick := &pick
	if o.TimeSampling != nil {
		if err := o.TimeSampling.Validate(); err != nil {
			return stats, err
		}
		timePick = &Picker{S: *o.TimeSampling}
	}
	allowed := make([]bool, V)
	st, err := m.NewState(B)
	if err != nil {
		return stats, err
	}
	in := make([]int32, B)
	rows := make([]*row, B)
	next := 0
	// begin puts flow next in row b from an empty history: its first
	// forced token is fed at the coming Step.
	begin := func(b, idx, attempt int) error {
		if err := m.ResetRow(st, b); err != nil {
			return err
		}
		rw := newRow(idx, attempt, &o)
		if err := rw.push(rw.forced[0]); err != nil {
			return fmt.Errorf("sample: flow %d: %w", rw.flow.Index, err)
		}
		in[b], rows[b] = int32(rw.forced[0]), rw
		return nil
	}
	for b := range rows {
		if err := begin(b, next, 0); err != nil {
			return stats, err
		}
		next++
	}
	for live := B; live > 0; {
		if err := ctx.Err(); err != nil {
			return stats, err
		}
		logits, err := m.Step(st, in)
		if err != nil {
			return stats, err
		}
		stats.Steps++
		for b, rw := range rows {
			if !rw.active {
				continue
			}
			stats.Tokens++
			toks, f := rw.flow.Tokens, rw.flow
			var t codec.Token
			if len(toks) < len(rw.forced) {
				t = rw.forced[len(toks)]
			} else {
				rw.r.promptEnd = len(toks) == len(rw.forced) && f.Prompt >= 0
				rw.g.Allowed(allowed)
				rw.r.constrain(allowed)
				p := &pick
				if rw.r.inTime() {
					p = timePick
				}
				id := p.Pick(logits[b*V:(b+1)*V:(b+1)*V], allowed, rw.rng)
				if id < 0 {
					return stats, fmt.Errorf("sample: flow %d: no token allowed after %d tokens", f.Index, len(toks))
				}
				t = codec.Token(id)
				stats.Sampled++
			}
			if err := rw.push(t); err != nil {
				return stats, fmt.Errorf("sample: flow %d token %d: %w", f.Index, len(toks), err)
			}
			in[b] = int32(t)
			if !rw.g.Done() {
				continue
			}
			if o.NoCopy != nil {
				copied, err := o.NoCopy.Copies(f.Tokens)
				if err != nil {
					return stats, fmt.Errorf("sample: flow %d: %w", f.Index, err)
				}
				if copied && f.Attempt < o.CopyRetries {
					stats.Resampled++
					if err := begin(b, f.Index, f.Attempt+1); err != nil {
						return stats, err
					}
					continue
				}
				if copied {
					stats.Refused++
					f.Refused = true
				}
			}
			if !f.Refused {
				stats.Flows++
				stats.Packets += rw.g.Packets()
			}
			if err := fn(f); err != nil {
				return stats, err
			}
			if o.Progress != nil {
				o.Progress(stats.Flows, stats.Tokens)
			}
			switch {
			case next < n && st.Pos(b) < o.Refill:
				// The row goes on with the next flow after this one's
				// <end> (fed now), as flows follow each other in packed
				// training windows.
				rows[b] = newRow(next, 0, &o)
				next++
			case next < n:
				if err := begin(b, next, 0); err != nil {
					return stats, err
				}
				next++
			default:
				rw.active = false
				in[b] = int32(codec.PAD)
				live--
			}
		}
	}
	stats.Elapsed = time.Since(t0)
	return stats, nil
}

func (rw *row) push(t codec.Token) error {
	if err := rw.g.Push(t); err != nil {
		return err
	}
	rw.r.push(t)
	rw.flow.Tokens = append(rw.flow.Tokens, t)
	return nil
}
