package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Exit codes, the one place they are defined.
const (
	exitOK       = 0
	exitFailure  = 1 // the command failed: bad input, I/O error, ...
	exitUsage    = 2 // wrong flags or arguments
	exitMismatch = 3 // verify: a file did not round-trip byte for byte
	exitCanceled = 130
)

// errUsage marks an error in the command line; errMismatch a failed check.
var (
	errUsage    = errors.New("usage")
	errMismatch = errors.New("mismatch")
)

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
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "trafficgpt %s: %v\n", name, err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "trafficgpt %s: %v\n", name, err)
		return exitFailure
	}
}
