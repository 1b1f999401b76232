package main

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// stdinName is the input path that names standard input.
const stdinName = pcap.Stdin

// stdin is what "-" reads; tests replace it (with an os.Pipe's reader).
var stdin io.Reader = os.Stdin

// captureInputs expands files and folders into the capture files they
// hold (pcap.Find).
func captureInputs(args []string) ([]string, error) {
	files, _, err := expandInputs(args)
	return files, err
}

// expandInputs is pcap.FindAll: the capture files of args and the other
// files found in their folders; "-" named twice is a usage error.
func expandInputs(args []string) (files, others []string, err error) {
	ins, others, err := pcap.FindAll(args)
	if errors.Is(err, pcap.ErrStdinTwice) {
		return nil, nil, usageError("%v", err)
	}
	return pcap.Paths(ins), others, err
}

// openInput opens a capture, archive or table input: "-" is standard input
// (read once, streaming; closing it is a no-op), anything else a file.
func openInput(path string) (io.ReadCloser, error) {
	if path == atomicfile.Stdout {
		return io.NopCloser(stdin), nil
	}
	return os.Open(path)
}

// statOf stats an input opened by openInput (an error for standard input
// replaced by a reader that is not a file).
func statOf(r io.Reader) (fs.FileInfo, error) {
	if f, ok := r.(*os.File); ok {
		return f.Stat()
	}
	return nil, errors.New("not a file")
}

// seekableInput is pcap.Reopenable with the commands' standard input.
func seekableInput(path string) (string, func(), error) { return pcap.Reopenable(path, stdin) }

// needInputs checks that positional arguments were given.
func needInputs(args []string, what string) error {
	if len(args) == 0 {
		return usageError("need %s", what)
	}
	return nil
}
