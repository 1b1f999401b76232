package main

import (
	"context"
	"fmt"
	"github.com/trafficgpt/trafficgpt/models/base"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

// version is the release; overridden with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func init() {
	register(command{name: "version", summary: "print version, codec version and build (also trafficgpt --version)", run: cmdVersion})
}

// vcsRevision is ", commit X" (with "+dirty" for a modified tree) when the
// binary was built from a git checkout, else "".
func vcsRevision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return ", commit " + rev[:min(len(rev), 12)] + dirty
}

func cmdVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "version", "trafficgpt version", stderr)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trafficgpt %s\ncodec version %d\nbuild: %s, %s %s/%s%s\n",
		version, codec.Version, model.Backend(), runtime.Version(), runtime.GOOS, runtime.GOARCH, vcsRevision())
	in, err := base.Identity()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "base model: %s\n", in)
	return nil
}
