package train

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/optim"
	"github.com/trafficgpt/trafficgpt/internal/plot"
)

// Metadata keys the trainer adds to model.safetensors.
const (
	MetaStep         = "step"
	MetaTokens       = "tokens"
	MetaSeed         = "seed"
	MetaDatasetHash  = "dataset_hash"
	MetaDatasetPath  = "dataset_path"
	MetaTrainOptions = "train_options"
)

// Metrics are one evaluation's results.
type Metrics struct {
	Tokens       int64   `json:"tokens"` // targets scored
	Loss         float64 `json:"loss"`   // nats per target
	Perplexity   float64 `json:"perplexity"`
	BitsPerToken float64 `json:"bits_per_token"`
	// BitsPerByte is over header and payload targets only.
	BitsPerByte float64 `json:"bits_per_byte_token"`
	// KindLoss is the mean loss per target kind (codec.KindName), for the
	// kinds present.
	KindLoss   map[string]float64 `json:"kind_loss"`
	KindTokens map[string]int64   `json:"kind_tokens"`
}

type runner struct {
	job   Job
	o     Options
	m     *model.Model
	opt   *optim.AdamW
	sched optim.Schedule
	warn  func(string)

	step      int
	tokens    int64
	elapsed   float64 // seconds before this invocation
	trainSecs float64 // forward/backward/update seconds before this invocation
	lastLoss  float64
	loader    []byte // train loader state after the last completed step
	validInit []byte // valid loader state to rewind to

	log             *os.File
	trainX, trainY  []float64
	validX, validY  []float64
	lastEval, saved int
	lastValid       *Metrics
	invStart        time.Time
	invTrainSecs    float64
	commSecs        float64 // this invocation's all-reduce seconds
	invTokens       int64
}

func (r *runner) path(f string) string { return filepath.Join(r.job.Dir, f) }

