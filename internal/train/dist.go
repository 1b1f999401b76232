package train

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/trafficgpt/trafficgpt/internal/dist"
)

// ErrRanks reports ranks of a data-parallel run that disagree (dataset,
// weights).
var ErrRanks = errors.New("train: ranks disagree")

// Data-parallel training (Job.Comm with Size() > 1): every rank opens the
// same dataset with the same options, so every rank's loader yields the
// same global batches; rank r computes forward/backward only on its share
// of each step's Accum*Batch rows (the r-th of Size contiguous ranges of
// the step's rows in loader order), the gradients (scaled by the global
// target count) are summed with one all-reduce, and every rank applies the
// same AdamW update. The step is therefore the one-process step up to float
// summation order; with dropout it is the same only when every rank's share
// is whole micro-batches (Accum a multiple of Size), as the dropout masks
// are functions of the position in the micro-batch.

func (r *runner) comm() dist.Comm {
	if r.job.Comm == nil {
		return dist.Single()
	}
	return r.job.Comm
}

func (r *runner) root() bool { return r.comm().Rank() == 0 }

// rows is this rank's rows [lo, hi) of micro-batch a (of Batch rows).
func (r *runner) rows(a int) (lo, hi int) {
	c, B := r.comm(), r.o.Batch
	if c.Size() == 1 {
		return 0, B
	}
	G := r.o.Accum * B
	glo, ghi := c.Rank()*G/c.Size(), (c.Rank()+1)*G/c.Size()
	lo, hi = max(glo-a*B, 0), min(ghi-a*B, B)
	if lo >= hi {
		return 0, 0
	}
	return lo, hi
}

func countTargets(tgt []int32) int {
	n := 0
	for _, t := range tgt {
		if t >= 0 {
			n++
		}
	}
	return n
}

// allReduce sums the step's gradients (already scaled by the global target
// count) and loss sums over the ranks; with CheckEvery it first compares
// the weights with rank 0's.
func (r *runner) allReduce(grads []float32, lossSum *float64) error {
	c := r.comm()
	if c.Size() == 1 {
		return nil
	}
	if k := r.job.CheckEvery; k > 0 && r.step%k == 0 {
		if err := r.checkWeights(); err != nil {
			return err
		}
	}
	t0 := time.Now()
	if err := c.AllReduceSum(grads); err != nil {
		return fmt.Errorf("train: step %d: gradient all-reduce: %w", r.step+1, err)
	}
	s := []float64{*lossSum}
	if err := c.AllReduceSum64(s); err != nil {
		return fmt.Errorf("train: step %d: loss all-reduce: %w", r.step+1, err)
	}
	r.commSecs += time.Since(t0).Seconds()
	*lossSum = s[0]
	return nil
}

// checkWeights compares a sha256 of the weights with rank 0's on every rank;
// all ranks return the same verdict.
func (r *runner) checkWeights() error {
	c := r.comm()
	p := r.m.Params()
	sum := sha256.Sum256(unsafe.Slice((*byte)(unsafe.Pointer(&p[0])), 4*len(p)))
	ref := sum
	if err := c.Broadcast(ref[:], 0); err != nil {
		return err
	}
	bad := []float64{0}
	if ref != sum {
		bad[0] = 1
	}
	if err := c.AllReduceSum64(bad); err != nil {
		return err
	}
	if bad[0] > 0 {
		return fmt.Errorf("%w: after step %d the weights of %d rank(s) differ from rank 0's (this rank %d: %s)",
			ErrRanks, r.step, int(bad[0]), c.Rank(), map[bool]string{true: "same", false: "differs"}[ref == sum])
	}
	return nil
}

