package dataset

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// CaptureSplitOptions configure SplitCaptures.
type CaptureSplitOptions struct {
	DirA, DirB string  // output folders (created)
	FracA      float64 // share of the flows that go to A (0 < FracA < 1)
	Seed       uint64
	Flow       flow.Config
}

// CaptureSplitStats count what went where.
type CaptureSplitStats struct {
	Files              int
	FlowsA, FlowsB     int
	PacketsA, PacketsB int
}

// Validate checks the options as the split command states them (its errors
// name the command's flags): two different folders, 0 < FracA < 1.
func (o CaptureSplitOptions) Validate() error {
	if o.DirA == "" || o.DirB == "" || o.DirA == o.DirB {
		return errors.New("need -a and -b, two different folders")
	}
	if !(o.FracA > 0 && o.FracA < 1) {
		return fmt.Errorf("--frac %v: want a share between 0 and 1", o.FracA)
	}
	return nil
}

// SplitCaptures splits every capture of ins into two captures of whole
// flows (flow.SplitCapture): a flow goes to A with probability FracA,
// decided by a hash of (Seed, the file's path under its root, the flow's
// id), so the split is reproducible and independent of the other files.
// Each output keeps the file's path under its input root (DirA/<rel>,
// DirB/<rel>), so folder labels survive; every output is written
// atomically. This is the held-out split: train on A, compare with B.
func SplitCaptures(ctx context.Context, ins []pcap.Input, o CaptureSplitOptions) (CaptureSplitStats, error) {
	var st CaptureSplitStats
	if !(o.FracA > 0 && o.FracA < 1) {
		return st, fmt.Errorf("dataset: split fraction %v: want 0 < f < 1", o.FracA)
	}
	for _, in := range ins {
		rel, err := filepath.Rel(in.Root, in.Path)
		if err != nil || rel == "." {
			rel = filepath.Base(in.Path)
		}
		fa, fb, pa, pb, err := splitCapture(ctx, in.Path, filepath.Join(o.DirA, rel), filepath.Join(o.DirB, rel), rel, o)
		if err != nil {
			return st, err
		}
		st.Files++
		st.FlowsA, st.FlowsB, st.PacketsA, st.PacketsB = st.FlowsA+fa, st.FlowsB+fb, st.PacketsA+pa, st.PacketsB+pb
	}
	return st, nil
}

func splitCapture(ctx context.Context, path, outA, outB, rel string, o CaptureSplitOptions) (fa, fb, pa, pb int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer f.Close()
	r, err := pcap.NewReader(bufio.NewReaderSize(f, 256<<10), pcap.ReaderOptions{})
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	var files []*atomicfile.File
	var ws []*pcap.Writer
	for _, out := range []string{outA, outB} {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return 0, 0, 0, 0, err
		}
		af, err := atomicfile.Create(out, atomicfile.Options{Inputs: []string{path}})
		if err != nil {
			return 0, 0, 0, 0, err
		}
		defer af.Abort()
		files = append(files, af)
		ws = append(ws, pcap.NewWriter(af))
	}
	flows, packets, err := flow.SplitCapture(ctx, r, o.Flow, ws, flow.HashPart(o.Seed, filepath.ToSlash(rel), o.FracA))
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	for i, w := range ws {
		if err := w.Flush(); err != nil {
			return 0, 0, 0, 0, err
		}
		if err := files[i].Commit(); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	return flows[0], flows[1], packets[0], packets[1], nil
}
