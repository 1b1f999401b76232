package train

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/dist"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

// memHub is an in-process dist.Comm for p goroutines, so the data-parallel
// logic is tested without MPI (the mpirun test is in cmd/trafficgpt).
type memHub struct {
	p       int
	mu      sync.Mutex
	cond    *sync.Cond
	gen     int
	arrived int
	vals    []any
	out     []any
}

func newMemHub(p int) *memHub {
	h := &memHub{p: p, vals: make([]any, p)}
	h.cond = sync.NewCond(&h.mu)
	return h
}

// exchange returns every rank's v once all ranks have called it.
func (h *memHub) exchange(rank int, v any) []any {
	h.mu.Lock()
	defer h.mu.Unlock()
	gen := h.gen
	h.vals[rank] = v
	h.arrived++
	if h.arrived == h.p {
		h.out = append([]any(nil), h.vals...)
		h.arrived = 0
		h.gen++
		h.cond.Broadcast()
	} else {
		for gen == h.gen {
			h.cond.Wait()
		}
	}
	return h.out
}

type memComm struct {
	h    *memHub
	rank int
}

func (c memComm) Rank() int { return c.rank }
func (c memComm) Size() int { return c.h.p }
func (c memComm) AllReduceSum(x []float32) error {
	all := c.h.exchange(c.rank, append([]float32(nil), x...))
	clear(x)
	for _, v := range all { // rank order: the same sum on every rank
		for i, f := range v.([]float32) {
			x[i] += f
		}
	}
	c.h.exchange(c.rank, nil) // nobody reuses x before all have summed
	return nil
}
func (c memComm) AllReduceSum64(x []float64) error {
	all := c.h.exchange(c.rank, append([]float64(nil), x...))
	clear(x)
	for _, v := range all {
		for i, f := range v.([]float64) {
			x[i] += f
		}
	}
	c.h.exchange(c.rank, nil)
	return nil
}
func (c memComm) Broadcast(b []byte, root int) error {
	all := c.h.exchange(c.rank, append([]byte(nil), b...))
	copy(b, all[root].([]byte))
	c.h.exchange(c.rank, nil)
	return nil
}
func (c memComm) Barrier() error { c.h.exchange(c.rank, nil); return nil }
func (c memComm) Close() error   { return nil }
func (c memComm) Abort(code int) { panic(fmt.Sprintf("abort %d", code)) }

// maskLoader yields pseudo-random tokens with a varying share of ignored
// targets per row, so micro-batches and ranks have unequal target counts.
type maskLoader struct{ n int }

func (l *maskLoader) Next(tok, tgt []int32, kinds []uint8) error {
	for i := range tok {
		h := splitmix(uint64(l.n)*1000003 + uint64(i))
		tok[i], tgt[i] = int32(h%300), int32((h>>20)%300)
		if (h>>40)%7 < uint64(l.n+i/16)%5 {
			tgt[i] = -1
		}
		if kinds != nil {
			kinds[i] = codec.KindPayload
		}
	}
	l.n++
	return nil
}
func (l *maskLoader) State() ([]byte, error) { return []byte(itoa(l.n)), nil }
func (l *maskLoader) Restore(b []byte) error {
	l.n = 0
	for _, c := range b {
		l.n = 10*l.n + int(c-'0')
	}
	return nil
}

func TestRankRows(t *testing.T) {
	for _, tc := range []struct{ B, A, p int }{{4, 1, 2}, {2, 3, 2}, {3, 1, 2}, {1, 1, 3}, {2, 4, 4}, {5, 3, 4}} {
		seen := make([]int, tc.A*tc.B)
		for rank := 0; rank < tc.p; rank++ {
			r := &runner{o: Options{Batch: tc.B, Accum: tc.A}, job: Job{Comm: memComm{newMemHub(tc.p), rank}}}
			for a := 0; a < tc.A; a++ {
				lo, hi := r.rows(a)
				if lo < 0 || hi > tc.B || lo > hi {
					t.Fatalf("%+v rank %d micro-batch %d: rows [%d, %d)", tc, rank, a, lo, hi)
				}
				for b := lo; b < hi; b++ {
					seen[a*tc.B+b]++
				}
			}
		}
		for i, n := range seen {
			if n != 1 {
				t.Errorf("%+v: row %d computed by %d ranks", tc, i, n)
			}
		}
	}
}

