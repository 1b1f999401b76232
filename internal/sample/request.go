package sample

import (
	"fmt"
	"io"
	"time"
)

// Request is a generation run as the generate command states it: the flow
// count, the prompt capture, and the choices given in words. Validate checks
// it (its errors name the command's flags) and sets the Options and
// WriteOptions fields the words stand for; WriteText prints the run's
// summary.
type Request struct {
	Flows         int
	Prompt        string // capture whose flows start the generated ones ("": none)
	PromptPackets int    // packets of each prompt flow kept
	TimeSampling  string // time tokens: full (temperature 1, no top-k/top-p) or same (as the others)
	Addresses     string // auto (AddrAuto) or scheme (AddrScheme)
	Check         string // validation: off, decode (CheckPackets) or tshark (CheckPackets and a CheckFlow the caller sets)
	Invalid       string // a flow still rejected: keep or drop (DropInvalid)
	Constraints   string // full (grammar and rules) or grammar (GrammarOnly)
	Gen           Options
	Write         WriteOptions
}

// Validate checks r and derives from it: Gen.TimeSampling, Gen.PacketRetries
// (= FlowRetries), Gen.CheckPackets, Gen.DropInvalid, Write.Addressing and
// Write.Seed (= Gen.Seed).
func (r *Request) Validate() error {
	g := &r.Gen
	switch {
	case r.Flows < 1:
		return fmt.Errorf("-n %d: need at least one flow", r.Flows)
	case g.MaxPackets < 1:
		return fmt.Errorf("--max-packets %d: need at least 1", g.MaxPackets)
	case g.MaxTokens < 0:
		return fmt.Errorf("--max-tokens %d must be >= 0", g.MaxTokens)
	case !(g.Handshake >= 0 && g.Handshake <= 1 && g.Close >= 0 && g.Close <= 1):
		return fmt.Errorf("--tcp-handshake %g and --tcp-close %g must be in [0, 1]", g.Handshake, g.Close)
	case g.CopyRetries < 0:
		return fmt.Errorf("--no-copy-retries %d must be >= 0", g.CopyRetries)
	case r.Prompt != "" && r.PromptPackets < 1:
		return fmt.Errorf("--prompt-packets %d: need at least 1", r.PromptPackets)
	case r.Prompt != "" && r.PromptPackets >= g.MaxPackets:
		return fmt.Errorf("--prompt-packets %d leaves nothing to generate below --max-packets %d", r.PromptPackets, g.MaxPackets)
	}
	if err := g.Sampling.Validate(); err != nil {
		return err
	}
	switch r.TimeSampling {
	case "full":
		g.TimeSampling = &Sampling{Temperature: 1}
	case "same":
		g.TimeSampling = nil
	default:
		return fmt.Errorf("--time-sampling must be full or same, not %q", r.TimeSampling)
	}
	switch r.Addresses {
	case "auto":
		r.Write.Addressing = AddrAuto
	case "scheme":
		r.Write.Addressing = AddrScheme
	default:
		return fmt.Errorf("--addresses must be auto or scheme, not %q", r.Addresses)
	}
	if g.FlowRetries < 0 {
		return fmt.Errorf("--validate-retries %d must be >= 0", g.FlowRetries)
	}
	g.PacketRetries = g.FlowRetries
	switch r.Check {
	case "off", "decode", "tshark":
		g.CheckPackets = r.Check != "off"
	default:
		return fmt.Errorf("--validate must be decode, tshark or off, not %q", r.Check)
	}
	switch r.Constraints {
	case "", "full":
	case "grammar":
		if r.Check != "off" || r.Prompt != "" {
			return fmt.Errorf("--constraints grammar: not with --validate or --prompt (it measures the model alone)")
		}
		// The TCP shape is a rule too.
		g.GrammarOnly, g.Handshake, g.Close = true, 0, 0
	default:
		return fmt.Errorf("--constraints must be full or grammar, not %q", r.Constraints)
	}
	switch r.Invalid {
	case "keep", "drop":
		g.DropInvalid = r.Invalid == "drop"
	default:
		return fmt.Errorf("--invalid must be keep or drop, not %q", r.Invalid)
	}
	if r.Write.Rate <= 0 {
		return fmt.Errorf("--rate %g must be > 0", r.Write.Rate)
	}
	r.Write.Seed = g.Seed
	return nil
}

// WriteText prints the summary of a run that wrote out: the capture's
// counts and the sampling rate on stdout, the copies refused (with NoCopy)
// too, the validation's resamples (with Check) on stderr.
func (r *Request) WriteText(stdout, stderr io.Writer, out string, st Stats, ws WriteStats) {
	batch := min(r.Gen.Batch, r.Flows)
	fmt.Fprintf(stdout, "%s: %d flows, %d packets, %d bytes; %d tokens (%d sampled) in %s, %.0f tokens/s (%d steps of %.1f busy rows on average, batch %d; idle rows are not stepped); addresses or TTL replaced in %d packets\n",
		out, ws.Flows, ws.Packets, ws.Bytes, st.Tokens, st.Sampled, st.Elapsed.Round(time.Millisecond),
		st.TokensPerSecond(), st.Steps, float64(st.RowSteps)/float64(max(st.Steps, 1)), batch, ws.Rewritten)
	if r.Gen.NoCopy != nil {
		fmt.Fprintf(stdout, "--no-copy: %d flows sampled again for copying %d training bytes, %d left out after %d retries\n",
			st.Resampled, ShingleLen, st.Refused, r.Gen.CopyRetries)
	}
	if ws.Delayed > 0 {
		fmt.Fprintf(stdout, "%d flows started later, past the idle timeout, to keep a well-known client port's 5-tuple its own\n", ws.Delayed)
	}
	if r.Check != "off" {
		fate := "kept"
		if r.Gen.DropInvalid {
			fate = fmt.Sprintf("%d dropped", st.Dropped)
		}
		fmt.Fprintf(stderr, "generate: --validate %s: %d packets sampled again (%d still rejected), %d flows sampled again, %d flows still rejected after %d retries (%s)\n",
			r.Check, st.PacketResamples, st.BadPackets, st.FlowResamples, st.Invalid, r.Gen.FlowRetries, fate)
		if len(r.Gen.Shapes) > 0 {
			fmt.Fprintf(stderr, "generate: --shapes: %d of the packets sampled again had a payload length off their template\n", st.ShapeResamples)
		}
	}
}
