package pcap

import (
	"fmt"
	"io"
	"os"
)

// Reopenable returns a path that can be opened more than once with the
// content of path: path itself for a regular file; for Stdin (read from
// stdin), a FIFO or a device (/dev/stdin), a temporary copy read once from
// it, which cleanup removes. For commands that read an input twice.
func Reopenable(path string, stdin io.Reader) (string, func(), error) {
	var in io.Reader = stdin
	if path != Stdin {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().IsRegular() {
			return path, func() {}, err
		}
		f, err := os.Open(path)
		if err != nil {
			return "", nil, err
		}
		defer f.Close()
		in = f
	}
	tmp, err := os.CreateTemp("", "trafficgpt-stdin-*")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.Remove(tmp.Name()) }
	_, err = io.Copy(tmp, in)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("%s: copying to a temporary file: %w", path, err)
	}
	return tmp.Name(), cleanup, nil
}

// ReopenStdin replaces Stdin ("-") in lists by a re-openable copy of stdin
// (Reopenable), for commands that read each input twice; cleanup removes
// the copy. Stdin named more than once is an error that Is ErrStdinTwice.
func ReopenStdin(stdin io.Reader, lists ...*[]string) (cleanup func(), err error) {
	n := 0
	for _, l := range lists {
		for _, p := range *l {
			if p == Stdin {
				n++
			}
		}
	}
	if n > 1 {
		return nil, stdinTimes(n)
	}
	cleanup = func() {}
	for _, l := range lists {
		for i, p := range *l {
			if p == Stdin {
				if (*l)[i], cleanup, err = Reopenable(p, stdin); err != nil {
					return nil, err
				}
			}
		}
	}
	return cleanup, nil
}

type stdinTimes int

func (n stdinTimes) Error() string        { return fmt.Sprintf("standard input (-) named %d times", int(n)) }
func (n stdinTimes) Is(target error) bool { return target == ErrStdinTwice }
