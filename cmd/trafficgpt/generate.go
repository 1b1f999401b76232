package main

import (
	"context"
	"fmt"
	"github.com/trafficgpt/trafficgpt/models/base"
	"io"
	"slices"
	"strings"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/codec"
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
	label              string
	noCopy             string
	starts             string
	lengths            string
	shapes             string
	hosts              string
	threads            int
	req                sample.Request
	flow               flow.Config
}

func cmdGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o generateOptions
	r := &o.req
	r.Gen.Label = -1
	fs := newFlagSet("generate", "generate --model M -n FLOWS -o OUT.pcap [flags]",
		"trafficgpt generate --model model -n 200 -o gen.pcap --max-packets 32 --top-k 40 --seed 1 --tokens gen.tgt", stderr)
	fs.StringVar(&o.model, "model", "", "model directory (trafficgpt pretrain -o) or .safetensors file, or base (the shipped base model) (required)")
	fs.IntVar(&r.Flows, "n", 100, "flows to generate")
	fs.StringVar(&o.out, "o", "", "output capture: classic pcap, microseconds, Ethernet (required)")
	fs.StringVar(&o.tokens, "tokens", "", "also write the token archive (.tgt) of the output capture")
	fs.StringVar(&o.label, "label", "", "condition on this class label (models trained on a dataset built with --label-tokens)")
	fs.StringVar(&r.Prompt, "prompt", "", "continue the flows of this capture: each generated flow starts with a real flow's first --prompt-packets packets")
	fs.IntVar(&r.PromptPackets, "prompt-packets", 2, "packets of each prompt flow to keep")
	fs.IntVar(&r.Gen.MaxPackets, "max-packets", 200, "end a flow after this many packets (prompt packets included; TCP flows close in time)")
	fs.IntVar(&r.Gen.MaxTokens, "max-tokens", 0, "end (TCP: close) a flow at the first packet boundary after this many tokens (0: no limit; generation may run past the training context)")
	fs.Float64Var(&r.Gen.Handshake, "tcp-handshake", 1, "share of TCP flows that open with SYN, SYN-ACK, ACK (real captures: 1)")
	fs.Float64Var(&r.Gen.Close, "tcp-close", 1, "share of TCP flows that end closed: FIN both ways and the last ACK, or RST (real captures: 1)")
	fs.Float64Var(&r.Gen.Temperature, "temperature", 1, "sampling temperature (0: greedy)")
	fs.IntVar(&r.Gen.TopK, "top-k", 0, "sample among the K most likely allowed tokens (0: all)")
	fs.Float64Var(&r.Gen.TopP, "top-p", 0, "nucleus sampling: the smallest set of tokens with this much probability (0 or 1: off)")
	fs.Uint64Var(&r.Gen.Seed, "seed", 1, "seed of sampling, start times and ephemeral ports")
	fs.IntVar(&r.Gen.Batch, "batch", 8, "flows generated in parallel")
	fs.BoolVar(&r.Gen.FreePayloads, "free-payloads", false, "do not hold DNS, MQTT, TLS and SSH payloads to their grammars (the model's bytes alone; tshark may flag them)")
	fs.IntVar(&r.Gen.Refill, "refill", -1, "a row whose flow ended takes the next flow while its position is below this (-1: the model's training context; 0: every flow from a fresh state)")
	fs.StringVar(&r.TimeSampling, "time-sampling", "full", "time tokens: full (the model's distribution: temperature 1, no top-k/top-p) or same (as the other tokens)")
	fs.StringVar(&o.noCopy, "no-copy", "", "dataset directory (or \"model\": the model's training dataset): sample a flow again when a packet repeats 64 bytes of a training payload")
	fs.IntVar(&r.Gen.CopyRetries, "no-copy-retries", 4, "with --no-copy: new samples of a copying flow before it is left out")
	fs.StringVar(&r.Check, "validate", "off", "resample what fails validation: decode (a packet our decoder rejects or that breaks the flow's IP/TCP/UDP consistency, from the state before it), tshark (decode, and whole flows with a tshark expert error or malformed packet), off")
	fs.IntVar(&r.Gen.FlowRetries, "validate-retries", 4, "with --validate: new samples of a rejected packet, and of a rejected flow, before giving up")
	fs.StringVar(&r.Invalid, "invalid", "keep", "with --validate: a flow still rejected after --validate-retries is kept (counted) or dropped")
	fs.StringVar(&r.Constraints, "constraints", "full", "full: the grammar and every rule (headers, TCP shape, payload grammars); grammar: the token grammar alone (packets decode into bytes, everything else is the model's: to count the packets a model writes that do not parse)")
	fs.StringVar(&o.lengths, "lengths", "", "flow lengths like this capture's: each flow's packet limit drawn from the packet counts of its flows (capped by --max-packets; TCP flows close in time)")
	fs.StringVar(&o.shapes, "shapes", "", "flow shapes like this capture's (file or folder): each flow follows one real flow's packet directions, payload lengths and gaps, and its packet count (capped by --max-packets), where the protocol rules allow; headers and payload bytes are the model's. Copies the real flows' sizes and timing: use it where those are not private")
	fs.StringVar(&o.hosts, "hosts", "", "hosts like this capture's (file or folder): each flow's first packet takes its client and server addresses and server port from one of the capture's flows, dealt without replacement within the IP version and protocol the model picks (the client port stays the model's); flows whose addresses allow no answer (0.0.0.0, broadcast) go one way")
	fs.BoolVar(&r.Gen.ShapeMix, "shape-mix", false, "with --shapes: mix the shapes (one flow's directions, packet count and gaps with the payload lengths of another flow like it, or per packet where none is like it), so no generated flow has a real flow's exact shape")
	fs.StringVar(&o.starts, "starts", "", "flow start times like this capture's: gaps between flow starts drawn from its own (instead of Poisson at --rate)")
	fs.Float64Var(&r.Write.Rate, "rate", 10, "flow arrivals per second (Poisson start times)")
	fs.StringVar(&r.Addresses, "addresses", "auto", "auto: replace the addresses/ports the model left zero (masked) by the scheme; scheme: replace all of generated flows")
	fs.IntVar(&o.threads, "threads", 0, "BLAS threads (0: all CPUs)")
	addFlowFlags(fs, &o.flow)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("unexpected arguments %v", pos)
	}
	if o.model == "" || o.out == "" {
		return usageError("need --model M and -o OUT.pcap")
	}
	if o.out == "-" && o.tokens != "" {
		return usageError("--tokens needs -o to be a file (it tokenizes the written capture again)")
	}
	if err := r.Validate(); err != nil {
		return usageError("%v", err)
	}
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
	r := &o.req
	model.SetThreads(o.threads)
	path, err := base.Resolve(o.model)
	if err != nil {
		return err
	}
	m, meta, err := train.LoadGenerator(path, o.model)
	if err != nil {
		return err
	}
	if r.Gen.Refill < 0 {
		r.Gen.Refill = train.TrainedContext(meta)
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
		r.Gen.Label = i
	}
	if r.Prompt != "" {
		ps, skipped, err := readPrompts(ctx, r.Prompt, r.PromptPackets, r.Flows, r.Gen.Label, o.flow)
		if err != nil {
			return err
		}
		if skipped > 0 || len(ps) < r.Flows {
			fmt.Fprintf(stderr, "generate: %d prompt flows from %s (%d skipped); flow i continues prompt i mod %d\n",
				len(ps), r.Prompt, skipped, len(ps))
		}
		r.Gen.Prompts = ps
	}
	if o.noCopy != "" {
		dir := o.noCopy
		if dir == "model" {
			if dir = meta[train.MetaDatasetPath]; dir == "" {
				return fmt.Errorf("--no-copy model: the model's metadata names no dataset")
			}
		}
		x, err := sample.IndexDatasetDir(dir)
		if err != nil {
			return fmt.Errorf("--no-copy: %w", err)
		}
		fmt.Fprintf(stderr, "generate: --no-copy: %d distinct %d-byte windows of %d payload bytes in %d flows of %s\n",
			x.Len(), sample.ShingleLen, x.Payload, x.Flows, dir)
		r.Gen.NoCopy = x
	}
	if o.lengths != "" {
		if r.Prompt != "" {
			return usageError("--lengths and --prompt: a prompt's packets may exceed a drawn length; use one of them")
		}
		counts, err := sample.ReadPacketCounts(ctx, o.lengths, o.flow)
		if err != nil {
			return fmt.Errorf("--lengths: %w", err)
		}
		r.Gen.Lengths = counts
	}
	if r.Gen.ShapeMix && o.shapes == "" {
		return usageError("--shape-mix needs --shapes")
	}
	if o.shapes != "" {
		if r.Prompt != "" || o.lengths != "" {
			return usageError("--shapes with --prompt or --lengths: a shape brings its own packet count and first packets; use one of them")
		}
		shapes, err := sample.ReadShapes(ctx, o.shapes, o.flow, r.Gen.MaxPackets)
		if err != nil {
			return fmt.Errorf("--shapes: %w", err)
		}
		r.Gen.Shapes = shapes
	}
	if o.hosts != "" {
		hosts, err := sample.ReadHosts(ctx, o.hosts, o.flow)
		if err != nil {
			return fmt.Errorf("--hosts: %w", err)
		}
		r.Gen.Hosts = hosts
	}
	r.Write.FlowIdle = o.flow.IdleTimeout
	if o.starts != "" {
		gaps, err := sample.ReadStartGaps(ctx, o.starts, o.flow)
		if err != nil {
			return fmt.Errorf("--starts: %w", err)
		}
		r.Write.StartGaps = gaps
	}
	if r.Check == "tshark" {
		if !tshark.Available() {
			return fmt.Errorf("--validate tshark: tshark is not installed (apt-get install tshark), or use --validate decode")
		}
		r.Gen.CheckFlow = sample.TsharkCheck(r.Flows, r.Write)
	}
	out, err := atomicfile.Create(o.out, atomicfile.Options{Stdout: stdout, Inputs: []string{r.Prompt, o.model}})
	if err != nil {
		return err
	}
	defer out.Abort()
	w, err := sample.NewWriter(out, r.Flows, r.Write)
	if err != nil {
		return err
	}
	bar := progress.New(stderr, "generate", "flows", float64(r.Flows))
	r.Gen.Progress = func(flows int, tokens int64) { bar.Add(1, fmt.Sprintf("%d tokens", tokens)) }
	st, err := sample.Generate(ctx, m, r.Flows, r.Gen, w.AddFlow)
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
	r.WriteText(stdout, stderr, o.out, st, w.Stats)
	if o.tokens != "" {
		if err := runTokenize(ctx, tokenizeOptions{in: o.out, out: o.tokens, flow: o.flow}, stdout, stderr); err != nil {
			return fmt.Errorf("--tokens: %w", err)
		}
	}
	return nil
}
