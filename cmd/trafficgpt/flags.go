package main

import (
	"bytes"
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
