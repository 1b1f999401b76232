package main

import (
	"bytes"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"

	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlagSet returns a flag set whose --help text (usage line, flags, an
// example) goes to standard output with exit status 0, and whose errors are
// returned (printed once, on stderr, by exitCode) rather than exiting. The
// flag package writes into a buffer that parseFlags hands on; stderr is
// kept in the signature for the commands that pass it.
func newFlagSet(name, usageLine, example string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	buf := new(bytes.Buffer)
	fs.SetOutput(buf)
	fs.Usage = func() {
		buf.Reset() // the flag package printed the error first: exitCode says it
		fmt.Fprintf(buf, "usage: trafficgpt %s\n\nflags:\n", usageLine)
		fs.PrintDefaults()
		if example != "" {
			fmt.Fprintf(buf, "\nexample:\n  %s\n", example)
		}
	}
	return fs
}

// helpRequest is what parseFlags returns for -h/--help: the command's help
// text, which runMain prints on stdout (exit 0). It matches flag.ErrHelp.
type helpRequest struct{ text string }

func (h *helpRequest) Error() string        { return "help requested" }
func (h *helpRequest) Is(target error) bool { return target == flag.ErrHelp }

// parseFlags parses args, turning a parse failure into a usage error.
// Flags may follow positional arguments ("verify a.pcap -v").
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, &helpRequest{text: helpText(fs)}
			}
			return nil, usageError("%v (see trafficgpt %s --help)", err, fs.Name())
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// helpText is a flag set's help as its Usage function printed it.
func helpText(fs *flag.FlagSet) string {
	if b, ok := fs.Output().(*bytes.Buffer); ok {
		if b.Len() == 0 {
			fs.Usage()
		}
		return b.String()
	}
	return ""
}

// printHelp prints a help request's text on stdout and reports whether err
// was one.
func printHelp(stdout io.Writer, err error) bool {
	var h *helpRequest
	if !errors.As(err, &h) {
		return false
	}
	io.WriteString(stdout, h.text)
	return true
}

// isHelpArg reports whether a is a request for help.
func isHelpArg(a string) bool {
	switch strings.TrimLeft(a, "-") {
	case "h", "help":
		return true
	}
	return false
}

// Flag groups that several commands share.

// addFlowFlags registers the flow-assembly flags shared by several commands.
func addFlowFlags(fs interface {
	DurationVar(*time.Duration, string, time.Duration, string)
}, cfg *flow.Config) {
	*cfg = flow.DefaultConfig()
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout, "a flow ends after this long without packets")
	fs.DurationVar(&cfg.TCPCloseGrace, "tcp-close-grace", cfg.TCPCloseGrace, "after RST or FIN both ways, a TCP flow ends after this long without packets")
}

// viewFlags registers the flags that choose a codec view.
type viewFlags struct {
	mask string
	v    codec.View
}

func (v *viewFlags) register(fs *flag.FlagSet, defMask string) {
	fs.StringVar(&v.mask, "mask", defMask, "masking profile: none, addr, addr+ports, all, or a +list of addr,ports,mac,ttl,ipid")
	fs.BoolVar(&v.v.HeaderOnly, "header-only", false, "keep no transport payload")
	fs.IntVar(&v.v.MaxPayload, "max-payload", 0, "keep at most this many payload bytes per packet (0: all)")
	fs.IntVar(&v.v.MaxPackets, "max-packets", 0, "keep at most this many packets per flow (0: all)")
	fs.IntVar(&v.v.MaxTokens, "max-tokens", 0, "keep at most this many tokens per flow (0: all)")
}

func (v *viewFlags) view() (codec.View, error) {
	var err error
	if v.v.Mask, err = codec.ParseMask(v.mask); err == nil {
		err = v.v.Validate()
	}
	if err != nil {
		return codec.View{}, usageError("%v", err)
	}
	return v.v, nil
}

// checkFormat checks --format of the commands that list flows (flows,
// classify).
func checkFormat(f string) error {
	if f != "text" && f != "csv" && f != "jsonl" {
		return usageError("--format %q: want text, csv or jsonl", f)
	}
	return nil
}

// appendTo is a flag.Func that appends each value to *list (a repeatable
// flag).
func appendTo(list *[]string) func(string) error {
	return func(s string) error { *list = append(*list, s); return nil }
}

// spreadMultiFlags rewrites "--real a b --generated c" into "--real a
// --real b --generated c", so that a shell glob can follow a flag.
func spreadMultiFlags(args []string, names ...string) []string {
	isMulti := func(a string) (string, bool) {
		n := strings.TrimLeft(a, "-")
		if n == a || strings.Contains(n, "=") {
			return "", false
		}
		for _, m := range names {
			if n == m {
				return a, true
			}
		}
		return "", false
	}
	var out []string
	for i := 0; i < len(args); i++ {
		flagArg, ok := isMulti(args[i])
		if !ok {
			out = append(out, args[i])
			continue
		}
		n := 0
		for i+1 < len(args) && (!strings.HasPrefix(args[i+1], "-") || args[i+1] == stdinName) {
			i++
			out = append(out, flagArg, args[i])
			n++
		}
		if n == 0 {
			out = append(out, flagArg) // let the flag package report the missing value
		}
	}
	return out
}
