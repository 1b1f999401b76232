package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Stdin is the input path that names standard input.
const Stdin = "-"

// ErrStdinTwice: standard input can be read once, so it can be named once.
var ErrStdinTwice = errors.New("standard input (-) named twice")

// Input is a capture file and the argument it was found under (the file
// itself, or the folder that holds it).
type Input struct{ Path, Root string }

// Find is FindAll without the other files.
func Find(args []string) ([]Input, error) {
	ins, _, err := FindAll(args)
	return ins, err
}

// FindAll expands files and folders (searched recursively) into the capture
// files they hold, sorted within each folder, and the other files found in
// the folders. Named files are taken as they are (reading them reports what
// is wrong); a file found in a folder is a capture if it starts like one
// (LooksLikeCapture) or is named like one (NamedLikeCapture: an empty or
// broken x.pcap must fail loudly, not vanish); the rest (READMEs, CSVs)
// comes back in others, for commands to report. Stdin ("-") is kept as it
// is, at most once (ErrStdinTwice).
func FindAll(args []string) (ins []Input, others []string, err error) {
	seenStdin := false
	for _, a := range args {
		if a == Stdin {
			if seenStdin {
				return nil, nil, ErrStdinTwice
			}
			seenStdin = true
			ins = append(ins, Input{Path: a, Root: a})
			continue
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, nil, err
		}
		if !fi.IsDir() {
			ins = append(ins, Input{Path: a, Root: a})
			continue
		}
		var found, other []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch {
			case !d.Type().IsRegular():
			case fileLooksLikeCapture(p) || NamedLikeCapture(p):
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
		for _, p := range found {
			ins = append(ins, Input{Path: p, Root: a})
		}
		others = append(others, other...)
	}
	return ins, others, nil
}

// Paths returns the paths of ins.
func Paths(ins []Input) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.Path
	}
	return out
}

// LooksLikeCapture reports whether head (the first 4 bytes of a file, or
// fewer) starts like something NewReader reads: a classic pcap magic of
// either resolution and byte order, a pcapng section header, or a gzip, xz
// or zstd stream.
func LooksLikeCapture(head []byte) bool {
	if sniffCompression(head) != NoCompression {
		return true
	}
	if len(head) < 4 {
		return false
	}
	switch binary.LittleEndian.Uint32(head) {
	case magicMicro, magicNano, swap32(magicMicro), swap32(magicNano), BlockSHB:
		return true
	}
	return false
}

// NamedLikeCapture reports a capture file extension (.pcap, .pcapng, .cap,
// .dmp, .ntar), after an optional compression extension.
func NamedLikeCapture(path string) bool {
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

func fileLooksLikeCapture(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [4]byte
	n, _ := io.ReadFull(f, head[:])
	return LooksLikeCapture(head[:n])
}

// Largest is the largest capture file (FindAll) in the first of dirs that
// holds one ("" when none does).
func Largest(dirs ...string) string {
	for _, d := range dirs {
		ins, _, err := FindAll([]string{d})
		if err != nil || len(ins) == 0 {
			continue
		}
		best, size := "", int64(-1)
		for _, in := range ins {
			if fi, err := os.Stat(in.Path); err == nil && fi.Size() > size {
				best, size = in.Path, fi.Size()
			}
		}
		return best
	}
	return ""
}

// DescribeOthers is the line commands print about the non-capture files
// FindAll found in input folders ("" when there are none): their count and
// the first five names.
func DescribeOthers(others []string) string {
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
