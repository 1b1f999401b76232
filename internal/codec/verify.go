package codec

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// VerifyResult is what a round trip of one capture found.
type VerifyResult struct {
	Stats    Stats // of Tokenize
	Err      error // the capture could not be read (or prepared)
	Mismatch error // the rebuilt bytes differ from the (decompressed) file
}

// VerifyOptions configure VerifyFiles.
type VerifyOptions struct {
	Tokenize TokenizeOptions
	Jobs     int // files verified in parallel (at least 1)
	// Prepare, if set, turns an input into a path that can be opened twice
	// (a copy of standard input or of a FIFO); cleanup runs after the file.
	Prepare func(path string) (string, func(), error)
	Done    func() // called after each file (progress)
}

// VerifyFiles verifies files in parallel (VerifyFile); results[i] is the
// result of files[i]. It stops handing out files when ctx is done, and
// returns ctx's error then.
func VerifyFiles(ctx context.Context, files []string, o VerifyOptions) ([]VerifyResult, error) {
	results := make([]VerifyResult, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < max(o.Jobs, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = verifyPrepared(ctx, files[i], o)
				if o.Done != nil {
					o.Done()
				}
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
	return results, ctx.Err()
}

func verifyPrepared(ctx context.Context, path string, o VerifyOptions) VerifyResult {
	if o.Prepare != nil {
		p, cleanup, err := o.Prepare(path)
		if err != nil {
			return VerifyResult{Err: err}
		}
		defer cleanup()
		path = p
	}
	return VerifyFile(ctx, path, o.Tokenize)
}

// VerifyFile streams the capture at path through Tokenize and Detokenize
// and compares the result with the (decompressed) file, in bounded memory.
// It opens path twice: it must be a regular file.
func VerifyFile(ctx context.Context, path string, opts TokenizeOptions) VerifyResult {
	var res VerifyResult
	f, err := os.Open(path)
	if err != nil {
		res.Err = err
		return res
	}
	defer f.Close()
	pr, pw := io.Pipe()
	var tokErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		bw := bufio.NewWriterSize(pw, 1<<16)
		res.Stats, tokErr = Tokenize(ctx, f, bw, opts)
		if tokErr == nil {
			tokErr = bw.Flush()
		}
		pw.CloseWithError(tokErr)
	}()
	orig, err := openPlain(path)
	if err != nil {
		pr.CloseWithError(err)
		<-done
		res.Err = err
		return res
	}
	defer orig.Close()
	cmp := &compareWriter{want: bufio.NewReaderSize(orig, 1<<16)}
	_, detErr := Detokenize(ctx, pr, cmp)
	pr.CloseWithError(errors.New("verify: stopped reading"))
	<-done
	switch {
	case tokErr != nil:
		res.Err = tokErr
	case detErr != nil && cmp.err != nil:
		res.Mismatch = cmp.err
	case detErr != nil:
		res.Mismatch = fmt.Errorf("detokenize: %w", detErr)
	default:
		if extra, _ := cmp.want.Peek(1); len(extra) > 0 {
			res.Mismatch = fmt.Errorf("output ends at byte %d, the capture goes on", cmp.off)
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

// firstDiff is the index of the first byte where a and b differ (len(a)
// when b is a's longer twin), or -1 when they are equal.
func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// VerifyReport counts what VerifyFiles found, for verify's lines.
type VerifyReport struct {
	Files   []string
	Results []VerifyResult
	Others  []string // files in the input folders that are not captures

	OK, Empty, Unreadable, Mismatched int // Empty: round-tripped, no packets (counted in OK too)
	Packets                           int
	Tokens, PaperTokens               int64
}

// NewVerifyReport counts results (of files; others: pcap.FindAll's).
func NewVerifyReport(files []string, results []VerifyResult, others []string) *VerifyReport {
	r := &VerifyReport{Files: files, Results: results, Others: others}
	for _, v := range results {
		switch {
		case v.Mismatch != nil:
			r.Mismatched++
		case v.Err != nil:
			r.Unreadable++
		default:
			r.OK++
			if v.Stats.Packets == 0 {
				r.Empty++
			}
			r.Packets += v.Stats.Packets
			r.Tokens += v.Stats.Tokens
			r.PaperTokens += v.Stats.PaperTokens
		}
	}
	return r
}

// WriteText prints one line per file (quiet: failures and empty files
// only; hint may add advice to a read error), the non-captures, then the
// summary line.
func (r *VerifyReport) WriteText(w io.Writer, quiet bool, hint func(error) error) {
	for i, v := range r.Results {
		f := r.Files[i]
		switch {
		case v.Mismatch != nil:
			fmt.Fprintf(w, "MISMATCH %s: %v\n", f, v.Mismatch)
		case v.Err != nil:
			fmt.Fprintf(w, "ERROR    %s: %v\n", f, hint(v.Err))
		case v.Stats.Packets == 0:
			fmt.Fprintf(w, "empty    %s: no packets\n", f)
		case !quiet:
			fmt.Fprintf(w, "ok       %s: %d packets, %d flows, %d tokens, %.1f tokens/packet\n",
				f, v.Stats.Packets, v.Stats.Flows, v.Stats.Tokens, float64(v.Stats.Tokens)/float64(max(v.Stats.Packets, 1)))
		}
	}
	if line := pcap.DescribeOthers(r.Others); line != "" {
		fmt.Fprintln(w, line)
	}
	perPacket := func(n int64) float64 { return float64(n) / float64(max(r.Packets, 1)) }
	fmt.Fprintf(w, "%d files byte-identical (%d of them without packets), %d unreadable, %d mismatched, %d not captures; %d packets, %.1f tokens/packet (paper's layout: %.1f)\n",
		r.OK, r.Empty, r.Unreadable, r.Mismatched, len(r.Others), r.Packets, perPacket(r.Tokens), perPacket(r.PaperTokens))
}
