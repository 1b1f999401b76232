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

// sideSet is one side as read: all its flows, the two halves of its flows
// (the real side only: the floor compares them) and the same per class
// label (when the inputs are labelled).
type sideSet struct {
	all   *side
	half  [2]*side            // nil when the side is not split
	class map[string]*sideSet // nil without labels; class entries have no classes
}

func newSideSet(halves bool) *sideSet {
	s := &sideSet{all: newSide()}
	if halves {
		s.half = [2]*side{newSide(), newSide()}
	}
	return s
}

func (s *sideSet) merge(o *sideSet) {
	s.all.merge(o.all)
	if s.half[0] != nil {
		s.half[0].merge(o.half[0])
		s.half[1].merge(o.half[1])
	}
}

// input is one capture of a side: its path and class label ("" = none).
type input struct{ path, label string }

// split says how a side's flows are split into halves: by a hash of (Seed,
// the file's index in its side, the flow's id), so the split is the same
// whatever the number of workers. nil: not split.
type split struct{ seed uint64 }

// halfOf is 0 or 1 for flow id of file index i (splitmix64 of the three).
func (sp *split) halfOf(i int, id uint64) int {
	x := sp.seed ^ uint64(i)*0x9e3779b97f4a7c15 ^ (id+1)*0xbf58476d1ce4e5b9
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return int(x & 1)
}

// readSide reads the captures of one side with workers files at a time and
// merges the per-file results in file order (deterministic output).
func readSide(ctx context.Context, files []input, workers int, wantHash bool, sp *split, warn func(error), tick func()) (*sideSet, error) {
	results := make([]*sideSet, len(files))
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(files)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = readCapture(ctx, files[i].path, i, wantHash, sp)
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
	all := newSideSet(sp != nil)
	for i, r := range results {
		if errs[i] != nil && r == nil {
			return nil, errs[i]
		}
		if errs[i] != nil {
			warn(fmt.Errorf("%w (flows read before the error are kept)", errs[i]))
		}
		all.merge(r)
		if l := files[i].label; l != "" {
			if all.class == nil {
				all.class = map[string]*sideSet{}
			}
			c := all.class[l]
			if c == nil {
				c = newSideSet(sp != nil)
				all.class[l] = c
			}
			c.merge(r)
		}
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
func readCapture(ctx context.Context, path string, index int, wantHash bool, sp *split) (*sideSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	set := newSideSet(sp != nil)
	s := set.all
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
				if sp != nil {
					st.half = set.half[sp.halfOf(index, p.Flow.Flow)]
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
		return set, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	ids := slices.Sorted(maps.Keys(active))
	for _, id := range ids {
		s.endFlow(active[id])
	}
	s.val.FileErrors = 1
	return set, fmt.Errorf("%s: %w", path, err)
}
