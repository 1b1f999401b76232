package main

import (
	"context"
	"flag"
	"io"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/capture"
)

// liveFlags choose a live capture (internal/capture) as a command's input
// instead of files: classify, flows and tokenize read an interface as they
// read a capture file.
type liveFlags struct {
	iface, filter, netns string
	count                int
	duration             time.Duration
	promisc              bool
}

func (l *liveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.iface, "interface", "", "capture live from this network interface instead of reading files (Linux, root or CAP_NET_RAW)")
	fs.StringVar(&l.filter, "filter", "", "with --interface: BPF filter in tcpdump's syntax, e.g. 'tcp port 443' (compiled by tcpdump -ddd)")
	fs.IntVar(&l.count, "count", 0, "with --interface: stop after this many packets (0: until --duration or Ctrl-C)")
	fs.DurationVar(&l.duration, "duration", 0, "with --interface: stop after this long (0: until --count or Ctrl-C)")
	fs.BoolVar(&l.promisc, "promisc", false, "with --interface: promiscuous mode")
	fs.StringVar(&l.netns, "netns", "", "with --interface: the interface's network namespace (name under /var/run/netns or a path)")
}

func (l *liveFlags) active() bool { return l.iface != "" }

// name stands for the live input where a command prints a file name.
func (l *liveFlags) name() string { return "iface:" + l.iface }

// check validates the flags against the positional inputs: --interface
// replaces them, the other live flags need it.
func (l *liveFlags) check(inputs []string) error {
	if !l.active() {
		if l.filter != "" || l.count != 0 || l.duration != 0 || l.promisc || l.netns != "" {
			return usageError("--filter, --count, --duration, --promisc and --netns need --interface")
		}
		return nil
	}
	if len(inputs) > 0 {
		return usageError("--interface replaces the input files; got also %v", inputs)
	}
	if l.count < 0 || l.duration < 0 {
		return usageError("--count and --duration must not be negative")
	}
	return nil
}

// openSource opens one input: the live capture when path is live's name,
// else what openInput opens (a file, or stdin for "-"). The returned context is the one to process
// the stream with: a live capture ends its stream cleanly when ctx is done
// (Ctrl-C), so the processing goes on to finish the flows seen so far.
func openSource(ctx context.Context, path string, live *liveFlags) (io.ReadCloser, context.Context, error) {
	if live != nil && live.active() && path == live.name() {
		src, err := capture.Open(ctx, capture.Options{Interface: live.iface, Filter: live.filter, Count: live.count,
			Duration: live.duration, Promisc: live.promisc, Netns: live.netns})
		if err != nil {
			return nil, ctx, err
		}
		return src, context.WithoutCancel(ctx), nil
	}
	f, err := openInput(path)
	return f, ctx, err
}
