package sample

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func okRequest() Request {
	return Request{Flows: 10, PromptPackets: 2, TimeSampling: "full", Addresses: "auto", Check: "off", Invalid: "keep",
		Gen:   Options{Sampling: Sampling{Temperature: 1}, MaxPackets: 200, Handshake: 1, Close: 1, CopyRetries: 4, FlowRetries: 4, Seed: 7},
		Write: WriteOptions{Rate: 10}}
}

func TestRequestValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Request)
		want string // "" = valid
	}{
		{"defaults", func(*Request) {}, ""},
		{"no flows", func(r *Request) { r.Flows = 0 }, "-n 0: need at least one flow"},
		{"no packets", func(r *Request) { r.Gen.MaxPackets = 0 }, "--max-packets 0: need at least 1"},
		{"negative tokens", func(r *Request) { r.Gen.MaxTokens = -1 }, "--max-tokens -1 must be >= 0"},
		{"handshake share", func(r *Request) { r.Gen.Handshake = 1.5 }, "--tcp-handshake 1.5 and --tcp-close 1 must be in [0, 1]"},
		{"copy retries", func(r *Request) { r.Gen.CopyRetries = -1 }, "--no-copy-retries -1 must be >= 0"},
		{"prompt packets", func(r *Request) { r.Prompt, r.PromptPackets = "p.pcap", 0 }, "--prompt-packets 0: need at least 1"},
		{"prompt fills flow", func(r *Request) { r.Prompt, r.PromptPackets, r.Gen.MaxPackets = "p.pcap", 4, 4 }, "--prompt-packets 4 leaves nothing to generate below --max-packets 4"},
		{"prompt packets unused without prompt", func(r *Request) { r.PromptPackets = 0 }, ""},
		{"temperature", func(r *Request) { r.Gen.Temperature = -1 }, "temperature -1 must be >= 0"},
		{"time sampling", func(r *Request) { r.TimeSampling = "half" }, `--time-sampling must be full or same, not "half"`},
		{"constraints", func(r *Request) { r.Constraints = "some" }, `--constraints must be full or grammar, not "some"`},
		{"grammar with validation", func(r *Request) { r.Constraints, r.Check = "grammar", "decode" }, "--constraints grammar: not with --validate or --prompt (it measures the model alone)"},
		{"addresses", func(r *Request) { r.Addresses = "none" }, `--addresses must be auto or scheme, not "none"`},
		{"validate retries", func(r *Request) { r.Gen.FlowRetries = -1 }, "--validate-retries -1 must be >= 0"},
		{"validate", func(r *Request) { r.Check = "yes" }, `--validate must be decode, tshark or off, not "yes"`},
		{"invalid", func(r *Request) { r.Invalid = "fix" }, `--invalid must be keep or drop, not "fix"`},
		{"rate", func(r *Request) { r.Write.Rate = 0 }, "--rate 0 must be > 0"},
	} {
		r := okRequest()
		c.edit(&r)
		err := r.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

// TestRequestDerives: the words become the Options fields they stand for.
func TestRequestDerives(t *testing.T) {
	r := okRequest()
	r.TimeSampling, r.Addresses, r.Check, r.Invalid = "same", "scheme", "decode", "drop"
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	g := r.Gen
	if g.TimeSampling != nil || r.Write.Addressing != AddrScheme || !g.CheckPackets || !g.DropInvalid || g.PacketRetries != 4 || r.Write.Seed != 7 {
		t.Errorf("derived %+v, write %+v", g, r.Write)
	}
	r = okRequest()
	if err := r.Validate(); err != nil || r.Gen.TimeSampling == nil || r.Gen.TimeSampling.Temperature != 1 || r.Gen.CheckPackets {
		t.Errorf("full/off: %v %+v", err, r.Gen)
	}
}

func TestRequestWriteText(t *testing.T) {
	r := okRequest()
	r.Gen.Batch, r.Check, r.Gen.DropInvalid = 8, "decode", true
	var out, errw bytes.Buffer
	st := Stats{Tokens: 800, Sampled: 700, Elapsed: 2 * time.Second, Steps: 125, RowSteps: 800, PacketResamples: 3, Dropped: 1, Invalid: 1}
	r.WriteText(&out, &errw, "gen.pcap", st, WriteStats{Flows: 10, Packets: 40, Bytes: 4000, Rewritten: 2})
	if want := "gen.pcap: 10 flows, 40 packets, 4000 bytes; 800 tokens (700 sampled) in 2s, 400 tokens/s (125 steps of 6.4 busy rows on average, batch 8; idle rows are not stepped); addresses or TTL replaced in 2 packets\n"; out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	if want := "generate: --validate decode: 3 packets sampled again (0 still rejected), 0 flows sampled again, 1 flows still rejected after 4 retries (1 dropped)\n"; errw.String() != want {
		t.Errorf("stderr %q, want %q", errw.String(), want)
	}
}