// TestDataParallelMatchesOneProcess runs p ranks as goroutines over memComm
// and compares the loss curve and final weights with one process.
func TestDataParallelMatchesOneProcess(t *testing.T) {
	for _, tc := range []struct {
		name    string
		B, A, p int
		dropout float64
	}{
		{"rows split", 3, 1, 2, 0},
		{"across micro-batches", 2, 3, 2, 0},
		{"whole micro-batches with dropout", 2, 4, 2, 0.2},
		{"more ranks than rows", 1, 2, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tinyOptions(4)
			o.Batch, o.Accum, o.Context, o.Dropout, o.EvalEvery, o.EvalBatches, o.SaveEvery = tc.B, tc.A, 16, tc.dropout, 0, 0, 0
			one := t.TempDir()
			if _, err := Run(context.Background(), Job{Dir: one, Options: o, Data: Data{Train: &maskLoader{}}}); err != nil {
				t.Fatal(err)
			}
			par := t.TempDir()
			hub := newMemHub(tc.p)
			errs := make([]error, tc.p)
			var wg sync.WaitGroup
			for rank := 0; rank < tc.p; rank++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[rank] = Run(context.Background(), Job{Dir: par, Options: o, Data: Data{Train: &maskLoader{}},
						Comm: memComm{hub, rank}, CheckEvery: 1})
				}()
			}
			wg.Wait()
			for r, err := range errs {
				if err != nil {
					t.Fatalf("rank %d: %v", r, err)
				}
			}
			a, _ := ReadLog(one)
			b, _ := ReadLog(par)
			if len(a) != o.Steps || len(b) != o.Steps {
				t.Fatalf("log lines: one process %d, data-parallel %d, want %d", len(a), len(b), o.Steps)
			}
			for i := range a {
				if math.Abs(a[i].Loss-b[i].Loss) > 1e-5*a[i].Loss || math.Abs(a[i].GradNorm-b[i].GradNorm) > 1e-4*a[i].GradNorm {
					t.Errorf("step %d: one process loss %.7f norm %.6f, data-parallel %.7f %.6f",
						a[i].Step, a[i].Loss, a[i].GradNorm, b[i].Loss, b[i].GradNorm)
				}
			}
			wa, _, err := model.Load(filepath.Join(one, ModelFile))
			if err != nil {
				t.Fatal(err)
			}
			wb, _, err := model.Load(filepath.Join(par, ModelFile))
			if err != nil {
				t.Fatal(err)
			}
			var d float64
			for i, x := range wa.Params() {
				d = max(d, math.Abs(float64(x-wb.Params()[i])))
			}
			if d > 1e-4 {
				t.Errorf("final weights differ by up to %g", d)
			}
		})
	}
}

var _ dist.Comm = memComm{}

// chanComm is one rank of an in-process job whose Broadcast goes through
// channels (root sends to every other rank).
type chanComm struct {
	rank int
	ch   []chan []byte // one per rank
}

func (c chanComm) Rank() int                      { return c.rank }
func (c chanComm) Size() int                      { return len(c.ch) }
func (c chanComm) AllReduceSum([]float32) error   { return nil }
func (c chanComm) AllReduceSum64([]float64) error { return nil }
func (c chanComm) Barrier() error                 { return nil }
func (c chanComm) Close() error                   { return nil }
func (c chanComm) Abort(int)                      {}
func (c chanComm) Broadcast(b []byte, root int) error {
	if c.rank == root {
		for r := range c.ch {
			if r != root {
				c.ch[r] <- append([]byte(nil), b...)
			}
		}
		return nil
	}
	copy(b, <-c.ch[c.rank])
	return nil
}

// TestSyncOptions: every rank ends with rank 0's options.
func TestSyncOptions(t *testing.T) {
	chs := []chan []byte{make(chan []byte, 4), make(chan []byte, 4)}
	root, other := DefaultOptions(), DefaultOptions()
	root.Steps, root.Context, other.Steps = 77, 333, 5
	done := make(chan error)
	go func() { done <- SyncOptions(chanComm{1, chs}, &other) }()
	if err := SyncOptions(chanComm{0, chs}, &root); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if other.Steps != 77 || other.Context != 333 {
		t.Errorf("rank 1 has steps %d, context %d", other.Steps, other.Context)
	}
	if err := SyncOptions(nil, &other); err != nil {
		t.Error(err)
	}
}
