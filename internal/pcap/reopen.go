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
