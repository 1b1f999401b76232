package main

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
)

func init() {
	register(command{name: "flows", summary: "list the flows of captures: times, endpoints, per-direction packets/bytes, tokens, Community ID", run: cmdFlows})
}

type flowsOptions struct {
	inputs       []string
	format       string
	show         int64
	keepTrailing bool
	view         codec.View
	flow         flow.Config
	live         liveFlags
}

func cmdFlows(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o flowsOptions
	var vf viewFlags
	fs := newFlagSet("flows", "flows [flags] FILE|DIR|-...", "tcpdump -r testdata/demo/dns.pcap -w - | trafficgpt flows --format csv -", stderr)
	fs.StringVar(&o.format, "format", "text", "output format: text, csv or jsonl (csv and jsonl: the columns of docs/formats.md)")
	fs.Int64Var(&o.show, "show", -1, "print the tokens of the flow with this id in readable form")
	fs.BoolVar(&o.keepTrailing, "keep-trailing", false, "accept files cut mid-record")
	vf.register(fs, "none")
	addFlowFlags(fs, &o.flow)
	o.live.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := o.live.check(pos); err != nil {
		return err
	}
	if !o.live.active() {
		if err := needInputs(pos, "captures (or --interface IF)"); err != nil {
			return err
		}
	}
	if o.view, err = vf.view(); err != nil {
		return err
	}
	if err := checkFormat(o.format); err != nil {
		return err
	}
	o.inputs = pos
	return runFlows(ctx, o, stdout, stderr)
}

func runFlows(ctx context.Context, o flowsOptions, stdout, stderr io.Writer) error {
	files, err := captureInputs(o.inputs)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(stdout, 1<<16)
	if o.live.active() {
		files = []string{o.live.name()}
	}
	// Rows go through stage: a file's rows reach stdout only once the file
	// was read to its end (a live capture streams them as they come).
	stage := atomicfile.NewStaged()
	rw, err := flow.NewRecordWriter(stage, o.format)
	if err != nil {
		return err
	}
	if o.show < 0 || o.format == "csv" { // (csv: the header also before --show's tokens)
		if err := rw.WriteHeader(); err != nil {
			return err
		}
		stage.Commit(bw)
	}
	shown := false
	// A write error (stdout closed or full) stops at once; an input that
	// cannot be read is named, counted and skipped with none of its rows.
	var writeErr error
	var unreadable, flows int
	endFile := func(ok bool) error {
		if err := rw.Flush(); err != nil || !ok {
			stage.Discard()
			return err
		}
		return stage.Commit(bw)
	}
	for _, path := range files {
		f, fctx, err := openSource(ctx, path, &o.live)
		if err != nil {
			unreadable++
			fmt.Fprintf(stderr, "flows: %s: %v\n", path, err)
			continue
		}
		// A listing needs token counts only; --show keeps the tokens of long
		// flows on disk until their end, so memory stays bounded by the
		// active flows whatever the longest.
		eo := codec.EncodeOptions{Flow: o.flow, View: o.view, KeepTrailing: o.keepTrailing, CountOnly: o.show < 0, SpillTokens: 1 << 20}
		_, err = codec.EncodeFlows(fctx, f, eo,
			func(ef *codec.EncodedFlow) error {
				flows++
				if o.show >= 0 {
					if int64(ef.ID) == o.show && !shown {
						shown = true
						var toks []codec.Token
						if writeErr = ef.EachTokens(func(p []codec.Token) error { toks = append(toks, p...); return nil }); writeErr != nil {
							return writeErr
						}
						_, writeErr = fmt.Fprintf(stage, "# %s flow %d: %s, %d packets, %d tokens\n%s\n", path, ef.ID, ef.Key.Directed(ef.FirstAToB), ef.Packets, len(toks), codec.Format(toks))
					}
					return writeErr
				}
				rec := ef.Record(path)
				if writeErr = rw.Write(&rec); writeErr == nil && o.live.active() {
					writeErr = endFile(true)
					if writeErr == nil {
						writeErr = bw.Flush()
					}
				}
				return writeErr
			})
		f.Close()
		switch {
		case writeErr != nil:
			return writeErr
		case err != nil && ctx.Err() != nil:
			endFile(false)
			bw.Flush()
			return ctx.Err()
		case err != nil:
			endFile(false)
			unreadable++
			fmt.Fprintf(stderr, "flows: %s: %v (none of its flows are listed)\n", path, inputHint(err, o.keepTrailing))
		default:
			if writeErr = endFile(true); writeErr != nil {
				return writeErr
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if unreadable > 0 {
		return unreadableError(unreadable, len(files))
	}
	if flows == 0 {
		return fmt.Errorf("no flows in %d capture files", len(files))
	}
	if o.show >= 0 && !shown {
		return fmt.Errorf("no flow with id %d", o.show)
	}
	return nil
}
