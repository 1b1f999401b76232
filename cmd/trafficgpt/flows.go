package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/packet"
)

func init() {
	register(command{name: "flows", summary: "list the flows of captures: key, packets, bytes, duration, tokens", run: cmdFlows})
}

type flowsOptions struct {
	inputs       []string
	format       string
	show         int64
	keepTrailing bool
	view         codec.View
	flow         flow.Config
}

// viewFlags registers the flags that choose a codec view.
type viewFlags struct {
	mask       string
	headerOnly bool
	maxPayload int
	maxPackets int
	maxTokens  int
}

func (v *viewFlags) register(fs *flag.FlagSet, defMask string) {
	fs.StringVar(&v.mask, "mask", defMask, "masking profile: none, addr, addr+ports, all, or a +list of addr,ports,mac,ttl,ipid")
	fs.BoolVar(&v.headerOnly, "header-only", false, "keep no transport payload")
	fs.IntVar(&v.maxPayload, "max-payload", 0, "keep at most this many payload bytes per packet (0: all)")
	fs.IntVar(&v.maxPackets, "max-packets", 0, "keep at most this many packets per flow (0: all)")
	fs.IntVar(&v.maxTokens, "max-tokens", 0, "keep at most this many tokens per flow (0: all)")
}

func (v *viewFlags) view() (codec.View, error) {
	m, err := codec.ParseMask(v.mask)
	if err != nil {
		return codec.View{}, usageError("%v", err)
	}
	if v.maxPayload < 0 || v.maxPackets < 0 || v.maxTokens < 0 {
		return codec.View{}, usageError("view limits must not be negative")
	}
	if v.maxTokens > 0 && v.maxTokens < 8 {
		return codec.View{}, usageError("--max-tokens %d is too small for a flow header and a packet", v.maxTokens)
	}
	return codec.View{Mask: m, HeaderOnly: v.headerOnly, MaxPayload: v.maxPayload, MaxPackets: v.maxPackets, MaxTokens: v.maxTokens}, nil
}

func cmdFlows(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o flowsOptions
	var vf viewFlags
	fs := newFlagSet("flows", "flows [flags] FILE|DIR...", "trafficgpt flows --format csv capture.pcap   |   trafficgpt flows --show 3 capture.pcap", stderr)
	fs.StringVar(&o.format, "format", "text", "output format: text, csv or jsonl")
	fs.Int64Var(&o.show, "show", -1, "print the tokens of the flow with this id in readable form")
	fs.BoolVar(&o.keepTrailing, "keep-trailing", false, "accept files cut mid-record")
	vf.register(fs, "none")
	addFlowFlags(fs, &o.flow)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := needInputs(pos, "captures"); err != nil {
		return err
	}
	if o.view, err = vf.view(); err != nil {
		return err
	}
	switch o.format {
	case "text", "csv", "jsonl":
	default:
		return usageError("--format %q: want text, csv or jsonl", o.format)
	}
	o.inputs = pos
	return runFlows(ctx, o, stdout, stderr)
}

// flowRecord is one output line of `flows`.
type flowRecord struct {
	File     string  `json:"file"`
	ID       uint64  `json:"id"`
	Proto    string  `json:"proto"`
	Client   string  `json:"client"`
	Server   string  `json:"server"`
	Key      string  `json:"key"`
	Packets  int     `json:"packets"`
	Bytes    int64   `json:"bytes"`
	Duration float64 `json:"duration_s"`
	Tokens   int     `json:"tokens"`
	End      string  `json:"end"`
}

func runFlows(ctx context.Context, o flowsOptions, stdout, stderr io.Writer) error {
	files, err := captureInputs(o.inputs)
	if err != nil {
		return err
	}
	var cw *csv.Writer
	enc := json.NewEncoder(stdout)
	switch o.format {
	case "csv":
		cw = csv.NewWriter(stdout)
		cw.Write([]string{"file", "id", "proto", "client", "server", "packets", "bytes", "duration_s", "tokens", "end"})
	case "text":
		if o.show >= 0 {
			break
		}
		fmt.Fprintf(stdout, "%-5s %-58s %8s %10s %10s %9s  %s\n", "id", "flow (client -> server)", "packets", "bytes", "duration", "tokens", "end")
	}
	shown := false
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		_, err = codec.EncodeFlows(ctx, f, codec.EncodeOptions{Flow: o.flow, View: o.view, KeepTrailing: o.keepTrailing},
			func(ef *codec.EncodedFlow) error {
				rec := flowRecord{
					File: path, ID: ef.ID, Key: ef.Key.Directed(ef.FirstAToB), Packets: ef.Packets, Bytes: ef.Bytes,
					Duration: time.Duration(ef.LastNs - ef.FirstNs).Seconds(), Tokens: len(ef.Tokens), End: ef.Reason.String(),
				}
				rec.Proto, rec.Client, rec.Server = keyParts(ef)
				if o.show >= 0 {
					if int64(ef.ID) == o.show && !shown {
						shown = true
						fmt.Fprintf(stdout, "# %s flow %d: %s, %d packets, %d tokens\n%s\n", path, ef.ID, rec.Key, ef.Packets, len(ef.Tokens), codec.Format(ef.Tokens))
					}
					return nil
				}
				switch o.format {
				case "csv":
					return cw.Write([]string{path, strconv.FormatUint(ef.ID, 10), rec.Proto, rec.Client, rec.Server,
						strconv.Itoa(rec.Packets), strconv.FormatInt(rec.Bytes, 10), strconv.FormatFloat(rec.Duration, 'f', 6, 64),
						strconv.Itoa(rec.Tokens), rec.End})
				case "jsonl":
					return enc.Encode(rec)
				}
				_, err := fmt.Fprintf(stdout, "%-5d %-58s %8d %10d %9.3fs %9d  %s\n", ef.ID, rec.Key, rec.Packets, rec.Bytes, rec.Duration, rec.Tokens, rec.End)
				return err
			})
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if cw != nil {
		cw.Flush()
		return cw.Error()
	}
	if o.show >= 0 && !shown {
		return fmt.Errorf("no flow with id %d", o.show)
	}
	return nil
}

// keyParts splits a flow key into protocol, client and server strings.
func keyParts(ef *codec.EncodedFlow) (proto, client, server string) {
	proto, _, _ = strings.Cut(ef.Key.Directed(ef.FirstAToB), " ")
	c, s := ef.Key.ClientServer(ef.FirstAToB)
	switch ef.Key.Kind {
	case packet.KindPorts:
		return proto, c.String(), s.String()
	case packet.KindIP:
		return proto, c.Addr().String(), s.Addr().String()
	}
	return proto, "", ""
}
