package evalgen

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// readSide reads the captures of one side with opts.Workers files at a time
// and merges the per-file results in file order (deterministic output).
func readSide(ctx context.Context, files []string, workers int, wantHash bool, warn func(error)) (*side, error) {
	results := make([]*side, len(files))
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(files)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = readCapture(ctx, files[i], wantHash)
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	all := newSide()
	for i, r := range results {
		if errs[i] != nil && r == nil {
			return nil, errs[i]
		}
		if errs[i] != nil {
			warn(fmt.Errorf("%w (flows read before the error are kept)", errs[i]))
		}
		all.merge(r)
		results[i] = nil
	}
	return all, nil
}

// errNotCapture marks a file that is not a capture at all.
var errNotCapture = errors.New("not a capture")

// readCapture reads one file, packet by packet: packets are decoded once,
// assigned to flows by flow.Assembler (the flow package's rules and
// timeouts), folded into the histograms at once and into their flow's
// O(1) state, which becomes one feature row when the flow ends. A file
// that does not start like a capture is an error (nil data); an error later
// in the file ends the active flows there and counts as a file error.
func readCapture(ctx context.Context, path string, wantHash bool) (*side, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := newSide()
	s.val.Files = 1
	if st, err := f.Stat(); err == nil {
		s.val.Bytes = st.Size()
	}
	r, err := pcap.NewReader(bufio.NewReaderSize(f, 256<<10), pcap.ReaderOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", path, errNotCapture, err)
	}
	a := flow.NewAssembler(flow.DefaultConfig())
	active := map[uint64]*flowState{}
	var (
		l      packet.Layers
		ended  []flow.Ended
		lastTs int64
		n      int
		rerr   error
	)
	finish := func() {
		for _, e := range ended {
			if st := active[e.Flow]; st != nil {
				s.endFlow(st)
				delete(active, e.Flow)
			}
		}
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
		if rec.Kind != pcap.KindPacket {
			continue
		}
		if n++; n%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		ts := lastTs
		if rec.HasTime {
			ts = rec.Resolution.TicksToNanos(rec.Timestamp)
		}
		lastTs = ts
		decoded := packet.Decode(rec.LinkType, rec.Data, &l) == nil
		as := a.AddLayers(ts, &l, rec.Data, flow.Scope(rec.Section, rec.Interface))
		st := active[as.Flow]
		if st == nil {
			st = &flowState{clean: true}
			key, _ := packet.KeyOf(&l, rec.Data)
			st.isTCP = key.Kind == packet.KindPorts && key.Proto == packet.ProtoTCP
			if wantHash {
				st.hash = sha256.New()
			}
			active[as.Flow] = st
		}
		s.addPacket(st, &l, rec.Data, ts, rec.OrigLen, as.C2S, as.New, decoded)
		ended = a.Ended(ended[:0])
		finish()
	}
	ended = a.Finish(ended[:0])
	finish()
	if rerr != nil {
		s.val.FileErrors = 1
		return s, fmt.Errorf("%s: %w", path, rerr)
	}
	return s, nil
}
