package classify

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// Decision says what made a flow's decision due.
type Decision uint8

const (
	DecidedEarly Decision = iota + 1 // the flow reached CaptureOptions.Early packets
	DecidedFull                      // the flow's tokens filled the model's row (T-1)
	DecidedEnd                       // the flow ended before either
)

func (d Decision) String() string {
	switch d {
	case DecidedEarly:
		return "early"
	case DecidedFull:
		return "full"
	case DecidedEnd:
		return "end"
	}
	return "unknown"
}

// Unknown is FlowResult.Class of a flow the open-set rule rejects.
const Unknown = -1

// FlowResult is the decision on one flow of a capture.
type FlowResult struct {
	ID          uint64 // flow index within the capture (dataset.FlowMeta.FlowID)
	Key         string // "proto client:port -> server:port" as captured (not masked)
	CommunityID string // Community ID v1 (seed 0) of the flow; "" for non-IP flows
	// AtPacket is the number of the flow's packets seen when the decision
	// was made (the deciding packet's 1-based index in the flow); After the
	// capture time from the flow's first packet to that packet.
	AtPacket int
	After    time.Duration
	Why      Decision
	Tokens   int     // tokens of the flow the model read (before <cls>)
	Class    int     // predicted class, or Unknown when the open-set rule rejects the flow
	Best     int     // the most probable class (= Class unless Unknown)
	Prob     float32 // probability of Best
	Score    float64 // open-set score (higher: more like a known class); 0 without an open-set rule
	Probs    []float32
	First    int64 // timestamp of the flow's first packet (ns since the epoch)
}

// CaptureOptions configure Capture.
type CaptureOptions struct {
	Batch      int // flows per forward pass at most (default 16)
	Early      int // > 0: decide at the flow's Early-th packet, from its first Early packets (at most the view's MaxPackets)
	MinPackets int // skip flows with fewer packets; < 0: the classifier's
	// Queue is how many decided flows may wait for the model (default
	// 4*Batch); the reader stops when it is full, so memory stays bounded.
	Queue int
	// NoOpenSet labels every flow with its best class even when the
	// classifier has an open-set rule.
	NoOpenSet bool
	// KeepTrailing reads a capture cut mid-record up to its last complete
	// record; without it such a capture is an error (pcap.ErrTruncated).
	KeepTrailing bool
	// Flush (may be nil) is called after a batch was reported when no other
	// decided flow is waiting: the moment to flush buffered output, so a
	// live capture's decisions show at once and a file's come in blocks.
	Flush func() error
}

// liveFlow is a flow being read: its tokens so far, until it is decided.
type liveFlow struct {
	enc       *codec.FlowEncoder
	toks      []codec.Token
	key       packet.Key
	firstAToB bool
	cid       string
	first     int64
	packets   int
	decided   bool
}

// job is a decided flow waiting for the model.
type job struct {
	res  FlowResult // without Class, Prob, Score, Probs
	toks []codec.Token
}

