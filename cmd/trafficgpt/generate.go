package main

import (
	"context"
	"fmt"
	"github.com/trafficgpt/trafficgpt/models/base"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/progress"
	"github.com/trafficgpt/trafficgpt/internal/sample"
	"github.com/trafficgpt/trafficgpt/internal/train"
	"github.com/trafficgpt/trafficgpt/internal/tshark"
)

func init() {
	register(command{name: "generate", summary: "sample flows from a model -> a valid pcap (labels, prompts, seeds)", run: cmdGenerate})
}

type generateOptions struct {
	model, out, tokens string
	flows              int
	label              string
	prompt             string
	promptPackets      int
	addresses          string
	noCopy             string
	timeSampling       string
	starts             string
	lengths            string
	validate, invalid  string
	threads            int
	gen                sample.Options
	write              sample.WriteOptions
	flow               flow.Config
}

func cmdGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o generateOptions
	o.gen.Label = -1
	fs := newFlagSet("generate", "generate --model M -n FLOWS -o OUT.pcap [flags]",
		"trafficgpt generate --model model -n 200 -o gen.pcap --max-packets 32 --top-k 40 --seed 1 --tokens gen.tgt", stderr)
	fs.StringVar(&o.model, "model", "", "model directory (trafficgpt pretrain -o) or .safetensors file, or base (the shipped base model) (required)")
	fs.IntVar(&o.flows, "n", 100, "flows to generate")
	fs.StringVar(&o.out, "o", "", "output capture: classic pcap, microseconds, Ethernet (required)")
	fs.StringVar(&o.tokens, "tokens", "", "also write the token archive (.tgt) of the output capture")
	fs.StringVar(&o.label, "label", "", "condition on this class label (models trained on a dataset built with --label-tokens)")
	fs.StringVar(&o.prompt, "prompt", "", "continue the flows of this capture: each generated flow starts with a real flow's first --prompt-packets packets")
	fs.IntVar(&o.promptPackets, "prompt-packets", 2, "packets of each prompt flow to keep")
	fs.IntVar(&o.gen.MaxPackets, "max-packets", 200, "end a flow after this many packets (prompt packets included; TCP flows close in time)")
	fs.IntVar(&o.gen.MaxTokens, "max-tokens", 0, "end (TCP: close) a flow at the first packet boundary after this many tokens (0: no limit; generation may run past the training context)")
	fs.Float64Var(&o.gen.Handshake, "tcp-handshake", 1, "share of TCP flows that open with SYN, SYN-ACK, ACK (real captures: 1)")
	fs.Float64Var(&o.gen.Close, "tcp-close", 1, "share of TCP flows that end closed: FIN both ways and the last ACK, or RST (real captures: 1)")
	fs.Float64Var(&o.gen.Temperature, "temperature", 1, "sampling temperature (0: greedy)")
	fs.IntVar(&o.gen.TopK, "top-k", 0, "sample among the K most likely allowed tokens (0: all)")
	fs.Float64Var(&o.gen.TopP, "top-p", 0, "nucleus sampling: the smallest set of tokens with this much probability (0 or 1: off)")
	fs.Uint64Var(&o.gen.Seed, "seed", 1, "seed of sampling, start times and ephemeral ports")
	fs.IntVar(&o.gen.Batch, "batch", 8, "flows generated in parallel")
	fs.BoolVar(&o.gen.FreePayloads, "free-payloads", false, "do not hold DNS, MQTT, TLS and SSH payloads to their grammars (the model's bytes alone; tshark may flag them)")
	fs.IntVar(&o.gen.Refill, "refill", -1, "a row whose flow ended takes the next flow while its position is below this (-1: the model's training context; 0: every flow from a fresh state)")
	fs.StringVar(&o.timeSampling, "time-sampling", "full", "time tokens: full (the model's distribution: temperature 1, no top-k/top-p) or same (as the other tokens)")
	fs.StringVar(&o.noCopy, "no-copy", "", "dataset directory (or \"model\": the model's training dataset): sample a flow again when a packet repeats 64 bytes of a training payload")
	fs.IntVar(&o.gen.CopyRetries, "no-copy-retries", 4, "with --no-copy: new samples of a copying flow before it is left out")
	fs.StringVar(&o.validate, "validate", "off", "resample what fails validation: decode (a packet our decoder rejects or that breaks the flow's IP/TCP/UDP consistency, from the state before it), tshark (decode, and whole flows with a tshark expert error or malformed packet), off")
	fs.IntVar(&o.gen.FlowRetries, "validate-retries", 4, "with --validate: new samples of a rejected packet, and of a rejected flow, before giving up")
	fs.StringVar(&o.invalid, "invalid", "keep", "with --validate: a flow still rejected after --validate-retries is kept (counted) or dropped")
	fs.StringVar(&o.lengths, "lengths", "", "flow lengths like this capture's: each flow's packet limit drawn from the packet counts of its flows (capped by --max-packets; TCP flows close in time)")
	fs.StringVar(&o.starts, "starts", "", "flow start times like this capture's: gaps between flow starts drawn from its own (instead of Poisson at --rate)")
	fs.Float64Var(&o.write.Rate, "rate", 10, "flow arrivals per second (Poisson start times)")
	fs.StringVar(&o.addresses, "addresses", "auto", "auto: replace the addresses/ports the model left zero (masked) by the scheme; scheme: replace all of generated flows")
	fs.IntVar(&o.threads, "threads", 0, "BLAS threads (0: all CPUs)")
	addFlowFlags(fs, &o.flow)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("unexpected arguments %v", pos)
	}
	switch {
	case o.model == "" || o.out == "":
		return usageError("need --model M and -o OUT.pcap")
	case o.flows < 1:
		return usageError("-n %d: need at least one flow", o.flows)
	case o.gen.MaxPackets < 1:
		return usageError("--max-packets %d: need at least 1", o.gen.MaxPackets)
	case o.gen.MaxTokens < 0:
		return usageError("--max-tokens %d must be >= 0", o.gen.MaxTokens)
	case !(o.gen.Handshake >= 0 && o.gen.Handshake <= 1 && o.gen.Close >= 0 && o.gen.Close <= 1):
		return usageError("--tcp-handshake %g and --tcp-close %g must be in [0, 1]", o.gen.Handshake, o.gen.Close)
	case o.gen.CopyRetries < 0:
		return usageError("--no-copy-retries %d must be >= 0", o.gen.CopyRetries)
	case o.prompt != "" && o.promptPackets < 1:
		return usageError("--prompt-packets %d: need at least 1", o.promptPackets)
	case o.prompt != "" && o.promptPackets >= o.gen.MaxPackets:
		return usageError("--prompt-packets %d leaves nothing to generate below --max-packets %d", o.promptPackets, o.gen.MaxPackets)
	}
	if o.out == "-" && o.tokens != "" {
		return usageError("--tokens needs -o to be a file (it tokenizes the written capture again)")
	}
	if err := o.gen.Sampling.Validate(); err != nil {
		return usageError("%v", err)
	}
	switch o.timeSampling {
	case "full":
		o.gen.TimeSampling = &sample.Sampling{Temperature: 1}
	case "same":
	default:
		return usageError("--time-sampling must be full or same, not %q", o.timeSampling)
	}
	switch o.addresses {
	case "auto":
		o.write.Addressing = sample.AddrAuto
	case "scheme":
		o.write.Addressing = sample.AddrScheme
	default:
		return usageError("--addresses must be auto or scheme, not %q", o.addresses)
	}
	if o.gen.FlowRetries < 0 {
		return usageError("--validate-retries %d must be >= 0", o.gen.FlowRetries)
	}
	o.gen.PacketRetries = o.gen.FlowRetries
	switch o.validate {
	case "off", "decode", "tshark":
		o.gen.CheckPackets = o.validate != "off"
	default:
		return usageError("--validate must be decode, tshark or off, not %q", o.validate)
	}
	switch o.invalid {
	case "keep", "drop":
		o.gen.DropInvalid = o.invalid == "drop"
	default:
		return usageError("--invalid must be keep or drop, not %q", o.invalid)
	}
	if o.write.Rate <= 0 {
		return usageError("--rate %g must be > 0", o.write.Rate)
	}
	o.write.Seed = o.gen.Seed
	return runGenerate(ctx, o, stdout, stderr)
}

