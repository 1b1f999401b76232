// Command trafficgpt is a foundation model for network traffic: a lossless
// pcap <-> token codec, a linear-attention transformer that pre-trains on long
// flows on CPU, flow classification, pcap generation and honest evaluation.
//
// Each subcommand lives in its own file: flags -> options struct ->
// runX(ctx, opts, stdout, stderr) error. Exit codes are mapped in exitcode.go.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one entry of the command table. run parses its own flags from
// args and writes results to stdout, diagnostics and progress to stderr.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is filled by the init functions of the subcommand files, so that
// adding a subcommand touches only its own file.
var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("trafficgpt: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runMain dispatches to a subcommand and maps its error to an exit code.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	name := args[0]
	rest := args[1:]
	// Two-word commands ("dataset build", "eval classify") are registered
	// under their joined name.
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		if c, ok := commands[name+" "+rest[0]]; ok {
			return exitCode(stderr, c.name, c.run(ctx, rest[1:], stdout, stderr))
		}
	}
	c, ok := commands[name]
	if !ok {
		if group := subcommandsOf(name); len(group) > 0 {
			fmt.Fprintf(stderr, "trafficgpt %s: need a subcommand: %s\n", name, strings.Join(group, ", "))
			return exitUsage
		}
		fmt.Fprintf(stderr, "trafficgpt: unknown command %q (see trafficgpt help)\n", name)
		return exitUsage
	}
	return exitCode(stderr, c.name, c.run(ctx, rest, stdout, stderr))
}

func subcommandsOf(group string) []string {
	var out []string
	for n := range commands {
		if strings.HasPrefix(n, group+" ") {
			out = append(out, strings.TrimPrefix(n, group+" "))
		}
	}
	sort.Strings(out)
	return out
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "trafficgpt: a foundation model for network traffic (TrafficGPT design, CPU, lossless codec)")
	fmt.Fprintln(w, "\nusage: trafficgpt <command> [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-18s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'trafficgpt <command> --help' for a command's flags and an example.")
}
