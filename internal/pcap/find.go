package pcap

import (
	"encoding/binary"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Input is a capture file and the argument it was found under (the file
// itself, or the folder that holds it).
type Input struct{ Path, Root string }

// Find expands files and folders (searched recursively) into the capture
// files they hold, sorted within each folder. Named files are taken as they
// are (reading them reports what is wrong); files found in folders are kept
// only if they start like a capture (LooksLikeCapture), so READMEs and CSVs
// beside the captures are skipped.
func Find(args []string) ([]Input, error) {
	var out []Input
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, Input{Path: a, Root: a})
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && fileLooksLikeCapture(p) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		for _, p := range found {
			out = append(out, Input{Path: p, Root: a})
		}
	}
	return out, nil
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
// either resolution and byte order, a pcapng section header, or gzip, xz
// or zstd.
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
