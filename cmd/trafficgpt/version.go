package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/trafficgpt/trafficgpt/internal/blas"
	"github.com/trafficgpt/trafficgpt/internal/codec"
)

// version is the release; overridden with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func init() {
	register(command{name: "version", summary: "print version, codec version and build", run: cmdVersion})
}

func cmdVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "version", "trafficgpt version", stderr)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trafficgpt %s\ncodec version %d\nbuild: %s, %s %s/%s\n",
		version, codec.Version, blas.Backend(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
