package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/dist"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/optim"
)

// This file holds what a pre-training run is: its Options and their checks,
// the model directory's files, and Run, the library's entry point (the step
// loop is in loop.go, checkpoints and the log in state.go, data in data.go).

// Errors of Run; each is wrapped with the details.
var (
	ErrOptions    = errors.New("train: bad options")
	ErrMemory     = errors.New("train: not enough memory")
	ErrResume     = errors.New("train: cannot resume")
	ErrExists     = errors.New("train: model directory already holds a run")
	ErrDiverged   = errors.New("train: training diverged")
	errNoProgress = errors.New("train: no targets in a step")
)

// Files of the model directory.
const (
	ModelFile  = "model.safetensors"
	StateFile  = "trainer.state"
	ConfigFile = "config.json"
	LogFile    = "train.jsonl"
	PlotFile   = "loss.png"
)

// Options configure a run. They are stored in the checkpoint.
type Options struct {
	Config      model.Config  `json:"config"`
	Context     int           `json:"context"` // T
	Batch       int           `json:"batch"`   // B, sequences per micro-batch
	Accum       int           `json:"accum"`   // micro-batches per optimizer step
	Steps       int           `json:"steps"`
	LR          float64       `json:"lr"` // peak learning rate
	MinLR       float64       `json:"min_lr"`
	Warmup      int           `json:"warmup"`
	Clip        float64       `json:"clip"` // global gradient norm; 0 = none
	WeightDecay float64       `json:"weight_decay"`
	Dropout     float64       `json:"dropout"` // < 0 keeps Config.Dropout
	EvalEvery   int           `json:"eval_every"`
	EvalBatches int           `json:"eval_batches"`
	SaveEvery   int           `json:"save_every"`
	Seed        uint64        `json:"seed"`
	Threads     int           `json:"threads"`             // recorded; the application sets threads process-wide (model.SetThreads), train.Run does not
	TimeLimit   time.Duration `json:"time_limit"`          // of this invocation; 0 = none
	MemLimit    int64         `json:"mem_limit,omitempty"` // bytes; 0 = 80% of MemTotal
}

// DefaultOptions are settings that work for the small preset on the dev
// corpus (about 8k tokens per step).
func DefaultOptions() Options {
	c, _ := model.Preset("small")
	return Options{Config: c, Context: 1024, Batch: 8, Accum: 1, Steps: 2000, LR: 1e-3, MinLR: 1e-4,
		Warmup: 100, Clip: 1, WeightDecay: 0.1, Dropout: -1, EvalEvery: 100, EvalBatches: 8,
		SaveEvery: 200, Seed: 1}
}

// ModelConfig is Config with the dropout override applied.
func (o Options) ModelConfig() model.Config {
	c := o.Config
	if o.Dropout >= 0 {
		c.Dropout = float32(o.Dropout)
	}
	return c
}

// Validate reports the first bad option.
func (o Options) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrOptions}, a...)...)
	}
	switch {
	case o.Context < 1:
		return bad("context %d < 1", o.Context)
	case o.Batch < 1:
		return bad("batch %d < 1", o.Batch)
	case o.Accum < 1:
		return bad("accum %d < 1", o.Accum)
	case o.Steps < 1:
		return bad("steps %d < 1", o.Steps)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return bad("lr %g must be positive", o.LR)
	case o.MinLR < 0 || o.MinLR > o.LR:
		return bad("min lr %g outside [0, lr %g]", o.MinLR, o.LR)
	case o.Warmup < 0:
		return bad("warmup %d < 0", o.Warmup)
	case o.Clip < 0:
		return bad("clip %g < 0", o.Clip)
	case o.WeightDecay < 0 || o.WeightDecay*o.LR >= 1:
		return bad("weight decay %g outside [0, 1/lr)", o.WeightDecay)
	case o.Dropout >= 1:
		return bad("dropout %g >= 1", o.Dropout)
	case o.EvalEvery < 0 || o.EvalBatches < 0 || o.SaveEvery < 0:
		return bad("eval every %d, eval batches %d, save every %d: negative", o.EvalEvery, o.EvalBatches, o.SaveEvery)
	case o.Threads < 0:
		return bad("threads %d < 0", o.Threads)
	}
	if err := o.ModelConfig().Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrOptions, err)
	}
	return nil
}

