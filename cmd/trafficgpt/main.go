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
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		// The first signal asks the command to stop cleanly (a training
		// run saves its checkpoint); the default action is back for the
		// next one, so a second Ctrl-C is never swallowed.
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		fmt.Fprintf(os.Stderr, "\ntrafficgpt: %v: stopping cleanly (once more to quit at once)\n", s)
		cancel()
	}()
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}

// runMain dispatches to a subcommand and maps its error to an exit code.
// Help (trafficgpt help, --help, -h; a command's or a group's --help; help
// CMD) goes to stdout with exit 0; --version prints the version.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	if isHelpArg(args[0]) {
		if len(args) > 1 {
			// "help dataset build" is "dataset build --help".
			return runMain(ctx, append(append([]string(nil), args[1:]...), "--help"), stdout, stderr)
		}
		usage(stdout)
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = []string{"version"}
	}
	name := args[0]
	rest := args[1:]
	if _, ok := stdout.(*checkedWriter); !ok {
		stdout = &checkedWriter{w: stdout}
	}
	// Two-word commands ("dataset build", "eval classify") are registered
	// under their joined name.
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		if c, ok := commands[name+" "+rest[0]]; ok {
			return finish(stdout, stderr, c.name, c.run(ctx, rest[1:], stdout, stderr))
		}
	}
	c, ok := commands[name]
	if !ok {
		if group := subcommandsOf(name); len(group) > 0 {
			if len(rest) > 0 && isHelpArg(rest[0]) {
				groupUsage(stdout, name)
				return exitOK
			}
			fmt.Fprintf(stderr, "trafficgpt %s: need a subcommand: %s (see trafficgpt %s --help)\n", name, strings.Join(group, ", "), name)
			return exitUsage
		}
		fmt.Fprintf(stderr, "trafficgpt: unknown command %q (see trafficgpt help)\n", name)
		return exitUsage
	}
	return finish(stdout, stderr, c.name, c.run(ctx, rest, stdout, stderr))
}

// finish prints a help request on stdout, or maps err to an exit code.
func finish(stdout, stderr io.Writer, name string, err error) int {
	if printHelp(stdout, err) {
		return exitOK
	}
	return exitCode(stderr, name, stdoutError(stdout, err))
}

// groupUsage lists a command group's subcommands ("trafficgpt dataset --help").
func groupUsage(w io.Writer, group string) {
	fmt.Fprintf(w, "usage: trafficgpt %s <subcommand> [flags] [args]\n\nsubcommands:\n", group)
	for _, sub := range subcommandsOf(group) {
		c := commands[group+" "+sub]
		fmt.Fprintf(w, "  %-10s %s\n", sub, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'trafficgpt %s <subcommand> --help' for its flags and an example.\n", group)
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
	fmt.Fprintln(w, "\nRun 'trafficgpt <command> --help' for a command's flags and an example;")
	fmt.Fprintln(w, "'trafficgpt --version' for the version. Inputs named - are standard input.")
}