// stepCtx is the context of one step: in a data-parallel run a rank never
// stops inside a step (the others would wait in the all-reduce); stopCheck
// decides at step boundaries for all ranks together.
func (r *runner) stepCtx(ctx context.Context) context.Context {
	if r.comm().Size() == 1 {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// stopCheck says whether to stop before the next step and why ("canceled",
// "time limit"). In a data-parallel run the ranks agree: any rank's
// cancellation stops all, and rank 0's clock rules the time limit.
func (r *runner) stopCheck(ctx context.Context) (string, error) {
	o, c := r.o, r.comm()
	timeUp := o.TimeLimit > 0 && time.Since(r.invStart) >= o.TimeLimit
	if c.Size() == 1 {
		if err := ctx.Err(); err != nil {
			return "canceled", err
		}
		if timeUp {
			return "time limit", nil
		}
		return "", nil
	}
	f := []float64{0, 0}
	if ctx.Err() != nil {
		f[0] = 1
	}
	if timeUp && c.Rank() == 0 {
		f[1] = 1
	}
	if err := c.AllReduceSum64(f); err != nil {
		return "canceled", fmt.Errorf("train: stop agreement: %w", err)
	}
	switch {
	case f[0] > 0:
		if err := ctx.Err(); err != nil {
			return "canceled", err
		}
		return "canceled", context.Canceled
	case f[1] > 0:
		return "time limit", nil
	}
	return "", nil
}

// syncState is what rank 0 sends the other ranks at the start.
type syncState struct {
	Step        int             `json:"step"`
	Tokens      int64           `json:"tokens"`
	Elapsed     float64         `json:"elapsed_s"`
	TrainSecs   float64         `json:"train_s"`
	LastLoss    float64         `json:"last_loss"`
	Loader      json.RawMessage `json:"loader"`
	DatasetHash string          `json:"dataset_hash"`
	Options     Options         `json:"options"`
	Opt         []byte          `json:"opt,omitempty"` // AdamW state when resuming
}

// follower prepares a rank other than 0: no files; the state comes from
// rank 0 in syncStart.
func (r *runner) follower() error {
	r.lastEval, r.saved = -1, -1
	return nil
}

// syncStart makes every rank start from rank 0's weights, optimizer state,
// loader position and counters (rank 0 alone reads the checkpoint, so the
// other ranks need no access to the model directory), and checks that the
// ranks opened the same dataset with the same options.
func (r *runner) syncStart() error {
	c := r.comm()
	if c.Size() == 1 {
		return nil
	}
	var blob []byte
	if c.Rank() == 0 {
		s := syncState{Step: r.step, Tokens: r.tokens, Elapsed: r.elapsed, TrainSecs: r.trainSecs,
			LastLoss: r.lastLoss, Loader: r.loader, DatasetHash: r.job.Data.Hash, Options: r.o}
		if r.step > 0 || r.opt.Steps() > 0 {
			var err error
			if s.Opt, err = r.opt.MarshalBinary(); err != nil {
				return err
			}
		}
		blob = []byte(mustJSON(s))
	}
	blob, err := dist.BroadcastBlob(c, blob, 0)
	if err != nil {
		return fmt.Errorf("train: start: %w", err)
	}
	if err := dist.BroadcastFloats(c, r.m.Params(), 0); err != nil {
		return fmt.Errorf("train: start: weights: %w", err)
	}
	var s syncState
	if err := json.Unmarshal(blob, &s); err != nil {
		return fmt.Errorf("train: start: %w", err)
	}
	var why string
	switch {
	case s.DatasetHash != r.job.Data.Hash:
		why = fmt.Sprintf("rank %d opened dataset %s (manifest sha256 %.12s), rank 0 one with sha256 %.12s",
			c.Rank(), r.job.Data.Path, r.job.Data.Hash, s.DatasetHash)
	case mustJSON(s.Options) != mustJSON(r.o):
		why = fmt.Sprintf("rank %d has options %s, rank 0 %s", c.Rank(), mustJSON(r.o), mustJSON(s.Options))
	}
	bad := []float64{0}
	if why != "" {
		bad[0] = 1
	}
	if err := c.AllReduceSum64(bad); err != nil {
		return fmt.Errorf("train: start: %w", err)
	}
	if bad[0] > 0 {
		if why == "" {
			why = fmt.Sprintf("%d rank(s) differ from rank 0 in dataset or options", int(bad[0]))
		}
		return fmt.Errorf("%w: %s", ErrRanks, why)
	}
	if c.Rank() == 0 {
		return nil
	}
	if s.Opt != nil {
		if err := r.opt.UnmarshalBinary(s.Opt); err != nil {
			return fmt.Errorf("train: start: %w", err)
		}
		r.opt.Hyper.WeightDecay = r.o.WeightDecay
	}
	if err := r.job.Data.Train.Restore(s.Loader); err != nil {
		return fmt.Errorf("train: start: loader state: %w", err)
	}
	r.loader = append([]byte(nil), s.Loader...)
	r.step, r.tokens, r.elapsed, r.trainSecs, r.lastLoss = s.Step, s.Tokens, s.Elapsed, s.TrainSecs, s.LastLoss
	r.saved = s.Step
	return nil
}

// SyncOptions gives every rank of c rank 0's options (rank 0 alone may
// read the checkpoint that a resumed run takes its options from). Nil or a
// one-process c changes nothing.
func SyncOptions(c dist.Comm, t *Options) error {
	if c == nil || c.Size() == 1 {
		return nil
	}
	var b []byte
	if c.Rank() == 0 {
		var err error
		if b, err = json.Marshal(t); err != nil {
			return err
		}
	}
	b, err := dist.BroadcastBlob(c, b, 0)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, t)
}
