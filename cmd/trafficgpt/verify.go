package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

func init() {
	register(command{name: "verify", summary: "round-trip captures through the token codec in memory and compare bytes", run: cmdVerify})
}

type verifyOptions struct {
	inputs       []string
	keepTrailing bool
	jobs         int
	quiet        bool
	flow         flow.Config
}

func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o verifyOptions
	fs := newFlagSet("verify", "verify [flags] FILE|DIR...", "trafficgpt verify testdata/demo", stderr)
	fs.BoolVar(&o.keepTrailing, "keep-trailing", false, "keep bytes after the last complete record verbatim instead of failing")
	fs.IntVar(&o.jobs, "j", runtime.GOMAXPROCS(0), "files verified in parallel")
	fs.BoolVar(&o.quiet, "q", false, "print only failures and the summary")
	addFlowFlags(fs, &o.flow)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := needInputs(pos, "captures or folders to verify"); err != nil {
		return err
	}
	o.inputs = pos
	return runVerify(ctx, o, stdout, stderr)
}

type verifyResult struct {
	st       codec.Stats
	err      error // unreadable capture
	mismatch error // round trip differs
}

func runVerify(ctx context.Context, o verifyOptions, stdout, stderr io.Writer) error {
	files, others, err := expandInputs(o.inputs)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		why := describeOthers(others)
		if why == "" {
			why = "the folders are empty"
		}
		return fmt.Errorf("no capture files found in %v: %s", o.inputs, why)
	}
	results := make([]verifyResult, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	pr := newProgress(stderr, "verify", "files", float64(len(files)))
	for w := 0; w < max(o.jobs, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = verifyFile(ctx, files[i], o)
				pr.add(1, "")
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	pr.finish()
	if err := ctx.Err(); err != nil {
		return err
	}
	var ok, bad, mism, packets, empty int
	var tokens, paper int64
	for i, r := range results {
		switch {
		case r.mismatch != nil:
			mism++
			fmt.Fprintf(stdout, "MISMATCH %s: %v\n", files[i], r.mismatch)
		case r.err != nil:
			bad++
			fmt.Fprintf(stdout, "ERROR    %s: %v\n", files[i], inputHint(r.err, o.keepTrailing))
		default:
			ok++
			if r.st.Packets == 0 {
				empty++
				fmt.Fprintf(stdout, "empty    %s: no packets\n", files[i])
				continue
			}
			packets += r.st.Packets
			tokens += r.st.Tokens
			paper += r.st.PaperTokens
			if !o.quiet {
				fmt.Fprintf(stdout, "ok       %s: %d packets, %d flows, %d tokens, %.1f tokens/packet\n",
					files[i], r.st.Packets, r.st.Flows, r.st.Tokens, float64(r.st.Tokens)/float64(max(r.st.Packets, 1)))
			}
		}
	}
	if line := describeOthers(others); line != "" {
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintf(stdout, "%d files byte-identical (%d of them without packets), %d unreadable, %d mismatched, %d not captures; %d packets, %.1f tokens/packet (paper's layout: %.1f)\n",
		ok, empty, bad, mism, len(others), packets, float64(tokens)/float64(max(packets, 1)), float64(paper)/float64(max(packets, 1)))
	switch {
	case mism > 0:
		return fmt.Errorf("%w: %d of %d files did not round-trip", errMismatch, mism, len(files))
	case bad > 0:
		return unreadableError(bad, len(files))
	case packets == 0:
		return fmt.Errorf("no packets in %d capture files: nothing was verified", len(files))
	}
	return nil
}

// verifyFile streams the capture through tokenize and detokenize and
// compares the result with the (decompressed) file, all in bounded memory.
func verifyFile(ctx context.Context, path string, o verifyOptions) verifyResult {
	var res verifyResult
	// A pipe or /dev/stdin cannot be opened twice: verify reads a copy.
	path, cleanup, err := seekableInput(path)
	if err != nil {
		res.err = err
		return res
	}
	defer cleanup()
	f, err := os.Open(path)
	if err != nil {
		res.err = err
		return res
	}
	defer f.Close()
	pr, pw := io.Pipe()
	var tokErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		bw := bufio.NewWriterSize(pw, 1<<16)
		res.st, tokErr = codec.Tokenize(ctx, f, bw, codec.TokenizeOptions{Flow: o.flow, KeepTrailing: o.keepTrailing})
		if tokErr == nil {
			tokErr = bw.Flush()
		}
		pw.CloseWithError(tokErr)
	}()
	orig, err := openPlain(path)
	if err != nil {
		pr.CloseWithError(err)
		<-done
		res.err = err
		return res
	}
	defer orig.Close()
	cmp := &compareWriter{want: bufio.NewReaderSize(orig, 1<<16)}
	_, detErr := codec.Detokenize(ctx, pr, cmp)
	pr.CloseWithError(errors.New("verify: stopped reading"))
	<-done
	switch {
	case tokErr != nil:
		res.err = tokErr
	case detErr != nil && cmp.err != nil:
		res.mismatch = cmp.err
	case detErr != nil:
		res.mismatch = fmt.Errorf("detokenize: %w", detErr)
	default:
		if extra, _ := cmp.want.Peek(1); len(extra) > 0 {
			res.mismatch = fmt.Errorf("output ends at byte %d, the capture goes on", cmp.off)
		}
	}
	return res
}

// openPlain opens a file, decompressing it when it is gzip-, xz- or
// zstd-compressed (pcap.Decompress, as the reader does).
func openPlain(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	zr, _, err := pcap.Decompress(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

// compareWriter checks that what is written equals want, byte for byte.
type compareWriter struct {
	want *bufio.Reader
	off  int64
	buf  []byte
	err  error
}

func (c *compareWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	b := c.buf[:len(p)]
	n, _ := io.ReadFull(c.want, b)
	if i := firstDiff(p[:n], b[:n]); i >= 0 || n < len(p) {
		if i < 0 {
			i = n
			c.err = fmt.Errorf("output is longer than the capture (%d bytes)", c.off+int64(n))
		} else {
			c.err = fmt.Errorf("byte %d differs: got %#02x, want %#02x", c.off+int64(i), p[i], b[i])
		}
		return 0, c.err
	}
	c.off += int64(n)
	return len(p), nil
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}