// readPrompts takes the first k packets of up to n flows of a capture
// (sample.ReadPrompts).
func readPrompts(ctx context.Context, path string, k, n, label int, fc flow.Config) ([][]codec.Token, int, error) {
	f, err := openInput(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	ps, skipped, err := sample.ReadPrompts(ctx, f, k, n, label, fc)
	if err != nil {
		return nil, skipped, fmt.Errorf("%s: %w", path, err)
	}
	return ps, skipped, nil
}

func runGenerate(ctx context.Context, o generateOptions, stdout, stderr io.Writer) error {
	model.SetThreads(o.threads)
	path, err := base.Resolve(o.model)
	if err != nil {
		return err
	}
	m, meta, err := train.LoadModel(path)
	if err != nil {
		return err
	}
	if m.Config.Classes > 0 {
		return fmt.Errorf("--model %s is a classifier (a head over %d classes, from trafficgpt finetune): generate needs a pre-trained model (trafficgpt pretrain -o DIR)", o.model, m.Config.Classes)
	}
	m.Train = false
	if o.gen.Refill < 0 {
		o.gen.Refill = train.TrainedContext(meta)
	}
	if o.label != "" {
		labels, err := train.ModelLabels(meta)
		if err != nil {
			return fmt.Errorf("--label %s: %w", o.label, err)
		}
		i := slices.Index(labels, o.label)
		if i < 0 {
			return usageError("--label %q: the model's labels are %s", o.label, strings.Join(labels, ", "))
		}
		o.gen.Label = i
	}
	if o.prompt != "" {
		ps, skipped, err := readPrompts(ctx, o.prompt, o.promptPackets, o.flows, o.gen.Label, o.flow)
		if err != nil {
			return err
		}
		if skipped > 0 || len(ps) < o.flows {
			fmt.Fprintf(stderr, "generate: %d prompt flows from %s (%d skipped); flow i continues prompt i mod %d\n",
				len(ps), o.prompt, skipped, len(ps))
		}
		o.gen.Prompts = ps
	}
	if o.noCopy != "" {
		dir := o.noCopy
		if dir == "model" {
			if dir = meta[train.MetaDatasetPath]; dir == "" {
				return fmt.Errorf("--no-copy model: the model's metadata names no dataset")
			}
		}
		ds, err := dataset.Open(dir)
		if err != nil {
			return fmt.Errorf("--no-copy: %w", err)
		}
		x, err := sample.IndexDataset(ds)
		ds.Close()
		if err != nil {
			return fmt.Errorf("--no-copy: %w", err)
		}
		fmt.Fprintf(stderr, "generate: --no-copy: %d distinct %d-byte windows of %d payload bytes in %d flows of %s\n",
			x.Len(), sample.ShingleLen, x.Payload, x.Flows, dir)
		o.gen.NoCopy = x
	}
	if o.lengths != "" {
		if o.prompt != "" {
			return usageError("--lengths and --prompt: a prompt's packets may exceed a drawn length; use one of them")
		}
		counts, err := sample.ReadPacketCounts(ctx, o.lengths, o.flow)
		if err != nil {
			return fmt.Errorf("--lengths: %w", err)
		}
		o.gen.Lengths = counts
	}
	if o.starts != "" {
		gaps, err := sample.ReadStartGaps(ctx, o.starts, o.flow)
		if err != nil {
			return fmt.Errorf("--starts: %w", err)
		}
		o.write.StartGaps = gaps
	}
	if o.validate == "tshark" {
		if !tshark.Available() {
			return fmt.Errorf("--validate tshark: tshark is not installed (apt-get install tshark), or use --validate decode")
		}
		o.gen.CheckFlow = sample.TsharkCheck(o.flows, o.write)
	}
	out, err := atomicfile.Create(o.out, atomicfile.Options{Stdout: stdout, Inputs: []string{o.prompt, o.model}})
	if err != nil {
		return err
	}
	defer out.Abort()
	w, err := sample.NewWriter(out, o.flows, o.write)
	if err != nil {
		return err
	}
	bar := progress.New(stderr, "generate", "flows", float64(o.flows))
	o.gen.Progress = func(flows int, tokens int64) { bar.Add(1, fmt.Sprintf("%d tokens", tokens)) }
	st, err := sample.Generate(ctx, m, o.flows, o.gen, w.AddFlow)
	bar.Finish()
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d flows, %d packets, %d bytes; %d tokens (%d sampled) in %s, %.0f tokens/s (%d steps of batch %d, %.0f%% busy); addresses or TTL replaced in %d packets\n",
		o.out, w.Stats.Flows, w.Stats.Packets, w.Stats.Bytes, st.Tokens, st.Sampled, st.Elapsed.Round(time.Millisecond),
		st.TokensPerSecond(), st.Steps, min(o.gen.Batch, o.flows), 100*float64(st.Tokens)/float64(max(st.Steps*int64(min(o.gen.Batch, o.flows)), 1)), w.Stats.Rewritten)
	if o.gen.NoCopy != nil {
		fmt.Fprintf(stdout, "--no-copy: %d flows sampled again for copying %d training bytes, %d left out after %d retries\n",
			st.Resampled, sample.ShingleLen, st.Refused, o.gen.CopyRetries)
	}
	if o.validate != "off" {
		fmt.Fprintf(stderr, "generate: --validate %s: %d packets sampled again (%d still rejected), %d flows sampled again, %d flows still rejected after %d retries (%s)\n",
			o.validate, st.PacketResamples, st.BadPackets, st.FlowResamples, st.Invalid, o.gen.FlowRetries,
			map[bool]string{true: fmt.Sprintf("%d dropped", st.Dropped), false: "kept"}[o.gen.DropInvalid])
	}
	if o.tokens != "" {
		if err := runTokenize(ctx, tokenizeOptions{in: o.out, out: o.tokens, flow: o.flow}, stdout, stderr); err != nil {
			return fmt.Errorf("--tokens: %w", err)
		}
	}
	return nil
}