// Loader yields language-model batches: Next fills tokens and targets (each
// Batch*Context; targets < 0 are ignored) and, when kinds is not nil, the
// codec.Kind of every target. State/Restore save and restore the position in
// the data order exactly.
type Loader interface {
	Next(tokens, targets []int32, kinds []uint8) error
	State() ([]byte, error)
	Restore(state []byte) error
}

// Data is where a run's batches come from.
type Data struct {
	Train Loader
	Valid Loader // nil: no evaluation
	// Path and Hash identify the dataset (directory, manifest sha256); they
	// are recorded in the checkpoint and checked on resume.
	Path, Hash string
}

// Job is one call of Run.
type Job struct {
	Dir     string // model directory (created if missing)
	Options Options
	Data    Data
	Resume  bool // continue from Dir's checkpoint
	// OnStep, if not nil, is called after every step (and evaluation).
	OnStep func(Status)
	// Warn, if not nil, receives non-fatal notes.
	Warn func(string)
	// Comm, if not nil, makes the run data-parallel over its ranks (see
	// dist.go): rank 0 alone reads and writes the model directory and
	// evaluates; every rank must call Run with the same Options and dataset.
	// Nil is one process.
	Comm dist.Comm
	// CheckEvery > 0 compares the weights of all ranks with rank 0's every
	// CheckEvery steps (a debug check: they are equal by construction).
	CheckEvery int
}

// Status is what OnStep sees.
type Status struct {
	Step, Steps  int
	Loss, LR     float64
	GradNorm     float64
	Tokens       int64   // input positions trained on so far
	TokensPerSec float64 // this step
	Elapsed      time.Duration
	Valid        *Metrics // set right after an evaluation
}

// Result summarises a run (of this invocation when resumed).
type Result struct {
	Step, StartStep int
	Tokens          int64
	TrainLoss       float64  // of the last step
	Valid           *Metrics // last evaluation
	TrainSeconds    float64  // forward/backward/update time of this invocation
	CommSeconds     float64  // of which in gradient all-reduces (data-parallel runs)
	TokensPerSec    float64  // over this invocation's steps
	FLOPsPerToken   float64  // training flops per token (matmuls and attention)
	Stopped         string   // "", "time limit" or "canceled"
	PeakMemEstimate int64    // bytes
}

