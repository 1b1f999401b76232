package evalgen

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"

	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// readSide reads the captures of one side with opts.Workers files at a time
// and merges the per-file results in file order (deterministic output).
func readSide(ctx context.Context, files []string, workers int, wantHash bool, warn func(error), tick func()) (*side, error) {
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
				tick()
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

// readCapture reads one file with flow.Scan (the flow package's loop,
// rules and timeouts): each packet is folded into the histograms at once
// and into its flow's O(1) state, which becomes one feature row when the
// flow ends. A file that does not start like a capture is an error (nil
// data); an error later in the file ends the active flows there, in id
// order, and counts as a file error.
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
	active := map[uint64]*flowState{}
	err = flow.Scan(ctx, r, flow.DefaultConfig(), flow.Visitor{
		Packet: func(p *flow.Scanned) error {
			rec, l := p.Record, p.Layers
			st := active[p.Flow.Flow]
			if st == nil {
				st = &flowState{clean: true}
				key, _ := packet.KeyOf(l, rec.Data)
				st.isTCP = key.Kind == packet.KindPorts && key.Proto == packet.ProtoTCP
				if wantHash {
					st.hash = sha256.New()
				}
				active[p.Flow.Flow] = st
			}
			s.addPacket(st, l, rec.Data, p.TsNanos, rec.OrigLen, p.Flow.C2S, p.Flow.New, p.DecodeErr == nil)
			return nil
		},
		Ended: func(e flow.Ended) error {
			if st := active[e.Flow]; st != nil {
				s.endFlow(st)
				delete(active, e.Flow)
			}
			return nil
		},
	})
	if err == nil {
		return s, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	ids := slices.Sorted(maps.Keys(active))
	for _, id := range ids {
		s.endFlow(active[id])
	}
	s.val.FileErrors = 1
	return s, fmt.Errorf("%s: %w", path, err)
}
