package evalgen

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
	"github.com/trafficgpt/trafficgpt/internal/tshark"
)

// Options are the inputs of Run. Zero numbers take the defaults.
type Options struct {
	Real, Generated, Train []string // capture files or folders (searched recursively, pcap.Find)
	Seeds                  int      // discriminator runs, seeds 1..Seeds (default 5)
	MaxFlows               int      // flows per side for the discriminator and the NN distances (default 5000, at least 10)
	Trees                  int      // random forest size (default 100)
	Tshark                 string   // "auto" (when on PATH; the default), "on", "off"
	Workers                int      // capture files read in parallel, forest workers (default 2)
	// FloorSeed chooses the split of the real flows into two halves whose
	// comparison is the floor (default 1).
	FloorSeed uint64
	// Labels names the class of each input like dataset build: "file" (file
	// name), "dir" (first folder under the argument) or "" (no per-class rows).
	Labels string
	// Warn receives problems that do not stop the run (a capture whose
	// reading stopped at an error: the flows before it are kept). nil: ignored.
	Warn func(error)
	// Progress, if set, is told each unit of work as it completes: stage
	// "read real", "read generated", "read train" (files) or "discriminator"
	// (seeds), done of total. It may be called from several goroutines.
	Progress func(stage string, done, total int)
}

// tick reports one more unit of a stage to opts.Progress (thread-safe count).
func (o *Options) tick(stage string, total int) func() {
	if o.Progress == nil {
		return func() {}
	}
	var mu sync.Mutex
	done := 0
	return func() {
		mu.Lock()
		done++
		d := done
		mu.Unlock()
		o.Progress(stage, d, total)
	}
}

func (o *Options) defaults() error {
	if o.Seeds < 1 {
		o.Seeds = 5
	}
	if o.MaxFlows < 10 {
		o.MaxFlows = 5000
	}
	if o.Trees < 1 {
		o.Trees = 100
	}
	if o.Workers < 1 {
		o.Workers = 2
	}
	switch o.Tshark {
	case "":
		o.Tshark = "auto"
	case "auto", "on", "off":
	default:
		return fmt.Errorf("evalgen: tshark mode %q: want auto, on or off", o.Tshark)
	}
	if o.Warn == nil {
		o.Warn = func(error) {}
	}
	if o.FloorSeed == 0 {
		o.FloorSeed = 1
	}
	switch o.Labels {
	case "", "dir", "file":
	default:
		return fmt.Errorf("evalgen: labels %q: want dir, file or none", o.Labels)
	}
	return nil
}

func paths(ins []input) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.path
	}
	return out
}

// Run reads the real, generated and (optional) training captures and
// compares them; see the package documentation for what is measured.
func Run(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	find := func(what string, args []string) ([]input, error) {
		ins, err := pcap.Find(args)
		if err != nil {
			return nil, fmt.Errorf("%s captures: %w", what, err)
		}
		out := make([]input, len(ins))
		for i, in := range ins {
			out[i] = input{path: in.Path, label: dataset.FileLabel(opts.Labels, in.Root, in.Path)}
		}
		return out, nil
	}
	realFiles, err := find("real", opts.Real)
	if err != nil {
		return nil, err
	}
	genFiles, err := find("generated", opts.Generated)
	if err != nil {
		return nil, err
	}
	if len(realFiles) == 0 || len(genFiles) == 0 {
		return nil, fmt.Errorf("no capture files: %d real, %d generated", len(realFiles), len(genFiles))
	}
	var trainFiles []input
	if len(opts.Train) > 0 {
		if trainFiles, err = find("training", opts.Train); err != nil {
			return nil, err
		}
		if len(trainFiles) == 0 {
			return nil, fmt.Errorf("training captures: no capture files")
		}
	}

	// tshark reads both sides in the background while we do.
	runTshark := opts.Tshark == "on" || opts.Tshark == "auto" && tshark.Available()
	type tsharkResult struct {
		real, gen           *TsharkCounts
		realClass, genClass map[string]*TsharkCounts
	}
	tsharkDone := make(chan tsharkResult, 1)
	if runTshark {
		go func() {
			var r tsharkResult
			r.gen, r.genClass = tsharkExpert(ctx, genFiles)
			r.real, r.realClass = tsharkExpert(ctx, realFiles)
			tsharkDone <- r
		}()
	}

	wantHash := len(trainFiles) > 0
	real, err := readSide(ctx, realFiles, opts.Workers, wantHash, &split{opts.FloorSeed}, opts.Warn, opts.tick("read real", len(realFiles)))
	if err != nil {
		return nil, err
	}
	gen, err := readSide(ctx, genFiles, opts.Workers, wantHash, nil, opts.Warn, opts.tick("read generated", len(genFiles)))
	if err != nil {
		return nil, err
	}
	var train *sideSet
	if wantHash {
		if train, err = readSide(ctx, trainFiles, opts.Workers, true, nil, opts.Warn, opts.tick("read train", len(trainFiles))); err != nil {
			return nil, err
		}
	}
	rep := &Report{Validity: map[string]*Validity{"real": &real.all.val, "generated": &gen.all.val}, real: real.all, gen: gen.all}
	rep.ReadTime = time.Since(start)

	c, err := compare(real.all, gen.all, opts, "discriminator")
	if err != nil {
		return nil, err
	}
	rep.HeaderJSD, rep.FlowJSD, rep.DiscriminatorF1, rep.DiscriminatorF1Std = c.HeaderJSD, c.FlowJSD, c.DiscriminatorF1, c.DiscriminatorF1Std
	rep.DiscriminatorFlows = c.DiscriminatorFlows
	if rep.Floor, err = floor(real, gen.all, opts, ""); err != nil {
		return nil, err
	}
	if rep.Classes, err = classRows(real, gen, opts); err != nil {
		return nil, err
	}
	if train != nil {
		rep.Memorization = memorize(train.all, real.all, gen.all, opts.MaxFlows, opts.Workers)
	}
	real.all.val.finish()
	gen.all.val.finish()
	if runTshark {
		select {
		case r := <-tsharkDone:
			real.all.val.Tshark, gen.all.val.Tshark = r.real, r.gen
			for i := range rep.Classes {
				c := &rep.Classes[i]
				c.TsharkReal, c.TsharkGenerated = r.realClass[c.Label], r.genClass[c.Label]
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return rep, nil
}
