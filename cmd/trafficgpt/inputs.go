package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// stdinName is the input path that names standard input.
const stdinName = "-"

// stdin is what "-" reads; tests replace it (with an os.Pipe's reader).
var stdin io.Reader = os.Stdin

// captureInputs expands files and folders (searched recursively) into the
// capture files they hold, sorted within each folder (see expandInputs).
func captureInputs(args []string) ([]string, error) {
	files, _, err := expandInputs(args)
	return files, err
}

// expandInputs expands files and folders (searched recursively) into the
// capture files they hold, sorted within each folder, and the other files
// found in the folders. Named files are taken as they are; a file found in
// a folder is a capture if it starts like one (pcap, pcapng, gzip, xz or
// zstd magic) or is named like one (.pcap, .pcapng, .cap, ...: an empty or
// broken x.pcap must fail loudly, not vanish); the rest (READMEs, CSVs) is
// returned in others, for commands to report. "-" (standard input) is kept
// as it is, at most once: a pipe can be read only once.
func expandInputs(args []string) (files, others []string, err error) {
	seenStdin := false
	for _, a := range args {
		if a == stdinName {
			if seenStdin {
				return nil, nil, usageError("standard input (-) named twice")
			}
			seenStdin = true
			files = append(files, a)
			continue
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, nil, err
		}
		if !fi.IsDir() {
			files = append(files, a)
			continue
		}
		var found, other []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch {
			case !d.Type().IsRegular():
			case looksLikeCapture(p) || namedLikeCapture(p):
				found = append(found, p)
			default:
				other = append(other, p)
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		sort.Strings(found)
		sort.Strings(other)
		files = append(files, found...)
		others = append(others, other...)
	}
	return files, others, nil
}

// namedLikeCapture reports a capture file extension (after an optional
// compression extension).
func namedLikeCapture(path string) bool {
	name := strings.ToLower(filepath.Base(path))
	for _, z := range []string{".gz", ".xz", ".zst", ".zstd"} {
		name = strings.TrimSuffix(name, z)
	}
	switch filepath.Ext(name) {
	case ".pcap", ".pcapng", ".cap", ".dmp", ".ntar":
		return true
	}
	return false
}

// describeOthers is the line commands print about non-capture files found
// in input folders (nil when there are none).
func describeOthers(others []string) string {
	if len(others) == 0 {
		return ""
	}
	list := others[:min(len(others), 5)]
	more := ""
	if len(others) > len(list) {
		more = fmt.Sprintf(", ... (%d more)", len(others)-len(list))
	}
	return fmt.Sprintf("%d files in the input folders are not captures and were skipped: %s%s", len(others), strings.Join(list, ", "), more)
}

var captureMagics = [][]byte{
	{0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, // pcap, microseconds
	{0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d}, // pcap, nanoseconds
	{0x0a, 0x0d, 0x0d, 0x0a}, // pcapng section header
	{0x1f, 0x8b},             // gzip
	{0xfd, '7', 'z', 'X'},    // xz
	{0x28, 0xb5, 0x2f, 0xfd}, // zstd
}

func looksLikeCapture(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [4]byte
	n, _ := io.ReadFull(f, head[:])
	for _, m := range captureMagics {
		if n >= len(m) && bytes.Equal(head[:len(m)], m) {
			return true
		}
	}
	return false
}

// openInput opens a capture, archive or table input: "-" is standard input
// (read once, streaming; closing it is a no-op), anything else a file.
func openInput(path string) (io.ReadCloser, error) {
	if path == stdinName {
		return io.NopCloser(stdin), nil
	}
	return os.Open(path)
}

// countStdin counts the "-" among lists of inputs.
func countStdin(lists ...*[]string) int {
	n := 0
	for _, l := range lists {
		for _, p := range *l {
			if p == stdinName {
				n++
			}
		}
	}
	return n
}

// statOf stats an input opened by openInput (an error for standard input
// replaced by a reader that is not a file).
func statOf(r io.Reader) (fs.FileInfo, error) {
	if f, ok := r.(*os.File); ok {
		return f.Stat()
	}
	return nil, errors.New("not a file")
}

// seekableInput returns a path that can be opened more than once with the
// content of path: path itself for a regular file; for "-", a FIFO or a
// device (/dev/stdin), a temporary copy read once from it, which cleanup
// removes. For commands that must read their input twice (verify).
func seekableInput(path string) (string, func(), error) {
	if path != stdinName {
		if fi, err := os.Stat(path); err != nil || fi.Mode().IsRegular() {
			return path, func() {}, err
		}
	}
	in, err := openInput(path)
	if err != nil {
		return "", nil, err
	}
	defer in.Close()
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

// needInputs checks that positional arguments were given.
func needInputs(args []string, what string) error {
	if len(args) == 0 {
		return usageError("need %s", what)
	}
	return nil
}

// formatCount prints large counts readably.
func formatCount(n int64) string {
	switch {
	case n >= 10_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