// Capture reads one capture (pcap, pcapng, compressed; a file, a pipe or
// a live capture's stream) and decides each flow as soon as its decision
// is due: at its Early-th packet (Early > 0), when its tokens fill the
// model's row, or when it ends, whichever comes first. fn is called once per
// decided flow, in decision order, from one goroutine; the model runs on
// another one beside the reader and takes whatever decided flows are
// waiting, up to Batch, so a quiet live link gets its answers at once and a
// file is read in full batches. Memory: the tokens of the active undecided
// flows (each at most T-1 tokens or Early packets), a small record per
// decided active flow, and the queue. It returns the flows decided; a
// capture without any flow is ErrEmpty.
func (c *Classifier) Capture(ctx context.Context, r io.Reader, o CaptureOptions, fn func(*FlowResult) error) (int, error) {
	if o.Batch <= 0 {
		o.Batch = 16
	}
	if o.Queue <= 0 {
		o.Queue = 4 * o.Batch
	}
	if o.MinPackets < 0 {
		o.MinPackets = c.MinPackets
	}
	view := c.View
	// The row is settled at the Early-th packet, or at the view's last
	// packet when the classifier's view keeps only the first few (a
	// classifier trained on 5-packet flows decides at packet 5 by itself).
	early := o.Early
	if v := c.View.MaxPackets; v > 0 && (early == 0 || v < early) {
		early = v
	}
	o.Early = early
	limit := c.Context // first T-1 tokens need at most T-1 packets
	if early > 0 {
		limit = min(limit, early)
	}
	if view.MaxPackets == 0 || view.MaxPackets > limit {
		view.MaxPackets = limit
	}
	pr, err := pcap.NewReader(bufio.NewReaderSize(r, 1<<16), pcap.ReaderOptions{KeepTrailing: o.KeepTrailing})
	if err != nil {
		return 0, err
	}

	jobs := make(chan job, o.Queue)
	done, failed := make(chan struct{}), make(chan struct{})
	var (
		decided int
		werr    error
	)
	go func() {
		defer close(done)
		if werr = c.runJobs(jobs, o, fn, &decided); werr != nil {
			close(failed) // the reader stops at its next decision
			for range jobs {
			}
		}
	}()

	T := c.Context
	active := map[uint64]*liveFlow{}
	var pool []*liveFlow
	seen := 0
	submit := func(lf *liveFlow, id uint64, at int64, why Decision) error {
		lf.decided = true
		toks := lf.toks
		if why == DecidedEnd {
			toks = lf.enc.End(toks)
		} else if why == DecidedEarly && len(toks) < T-1 {
			// The flow goes on: the row says so, as a dataset view cut at
			// Early packets does.
			toks = append(toks, codec.CUT)
		}
		j := job{res: FlowResult{ID: id, Key: lf.key.Directed(lf.firstAToB), CommunityID: lf.cid, AtPacket: lf.packets,
			After: time.Duration(at - lf.first), Why: why, Tokens: min(len(toks), T-1), First: lf.first}}
		// The job owns the tokens; the flow keeps nothing but its record.
		j.toks, lf.toks = toks[:min(len(toks), T-1)], nil
		select {
		case jobs <- j:
			return nil
		case <-failed:
			return werr
		}
	}
	due := func(lf *liveFlow) (Decision, bool) {
		switch {
		case lf.packets < o.MinPackets:
			return 0, false
		case o.Early > 0 && lf.packets >= o.Early:
			return DecidedEarly, true
		case len(lf.toks) >= T-1:
			return DecidedFull, true
		}
		return 0, false
	}
	err = flow.Scan(ctx, pr, c.Flow, flow.Visitor{
		Packet: func(p *flow.Scanned) error {
			rec := p.Record
			lf := active[p.Flow.Flow]
			if p.Flow.New {
				seen++
				if k := len(pool); k > 0 {
					lf, pool = pool[k-1], pool[:k-1]
					*lf = liveFlow{enc: lf.enc, toks: lf.toks[:0]} // undecided flows leave their buffer
				} else {
					lf = &liveFlow{enc: codec.NewFlowEncoder(view)}
				}
				lf.key, lf.firstAToB = packet.KeyOf(p.Layers, rec.Data)
				lf.cid = flow.PacketCommunityID(p.Layers, rec.Data, 0)
				lf.first = p.TsNanos
				lf.toks = lf.enc.Begin(lf.toks, codec.Header{LinkType: rec.LinkType, Resolution: rec.Resolution, Label: -1}, rec.Timestamp)
				active[p.Flow.Flow] = lf
			}
			if lf == nil || lf.decided {
				return nil
			}
			lf.packets++
			lf.toks = lf.enc.Packet(lf.toks, p.Flow.C2S, rec.Timestamp, rec.HasTime, rec.OrigLen, rec.Data)
			if why, ok := due(lf); ok {
				return submit(lf, p.Flow.Flow, p.TsNanos, why)
			}
			return nil
		},
		Ended: func(e flow.Ended) error {
			lf := active[e.Flow]
			if lf == nil {
				return nil
			}
			delete(active, e.Flow)
			var err error
			if !lf.decided && lf.packets >= o.MinPackets && lf.packets > 0 {
				lf.key, lf.firstAToB = e.Key, e.FirstAToB
				err = submit(lf, e.Flow, e.Last, DecidedEnd)
			}
			pool = append(pool, lf)
			return err
		},
	})
	close(jobs)
	<-done
	switch {
	case werr != nil:
		return decided, werr
	case err != nil:
		return decided, err
	case seen == 0:
		return 0, fmt.Errorf("%w: the capture holds no packets that form a flow", ErrEmpty)
	}
	return decided, nil
}

// runJobs is the model's side of Capture: it takes the decided flows that
// are waiting (at least one, at most Batch), classifies them in one pass and
// reports them in order.
func (c *Classifier) runJobs(jobs <-chan job, o CaptureOptions, fn func(*FlowResult) error, decided *int) error {
	var (
		pending []FlowResult
		toks    [][]codec.Token
		res     FlowResult
	)
	bt := NewBatcher(c, o.Batch, func(i int, probs, feats []float32) error {
		res = pending[i]
		res.Best = Argmax(probs)
		res.Class, res.Prob, res.Probs = res.Best, probs[res.Best], probs
		if c.OpenSet != nil {
			res.Score = c.OpenSet.Score(probs, feats)
			if !o.NoOpenSet && !c.OpenSet.Known(res.Score) {
				res.Class = Unknown
			}
		}
		*decided++
		return fn(&res)
	})
	for {
		j, ok := <-jobs
		if !ok {
			return nil
		}
		pending, toks = pending[:0], toks[:0]
		for {
			pending, toks = append(pending, j.res), append(toks, j.toks)
			if len(pending) == o.Batch {
				break
			}
			select {
			case j, ok = <-jobs:
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		// pending is complete before the first Add: a full batch runs
		// inside Add and reports from pending.
		for i := range pending {
			if err := bt.Add(toks[i], i); err != nil {
				return err
			}
		}
		if err := bt.Flush(); err != nil {
			return err
		}
		if o.Flush != nil && len(jobs) == 0 {
			if err := o.Flush(); err != nil {
				return err
			}
		}
	}
}
