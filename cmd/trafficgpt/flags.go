package main

import (
	"flag"
	"fmt"
	"io"
)

// newFlagSet returns a flag set whose --help prints the usage line, the
// flags and an example, and whose errors are returned rather than exiting.
func newFlagSet(name, usageLine, example string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: trafficgpt %s\n\nflags:\n", usageLine)
		fs.PrintDefaults()
		if example != "" {
			fmt.Fprintf(stderr, "\nexample:\n  %s\n", example)
		}
	}
	return fs
}

// parseFlags parses args, turning a parse failure into a usage error.
// Flags may follow positional arguments ("verify a.pcap -v").
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, usageError("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
