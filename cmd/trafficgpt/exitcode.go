package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// Exit codes, the one place they are defined (README "Exit codes" lists
// the same table):
//
//	0    success: every input was read and the result is complete
//	1    failure: bad or corrupt input (checksum mismatch), I/O error (also
//	     writing standard output), an empty result (no flows, no classes),
//	     degenerate dataset splits; nothing misleading was written
//	2    usage: wrong flags or arguments
//	3    verify: a capture did not round-trip byte for byte
//	4    some inputs (not all: that is 1) could not be read (not captures,
//	     cut, corrupt): they are named on stderr and counted in the
//	     summary; the output holds the others, none of an unreadable one
//	     (flows, classify, verify, dataset build)
//	130  interrupted (Ctrl-C, SIGTERM)
const (
	exitOK         = 0
	exitFailure    = 1
	exitUsage      = 2
	exitMismatch   = 3
	exitUnreadable = 4
	exitCanceled   = 130
)

// errUsage marks an error in the command line; errMismatch a failed check;
// errUnreadable a run that skipped inputs it could not read.
var (
	errUsage      = errors.New("usage")
	errMismatch   = errors.New("mismatch")
	errUnreadable = errors.New("unreadable inputs")
)

// unreadableError reports n of total inputs skipped as unreadable: exit 4
// when the output covers the others, a plain failure when there are none.
func unreadableError(n, total int, names ...string) error {
	list := ""
	if len(names) > 0 {
		list = ": " + strings.Join(names[:min(len(names), 10)], ", ")
		if len(names) > 10 {
			list += ", ..."
		}
	}
	if n >= total {
		return fmt.Errorf("none of the %d input files could be read%s", total, list)
	}
	return fmt.Errorf("%w: %d of %d input files could not be read (named above%s); the output covers the others", errUnreadable, n, total, list)
}

// inputHint adds what the user can do about an input error: a capture cut
// mid-record can be read with --keep-trailing.
func inputHint(err error, keepTrailing bool) error {
	if err != nil && !keepTrailing && errors.Is(err, pcap.ErrTruncated) && !strings.Contains(err.Error(), "empty file") {
		return fmt.Errorf("%w (the capture is cut mid-record: --keep-trailing reads what is complete)", err)
	}
	return err
}

// checkedWriter remembers the first write error on standard output, so a
// command whose report could not be written (a full disk, `> /dev/full`, a
// closed pipe) fails instead of exiting 0.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// stdoutError is err, or the write error stdout (a *checkedWriter) saw.
func stdoutError(stdout io.Writer, err error) error {
	if cw, ok := stdout.(*checkedWriter); ok && err == nil && cw.err != nil {
		return fmt.Errorf("writing standard output: %w", cw.err)
	}
	return err
}

// usageError wraps a message as a usage error.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

func exitCode(stderr io.Writer, name string, err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "trafficgpt %s: interrupted\n", name)
		return exitCanceled
	case errors.Is(err, errMismatch):
		fmt.Fprintf(stderr, "trafficgpt %s: %v\n", name, err)
		return exitMismatch
	case errors.Is(err, errUnreadable):
		fmt.Fprintf(stderr, "trafficgpt %s: %v\n", name, err)
		return exitUnreadable
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "trafficgpt %s: %v\n", name, err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "trafficgpt %s: %v\n", name, err)
		return exitFailure
	}
}
