package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
)

func init() {
	register(command{name: "tokenize", summary: "capture (pcap/pcapng/.gz) -> lossless token archive (.tgt)", run: cmdTokenize})
	register(command{name: "detokenize", summary: "token archive (.tgt) -> the original capture, byte for byte", run: cmdDetokenize})
}

type tokenizeOptions struct {
	in, out      string
	keepTrailing bool
	flow         flow.Config
	live         liveFlags
}

func cmdTokenize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o tokenizeOptions
	fs := newFlagSet("tokenize", "tokenize IN|--interface IF -o OUT.tgt", "trafficgpt tokenize capture.pcapng -o capture.tgt   |   trafficgpt tokenize --interface eth0 --duration 1m -o live.tgt", stderr)
	fs.StringVar(&o.out, "o", "", "output token archive (required)")
	fs.BoolVar(&o.keepTrailing, "keep-trailing", false, "keep bytes after the last complete record (a file cut mid-record) verbatim instead of failing")
	addFlowFlags(fs, &o.flow)
	o.live.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := o.live.check(pos); err != nil {
		return err
	}
	if o.live.active() {
		pos = []string{o.live.name()}
	}
	if len(pos) != 1 || o.out == "" {
		return usageError("need one input capture (or --interface IF) and -o OUT")
	}
	o.in = pos[0]
	return runTokenize(ctx, o, stdout, stderr)
}

func runTokenize(ctx context.Context, o tokenizeOptions, stdout, stderr io.Writer) error {
	t0 := time.Now()
	var st codec.Stats
	err := convertFile(ctx, o.in, o.out, stdout, &o.live, func(ctx context.Context, r io.Reader, w io.Writer) (err error) {
		st, err = codec.Tokenize(ctx, r, w, codec.TokenizeOptions{Flow: o.flow, KeepTrailing: o.keepTrailing})
		return err
	})
	if err != nil {
		return err
	}
	el := time.Since(t0).Seconds()
	fmt.Fprintf(reportTo(o.out, stdout, stderr), "%s -> %s: %d packets, %d flows, %d tokens (%.1f per packet), %.1f MB/s\n",
		o.in, o.out, st.Packets, st.Flows, st.Tokens, float64(st.Tokens)/float64(max(st.Packets, 1)), float64(st.Bytes)/el/1e6)
	return nil
}

// convertFile streams in through conv into out (see atomicfile.Create: a
// regular file appears only when conv succeeded; "-" is stdout). An output
// that is the input is refused before anything is read. Errors name the
// input file. live (may be nil) names a live capture input (openSource).
func convertFile(ctx context.Context, in, out string, stdout io.Writer, live *liveFlags, conv func(context.Context, io.Reader, io.Writer) error) error {
	w, err := atomicfile.Create(out, atomicfile.Options{Stdout: stdout, Inputs: []string{in}})
	if err != nil {
		return err
	}
	defer w.Abort()
	f, ctx, err := openSource(ctx, in, live)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := conv(ctx, f, w); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return w.Commit()
}

// reportTo is where a command's summary line goes: stderr when the output
// itself is stdout, so the summary never mixes into the data.
func reportTo(out string, stdout, stderr io.Writer) io.Writer {
	if out == atomicfile.Stdout {
		return stderr
	}
	return stdout
}

type detokenizeOptions struct{ in, out string }

func cmdDetokenize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o detokenizeOptions
	fs := newFlagSet("detokenize", "detokenize IN.tgt -o OUT", "trafficgpt detokenize capture.tgt -o capture.pcapng", stderr)
	fs.StringVar(&o.out, "o", "", "output capture (required)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || o.out == "" {
		return usageError("need one input archive and -o OUT")
	}
	o.in = pos[0]
	return runDetokenize(ctx, o, stdout, stderr)
}

func runDetokenize(ctx context.Context, o detokenizeOptions, stdout, stderr io.Writer) error {
	var st codec.Stats
	err := convertFile(ctx, o.in, o.out, stdout, nil, func(ctx context.Context, r io.Reader, w io.Writer) (err error) {
		st, err = codec.Detokenize(ctx, r, w)
		return err
	})
	if err != nil {
		return err
	}
	if st.ArchiveVersion == 1 {
		fmt.Fprintf(stderr, "warning: %s is a version-1 archive, without checksums: corruption cannot be detected (tokenize the capture again to get them)\n", o.in)
	}
	note := ""
	if st.Gzipped {
		note = " (the original was gzip-compressed; this is its decompressed content)"
	}
	fmt.Fprintf(reportTo(o.out, stdout, stderr), "%s -> %s: %d records, %d packets, %d flows%s\n", o.in, o.out, st.Records, st.Packets, st.Flows, note)
	return nil
}