// Run trains (or resumes) the run described by job.
func Run(ctx context.Context, job Job) (*Result, error) {
	o := job.Options
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if job.Data.Train == nil {
		return nil, fmt.Errorf("%w: no training data", ErrOptions)
	}
	cfg := o.ModelConfig()
	warn := job.Warn
	if warn == nil {
		warn = func(string) {}
	}

	// Checks before any work.
	need, err := checkMemory(cfg, o)
	if err != nil {
		return nil, err
	}
	var st *State
	root := job.Comm == nil || job.Comm.Rank() == 0
	if !root {
		// Rank 0 checks the model directory and sends its state.
	} else if job.Resume {
		if st, err = ReadState(job.Dir); err != nil {
			return nil, err
		}
		if err := st.compatible(o, job.Data); err != nil {
			return nil, err
		}
	} else if err := checkFresh(job.Dir); err != nil {
		return nil, err
	}

	m, err := model.New(cfg, o.Seed)
	if err != nil {
		return nil, err
	}
	var segs []optim.Segment
	for _, p := range m.ParamInfos() {
		segs = append(segs, optim.Segment{Offset: p.Offset, Size: p.Size, Decay: p.Decay})
	}
	h := optim.DefaultHyper()
	h.WeightDecay = o.WeightDecay
	opt, err := optim.NewAdamW(m.ParamCount(), segs, h)
	if err != nil {
		return nil, err
	}
	r := &runner{job: job, o: o, m: m, opt: opt, warn: warn,
		sched: optim.Schedule{Peak: o.LR, Min: o.MinLR, Warmup: o.Warmup, Total: o.Steps}}
	if !root {
		if err := r.follower(); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(job.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	} else if st != nil {
		if err := r.restore(st); err != nil {
			return nil, err
		}
	} else if err := r.fresh(); err != nil {
		return nil, err
	}
	if err := r.syncStart(); err != nil {
		return nil, err
	}
	res, err := r.loop(ctx)
	if res != nil {
		res.PeakMemEstimate = need
	}
	return res, err
}

// checkMemory refuses shapes whose activations and optimizer state do not
// fit the limit; it returns the estimate.
func checkMemory(cfg model.Config, o Options) (int64, error) {
	need, err := EstimateMemory(cfg, o.Batch, o.Context)
	if err != nil {
		return 0, err
	}
	limit := o.MemLimit
	what := "the limit"
	if limit <= 0 {
		total, err := MemTotal()
		if err != nil {
			return need, nil // no /proc/meminfo: nothing to compare with
		}
		limit = total / 10 * 8
		what = "80% of RAM"
	}
	if need > limit {
		return need, fmt.Errorf("%w: batch %d x context %d needs about %s (activations and optimizer state), above %s (%s): lower --ctx or --batch",
			ErrMemory, o.Batch, o.Context, gib(need), what, gib(limit))
	}
	return need, nil
}

// EstimateMemory is the activation slab for (B, T) plus weights, gradients
// and both AdamW moments (16 bytes per parameter).
func EstimateMemory(cfg model.Config, B, T int) (int64, error) {
	// A one-layer, no-vocab probe would under-count; build the real layout
	// (parameters only: activations are sized, not allocated).
	m, err := model.New(cfg, 0)
	if err != nil {
		return 0, err
	}
	return m.ActivationBytes(B, T) + 16*int64(m.ParamCount()), nil
}

func gib(b int64) string { return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30)) }

// MemTotal reads MemTotal from /proc/meminfo in bytes.
func MemTotal() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	var kb int64
	for _, line := range splitLines(string(b)) {
		if n, _ := fmt.Sscanf(line, "MemTotal: %d kB", &kb); n == 1 {
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("train: no MemTotal in /proc/meminfo")
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// checkFresh refuses to start a new run over an existing one.
func checkFresh(dir string) error {
	for _, f := range []string{ModelFile, StateFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("%w: %s exists (use --resume to continue it, or another output directory)", ErrExists, filepath.Join(dir, f))
		}
	}
	return nil
}

// FLOPsPerToken is the training flop count per token at context T (forward
// and backward; matmuls, attention products; element-wise work not counted).
func FLOPsPerToken(c model.Config, T int) float64 {
	C, inner, D := float64(c.Width), float64(c.Inner()), float64(c.HeadDim)
	mm := 6 * (C*3*inner + inner*C + 2*C*float64(c.FFN))
	soft, lin := c.LocalHeads, c.GlobalHeads
	var keys float64
	if c.Attention == model.AttentionQuadratic {
		soft, lin = c.Heads(), 0
		keys = float64(T+1) / 2
	} else if t, W := float64(T), float64(c.Window); t <= W {
		keys = (t + 1) / 2
	} else {
		keys = (W*(W+1)/2+(t-W)*W)/t + 1
	}
	chunk := float64(min(c.Chunk, T))
	f := float64(soft)*3*4*D*keys + float64(lin)*3*(4*D*D+4*D*(chunk+1)/2)
	return float64(c.Layers)*(mm+f) + 6*C*float64(c.Vocab)
}

// dropSeed is micro-batch a of step s's dropout seed.
func dropSeed(seed uint64, step, micro int) uint64 {
	return splitmix(splitmix(seed^0x5851f42d4c957f2d) + uint64(step)*0x9e3779b97f4a7c15 + uint64(micro))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