// fresh prepares a new run's directory.
func (r *runner) fresh() error {
	cfg, _ := json.MarshalIndent(r.m.Config, "", "  ")
	if err := atomicfile.WriteFile(r.path(ConfigFile), append(cfg, '\n')); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	f, err := os.OpenFile(r.path(LogFile), os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	r.log = f
	if r.loader, err = r.job.Data.Train.State(); err != nil {
		return err
	}
	r.lastEval, r.saved = -1, -1
	return r.initValid()
}

func (r *runner) initValid() error {
	if r.job.Data.Valid == nil {
		return nil
	}
	var err error
	r.validInit, err = r.job.Data.Valid.State()
	return err
}

// restore loads dir's checkpoint into the runner.
func (r *runner) restore(st *State) error {
	for _, n := range st.notes(r.o) {
		r.warn(n)
	}
	if st.model != nil {
		// Version 2: the state holds the checkpoint's model; model.safetensors
		// is its copy for other commands, rewritten if a kill left it behind.
		meta, err := r.m.ReadWeights(bytes.NewReader(st.model), StateFile)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrResume, err)
		}
		if s, err := metaInt(meta, MetaStep); err != nil || s != st.Step {
			return fmt.Errorf("%w: %s holds a model of step %q, its state says %d", ErrResume, StateFile, meta[MetaStep], st.Step)
		}
		if cur, err := os.ReadFile(r.path(ModelFile)); err != nil || !bytes.Equal(cur, st.model) {
			r.warn(fmt.Sprintf("%s did not match the checkpoint of step %d in %s (interrupted while saving?): rewritten from it", ModelFile, st.Step, StateFile))
			if err := atomicfile.WriteFile(r.path(ModelFile), st.model); err != nil {
				return fmt.Errorf("train: %w", err)
			}
		}
	} else {
		meta, err := r.m.LoadWeights(r.path(ModelFile))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrResume, err)
		}
		if s, err := metaInt(meta, MetaStep); err != nil || s != st.Step {
			return fmt.Errorf("%w: %s is at step %q but %s at step %d (interrupted while saving?)",
				ErrResume, ModelFile, meta[MetaStep], StateFile, st.Step)
		}
	}
	if err := r.opt.UnmarshalBinary(st.opt); err != nil {
		return fmt.Errorf("%w: %w", ErrResume, err)
	}
	if r.opt.Steps() != st.OptSteps {
		return fmt.Errorf("%w: optimizer at update %d, state says %d", ErrResume, r.opt.Steps(), st.OptSteps)
	}
	// The weight decay of this invocation applies from here on.
	r.opt.Hyper.WeightDecay = r.o.WeightDecay
	if err := r.job.Data.Train.Restore(st.Loader); err != nil {
		return fmt.Errorf("%w: loader state: %w", ErrResume, err)
	}
	r.loader = append([]byte(nil), st.Loader...)
	r.step, r.tokens, r.elapsed, r.trainSecs, r.lastLoss = st.Step, st.Tokens, st.Elapsed, st.TrainSecs, st.LastLoss
	r.saved, r.lastEval = st.Step, -1
	lines, err := rewriteLog(r.job.Dir, st.Step)
	if err != nil {
		return fmt.Errorf("train: log: %w", err)
	}
	for _, l := range lines {
		switch l.Kind {
		case "train":
			r.trainX, r.trainY = append(r.trainX, float64(l.Step)), append(r.trainY, l.Loss)
		case "valid":
			if l.Valid != nil {
				r.validX, r.validY = append(r.validX, float64(l.Step)), append(r.validY, l.Valid.Loss)
				r.lastValid, r.lastEval = l.Valid, l.Step
			}
		}
	}
	f, err := os.OpenFile(r.path(LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	r.log = f
	return r.initValid()
}

func (r *runner) now() float64 { return r.elapsed + time.Since(r.invStart).Seconds() }

func (r *runner) writeLog(l LogLine) error {
	if r.log == nil { // not rank 0
		return nil
	}
	_, err := r.log.WriteString(mustJSON(l) + "\n")
	return err
}

func (r *runner) result(stopped string) *Result {
	res := &Result{Step: r.step, Tokens: r.tokens, TrainLoss: r.lastLoss, Valid: r.lastValid,
		TrainSeconds: r.invTrainSecs, CommSeconds: r.commSecs, Stopped: stopped, FLOPsPerToken: FLOPsPerToken(r.m.Config, r.o.Context)}
	if r.invTrainSecs > 0 {
		res.TokensPerSec = float64(r.invTokens) / r.invTrainSecs
	}
	return res
}

func (r *runner) loop(ctx context.Context) (res *Result, err error) {
	defer r.log.Close()
	o := r.o
	B, T := o.Batch, o.Context
	N := B * T
	bufI := make([]int32, 2*N) // tokens | targets
	tok, tgt := bufI[:N:N], bufI[N:]
	kinds := make([]uint8, N)
	r.m.Allocate(B, T)
	r.invStart = time.Now()
	start := r.step
	stop := func(why string, err error) (*Result, error) {
		if r.saved != r.step {
			if serr := r.save(); serr != nil {
				return r.result(why), fmt.Errorf("%w (and saving failed: %v)", err, serr)
			}
		}
		res := r.result(why)
		res.StartStep = start
		return res, err
	}
	if r.step == 0 && r.lastEval < 0 {
		if err := r.evaluate(tok, tgt, kinds); err != nil {
			return nil, err
		}
	}
	for r.step < o.Steps {
		if why, err := r.stopCheck(ctx); why != "" {
			return stop(why, err)
		}
		t0 := time.Now()
		loss, norm, err := r.trainStep(r.stepCtx(ctx), tok, tgt)
		if err != nil {
			if ctx.Err() != nil {
				// Cancelled between micro-batches: the partial step is
				// dropped; the loader state of the last full step is saved.
				return stop("canceled", ctx.Err())
			}
			return r.result(""), err
		}
		dt := time.Since(t0).Seconds()
		r.invTrainSecs += dt
		r.invTokens += int64(N * o.Accum)
		r.tokens += int64(N * o.Accum)
		r.step++
		r.lastLoss = loss
		lr := r.sched.LR(r.step - 1)
		r.trainX, r.trainY = append(r.trainX, float64(r.step)), append(r.trainY, loss)
		line := LogLine{Kind: "train", Step: r.step, Loss: loss, LR: lr, GradNorm: norm, Tokens: r.tokens,
			TokensPerSec: float64(N*o.Accum) / dt, Elapsed: r.now()}
		if err := r.writeLog(line); err != nil {
			return r.result(""), fmt.Errorf("train: log: %w", err)
		}
		if r.job.OnStep != nil {
			r.job.OnStep(Status{Step: r.step, Steps: o.Steps, Loss: loss, LR: lr, GradNorm: norm, Tokens: r.tokens,
				TokensPerSec: line.TokensPerSec, Elapsed: time.Duration(line.Elapsed * float64(time.Second))})
		}
		last := r.step == o.Steps
		if (o.EvalEvery > 0 && r.step%o.EvalEvery == 0) || last {
			if err := r.evaluate(tok, tgt, kinds); err != nil {
				return r.result(""), err
			}
		}
		if (o.SaveEvery > 0 && r.step%o.SaveEvery == 0) || last {
			if err := r.save(); err != nil {
				return r.result(""), err
			}
		}
	}
	if r.saved != r.step { // resumed at the final step
		if err := r.save(); err != nil {
			return r.result(""), err
		}
	}
	res = r.result("")
	res.StartStep = start
	return res, nil
}

// trainStep runs one optimizer step and returns the step's mean loss over
// its targets and the gradient norm before clipping.
func (r *runner) trainStep(ctx context.Context, tok, tgt []int32) (float64, float64, error) {
	o, m := r.o, r.m
	m.Train = true
	m.ZeroGrad()
	grads := m.Grads()
	var lossSum float64
	var total, all, prev int // targets of this rank's rows, of all rows, of the last micro-batch
	for a := 0; a < o.Accum; a++ {
		if a > 0 {
			if err := ctx.Err(); err != nil {
				return 0, 0, err
			}
		}
		if err := r.job.Data.Train.Next(tok, tgt, nil); err != nil {
			return 0, 0, fmt.Errorf("train: step %d: batch: %w", r.step+1, err)
		}
		// This rank's rows of the micro-batch ([0, Batch) in one process).
		lo, hi := r.rows(a)
		all += countTargets(tgt)
		tokR, tgtR := tok[lo*o.Context:hi*o.Context:hi*o.Context], tgt[lo*o.Context:hi*o.Context:hi*o.Context]
		n := countTargets(tgtR)
		if n == 0 {
			continue
		}
		m.Seed = dropSeed(o.Seed, r.step, a)
		loss, err := m.Forward(tokR, tgtR, hi-lo, o.Context)
		if err != nil {
			return 0, 0, fmt.Errorf("train: step %d: %w", r.step+1, err)
		}
		// Keep grads = sum_k (n_k/n) g_k for the current micro-batch's n, so
		// the final rescale by n/total gives the mean over all targets.
		if prev > 0 && prev != n {
			scale(grads, float32(float64(prev)/float64(n)))
		}
		if err := m.Backward(); err != nil {
			return 0, 0, err
		}
		prev = n
		lossSum += float64(loss) * float64(n)
		total += n
	}
	if all == 0 {
		return 0, 0, fmt.Errorf("%w: step %d", errNoProgress, r.step+1)
	}
	if total > 0 && prev != all {
		scale(grads, float32(float64(prev)/float64(all)))
	}
	if err := r.allReduce(grads, &lossSum); err != nil {
		return 0, 0, err
	}
	loss := lossSum / float64(all)
	norm := optim.ClipGlobalNorm(grads, o.Clip)
	if math.IsNaN(norm) || math.IsInf(norm, 0) || math.IsNaN(loss) || math.IsInf(loss, 0) {
		return 0, 0, fmt.Errorf("%w at step %d: loss %g, gradient norm %g (lower --lr; the last checkpoint is at step %d)",
			ErrDiverged, r.step+1, loss, norm, r.saved)
	}
	r.opt.Update(m.Params(), grads, r.sched.LR(r.step))
	st, err := r.job.Data.Train.State()
	if err != nil {
		return 0, 0, err
	}
	r.loader = st
	return loss, norm, nil
}

func scale(x []float32, f float32) {
	for i := range x {
		x[i] *= f
	}
}

// evaluate scores EvalBatches valid batches, logs and plots.
func (r *runner) evaluate(tok, tgt []int32, kinds []uint8) error {
	v := r.job.Data.Valid
	if v == nil || r.o.EvalBatches == 0 || !r.root() {
		return nil
	}
	met, err := Evaluate(r.m, v, r.validInit, r.o.EvalBatches, r.o.Batch, r.o.Context, tok, tgt, kinds)
	if err != nil {
		return fmt.Errorf("train: evaluation at step %d: %w", r.step, err)
	}
	r.lastValid, r.lastEval = met, r.step
	r.validX, r.validY = append(r.validX, float64(r.step)), append(r.validY, met.Loss)
	if err := r.writeLog(LogLine{Kind: "valid", Step: r.step, Elapsed: r.now(), Valid: met}); err != nil {
		return fmt.Errorf("train: log: %w", err)
	}
	if r.job.OnStep != nil {
		r.job.OnStep(Status{Step: r.step, Steps: r.o.Steps, Loss: r.lastLoss, Tokens: r.tokens,
			Elapsed: time.Duration(r.now() * float64(time.Second)), Valid: met})
	}
	return r.plot()
}

// Evaluate rewinds ld to init (if not nil) and scores batches batches of
// (B, T) with dropout off. tok, tgt and kinds are scratch of B*T (nil:
// allocated).
func Evaluate(m *model.Model, ld Loader, init []byte, batches, B, T int, tok, tgt []int32, kinds []uint8) (*Metrics, error) {
	if tok == nil {
		tok, tgt, kinds = make([]int32, B*T), make([]int32, B*T), make([]uint8, B*T)
	}
	if init != nil {
		if err := ld.Restore(init); err != nil {
			return nil, err
		}
	}
	train := m.Train
	m.Train = false
	defer func() { m.Train = train }()
	var sum [codec.NumKinds]float64
	var cnt [codec.NumKinds]int64
	for i := 0; i < batches; i++ {
		if err := ld.Next(tok, tgt, kinds); err != nil {
			return nil, err
		}
		if _, err := m.Forward(tok, tgt, B, T); err != nil {
			return nil, err
		}
		for n, l := range m.Losses()[:B*T] {
			if tgt[n] < 0 {
				continue
			}
			k := kinds[n]
			if k >= codec.NumKinds {
				k = codec.KindPayload
			}
			sum[k] += float64(l)
			cnt[k]++
		}
	}
	met := &Metrics{KindLoss: map[string]float64{}, KindTokens: map[string]int64{}}
	var all float64
	for k := range sum {
		if cnt[k] == 0 {
			continue
		}
		met.KindLoss[codec.KindName(codec.Kind(k))] = sum[k] / float64(cnt[k])
		met.KindTokens[codec.KindName(codec.Kind(k))] = cnt[k]
		all += sum[k]
		met.Tokens += cnt[k]
	}
	if met.Tokens == 0 {
		return nil, fmt.Errorf("no targets in %d batches", batches)
	}
	met.Loss = all / float64(met.Tokens)
	met.Perplexity = math.Exp(met.Loss)
	met.BitsPerToken = met.Loss / math.Ln2
	if nb := cnt[codec.KindHeader] + cnt[codec.KindPayload]; nb > 0 {
		met.BitsPerByte = (sum[codec.KindHeader] + sum[codec.KindPayload]) / float64(nb) / math.Ln2
	}
	return met, nil
}

// save writes the model, then the trainer state, then the plot.
func (r *runner) save() error {
	o := r.o
	if !r.root() {
		r.saved = r.step
		return nil
	}
	meta := map[string]string{
		MetaStep:         strconv.Itoa(r.step),
		MetaTokens:       strconv.FormatInt(r.tokens, 10),
		MetaSeed:         strconv.FormatUint(o.Seed, 10),
		MetaDatasetHash:  r.job.Data.Hash,
		MetaDatasetPath:  r.job.Data.Path,
		MetaTrainOptions: mustJSON(o),
	}
	// One atomic unit: the state file holds the model, the optimizer and
	// the loader; its rename is the commit point. model.safetensors, the
	// same bytes, follows for the commands that read a model.
	var mb bytes.Buffer
	if err := r.m.WriteTo(&mb, meta); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	optState, err := r.opt.MarshalBinary()
	if err != nil {
		return err
	}
	st := &State{Step: r.step, Tokens: r.tokens, Elapsed: r.now(), TrainSecs: r.trainSecs + r.invTrainSecs,
		LastLoss: r.lastLoss, Options: o, Config: r.m.Config, DatasetPath: r.job.Data.Path,
		DatasetHash: r.job.Data.Hash, Loader: r.loader, OptSteps: r.opt.Steps(), opt: optState, model: mb.Bytes()}
	b, err := st.encode()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(r.path(StateFile), b); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := atomicfile.WriteFile(r.path(ModelFile), mb.Bytes()); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	r.saved = r.step
	return r.plot()
}

func (r *runner) plot() error {
	var s []plot.Series
	if len(r.trainX) > 0 {
		s = append(s, plot.Series{Name: "train", X: r.trainX, Y: r.trainY})
		// Step losses are noisy at small batches: also draw their moving
		// average over about 20 steps (bias-corrected EMA).
		ema := make([]float64, len(r.trainY))
		var e, w float64
		for i, y := range r.trainY {
			e, w = 0.95*e+0.05*y, 0.95*w+0.05
			ema[i] = e / w
		}
		s = append(s, plot.Series{Name: "train (EMA 0.95)", X: r.trainX, Y: ema})
	}
	if len(r.validX) > 0 {
		s = append(s, plot.Series{Name: "valid", X: r.validX, Y: r.validY})
	}
	if len(s) == 0 {
		return nil
	}
	if err := plot.Lines(r.path(PlotFile), "pre-training loss", "step", "loss (nats/token)", s, false); err != nil {
		r.warn(fmt.Sprintf("loss plot: %v", err))
	}
	return nil
}

// String is the metrics on one line: loss, perplexity, bits and the
// losses per kind in codec order.
func (m *Metrics) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "loss %.4f ppl %.2f %.3f bits/token %.3f bits/byte-token; by kind:", m.Loss, m.Perplexity, m.BitsPerToken, m.BitsPerByte)
	for k := range codec.NumKinds {
		if l, ok := m.KindLoss[codec.KindName(k)]; ok {
			fmt.Fprintf(&b, " %s %.3f", codec.KindName(k), l)
		}
	}
	return b.String()
}
