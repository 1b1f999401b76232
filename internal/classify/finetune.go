package classify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/metric"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/optim"
	"github.com/trafficgpt/trafficgpt/internal/plot"
)

// ErrOptions and ErrExists are wrapped by Finetune's checks.
var (
	ErrOptions = errors.New("classify: bad options")
	ErrExists  = errors.New("classify: output directory already holds a classifier")
)

// Options configure Finetune. They are stored in the checkpoint.
type Options struct {
	Context       int          `json:"context"` // T: first T-1 tokens + <cls>
	Epochs        int          `json:"epochs"`
	Batch         int          `json:"batch"`
	LR            float64      `json:"lr"` // peak; 0: DefaultLR(mode)
	WeightDecay   float64      `json:"weight_decay"`
	Clip          float64      `json:"clip"`
	Patience      int          `json:"patience"` // epochs without a better valid macro-F1 before stopping; 0: never
	Freeze        bool         `json:"freeze"`
	Pool          string       `json:"pool,omitempty"` // what the head reads: model.PoolMean or model.PoolLast; "": DefaultPool(mode)
	FromScratch   bool         `json:"from_scratch"`
	Config        model.Config `json:"config"` // the architecture of FromScratch
	Unweighted    bool         `json:"unweighted"`
	ProbeEpochs   int          `json:"probe_epochs"`   // Freeze and ProbeFirst: passes over the cached features
	ProbePatience int          `json:"probe_patience"` // Freeze and ProbeFirst: early stopping
	// ProbeFirst (full fine-tuning only) fits the head as a linear probe on
	// the frozen trunk first (LP-FT), scores it on valid as epoch 0, then
	// fine-tunes everything from there: the head starts informed instead of
	// random, so early updates do not distort the pre-trained features, and
	// early stopping keeps the probe if fine-tuning never beats it.
	ProbeFirst bool          `json:"probe_first"`
	EvalBatch  int           `json:"eval_batch"`
	Seed       uint64        `json:"seed"`
	TimeLimit  time.Duration `json:"time_limit"` // stop after this long (keeping the best epoch); 0: none
	// OpenSet is the open-set rule written next to the weights once
	// training is done (openset.json, see Calibrate): one of
	// OpenSetMethods, or "none"; "" is OpenMahalanobis. OpenSetFRR is its
	// false-rejection rate on the valid split (0: 0.01).
	OpenSet    string  `json:"open_set,omitempty"`
	OpenSetFRR float64 `json:"open_set_frr,omitempty"`
}

// DefaultOptions are settings that work for the small preset on the dev
// corpus.
func DefaultOptions() Options {
	return Options{Context: 256, Epochs: 5, Batch: 16, WeightDecay: 0.01, Clip: 1, Patience: 2,
		ProbeEpochs: 200, ProbePatience: 30, ProbeFirst: true, EvalBatch: 32, Seed: 1}
}

// Mode names the kind of training: "finetune", "freeze" or "scratch".
func (o Options) Mode() string {
	switch {
	case o.FromScratch:
		return "scratch"
	case o.Freeze:
		return "freeze"
	}
	return "finetune"
}

// DefaultPool is what the head reads by default in a mode: the mean of the
// hidden states when the trunk is pre-trained (finetune, freeze), the <cls>
// position from scratch (a random trunk learns a summary at <cls> faster
// than one spread over every position).
func DefaultPool(mode string) string {
	if mode == "scratch" {
		return model.PoolLast
	}
	return model.PoolMean
}

// DefaultLR is the peak learning rate of a mode: 3e-4 to fine-tune, 1e-3
// from scratch, 1e-2 for the linear probe.
func DefaultLR(mode string) float64 {
	switch mode {
	case "scratch":
		return 1e-3
	case "freeze":
		return 1e-2
	}
	return 3e-4
}

func (o Options) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrOptions}, a...)...)
	}
	switch {
	case o.Context < 2:
		return bad("--len %d < 2", o.Context)
	case o.OpenSet != "" && o.OpenSet != "none" && !slices.Contains(OpenSetMethods, o.OpenSet):
		return bad("open-set rule %q (want none or one of %v)", o.OpenSet, OpenSetMethods)
	case o.OpenSetFRR < 0 || o.OpenSetFRR >= 1:
		return bad("open-set false-rejection rate %v outside [0, 1)", o.OpenSetFRR)
	case o.Epochs < 1:
		return bad("epochs %d < 1", o.Epochs)
	case o.Batch < 1 || o.EvalBatch < 1:
		return bad("batch %d and eval batch %d must be positive", o.Batch, o.EvalBatch)
	case o.LR < 0 || math.IsInf(o.LR, 0) || math.IsNaN(o.LR):
		return bad("lr %g", o.LR)
	case o.WeightDecay < 0 || o.Clip < 0 || o.Patience < 0:
		return bad("weight decay %g, clip %g, patience %d: negative", o.WeightDecay, o.Clip, o.Patience)
	case o.Freeze && o.FromScratch:
		return bad("--freeze and --from-scratch together would train a head on random features")
	case (o.Freeze || o.ProbeFirst && !o.FromScratch) && o.ProbeEpochs < 1:
		return bad("probe epochs %d < 1", o.ProbeEpochs)
	case o.Pool != "" && o.Pool != model.PoolLast && o.Pool != model.PoolMean:
		return bad("pool %q is neither %q nor %q", o.Pool, model.PoolLast, model.PoolMean)
	}
	return nil
}

// Job is one fine-tuning run.
type Job struct {
	Dir        string // classifier directory (created; must not hold a classifier)
	Data       string // dataset directory: train and valid splits, labelled
	Pretrained string // model directory or file; unused with FromScratch
	Options    Options
	OnStep     func(Status) // after every step and evaluation (may be nil)
	Warn       func(string) // non-fatal notes (may be nil)
}

// Status is what OnStep sees.
type Status struct {
	Epoch, Epochs int
	Step, Steps   int
	Loss, LR      float64
	Valid         *EpochResult // set right after an evaluation
	Elapsed       time.Duration
}

// EpochResult is one evaluation on the valid split.
type EpochResult struct {
	Epoch    int     `json:"epoch"`
	Loss     float64 `json:"loss"` // unweighted mean cross-entropy
	Accuracy float64 `json:"accuracy"`
	MacroF1  float64 `json:"macro_f1"`
	Best     bool    `json:"best"`
}

// Result summarises a run.
type Result struct {
	Mode         string
	BestEpoch    int
	BestF1       float64
	Valid        metric.ClassReport // of the best epoch
	Epochs       int                // run
	Steps        int
	Stopped      string // "", "patience", "time limit", "canceled"
	Elapsed      time.Duration
	TrainSeconds float64 // of the training steps (excluding evaluation)
	TrainFlows   int     // the flows trained on
	FeatureCut   bool    // the probe's feature pass stopped at half the time limit: TrainFlows of the split's, at random
	Labels       []string
	Weights      []float64 // class weights by label id
	OpenSet      *OpenSet  // the rule written to openset.json (nil: none)
}

// LogLine is one line of finetune.jsonl.
type LogLine struct {
	Kind     string  `json:"kind"` // "train" or "valid"
	Epoch    int     `json:"epoch"`
	Step     int     `json:"step"`
	Loss     float64 `json:"loss"`
	LR       float64 `json:"lr,omitempty"`
	GradNorm float64 `json:"grad_norm,omitempty"`
	Accuracy float64 `json:"accuracy,omitempty"`
	MacroF1  float64 `json:"macro_f1,omitempty"`
	Best     bool    `json:"best,omitempty"`
	Elapsed  float64 `json:"elapsed_s"`
}

// ClassWeights are the inverse-frequency weights N/(K*n_c) of the counts
// (K: classes with flows); classes without flows get 0.
func ClassWeights(counts []int) []float64 {
	N, K := 0, 0
	for _, c := range counts {
		N += c
		if c > 0 {
			K++
		}
	}
	w := make([]float64, len(counts))
	for i, c := range counts {
		if c > 0 {
			w[i] = float64(N) / float64(K*c)
		}
	}
	return w
}

type tuner struct {
	job      Job
	o        Options
	m        *model.Model
	ds       *dataset.Dataset
	tr, va   *dataset.Split
	labels   []string
	weights  []float64
	meta     map[string]string
	log      *os.File
	start    time.Time
	res      *Result
	lossX    []float64
	lossY    []float64
	f1Y      []float64
	bestLoss float64
}

// Finetune trains a classifier as job describes and saves its best epoch
// in job.Dir.
func Finetune(ctx context.Context, job Job) (*Result, error) {
	o := job.Options
	if err := o.validate(); err != nil {
		return nil, err
	}
	mode := o.Mode()
	if o.LR == 0 {
		o.LR = DefaultLR(mode)
	}
	if o.Pool == "" {
		o.Pool = DefaultPool(mode)
	}
	if o.FromScratch {
		if err := o.Config.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrOptions, err)
		}
	} else if job.Pretrained == "" {
		return nil, fmt.Errorf("%w: need a pre-trained model (or from scratch)", ErrOptions)
	}
	if _, err := os.Stat(filepath.Join(job.Dir, ModelFile)); err == nil {
		return nil, fmt.Errorf("%w: %s (choose another output directory)", ErrExists, job.Dir)
	}
	ds, err := dataset.Open(job.Data)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	t := &tuner{job: job, o: o, ds: ds, start: time.Now()}
	if err := t.open(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(job.Dir, 0o755); err != nil {
		return nil, err
	}
	t.log, err = os.OpenFile(filepath.Join(job.Dir, LogFile), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer t.log.Close()
	cfg, _ := json.MarshalIndent(t.m.Config, "", "  ")
	if err := atomicfile.WriteFile(filepath.Join(job.Dir, ConfigFile), append(cfg, '\n')); err != nil {
		return nil, err
	}
	t.res = &Result{Mode: mode, BestEpoch: -1, TrainFlows: t.tr.Len(), Labels: t.labels, Weights: t.weights}
	switch {
	case o.Freeze:
		err = t.probe(ctx, false)
	case o.ProbeFirst && !o.FromScratch:
		if err = t.probe(ctx, true); err == nil {
			err = t.train(ctx)
		}
	default:
		err = t.train(ctx)
	}
	t.res.Elapsed = time.Since(t.start)
	if t.res.BestEpoch < 0 {
		if err == nil {
			err = errors.New("classify: no epoch finished: nothing saved")
		}
		return t.res, err
	}
	t.plot()
	if err == nil && o.OpenSet != "none" {
		t.res.OpenSet, err = calibrateSaved(ctx, job.Dir, ds, o)
	}
	return t.res, err
}

// calibrateSaved gives the saved classifier its open-set rule.
func calibrateSaved(ctx context.Context, dir string, ds *dataset.Dataset, o Options) (*OpenSet, error) {
	method, frr := o.OpenSet, o.OpenSetFRR
	if method == "" {
		method = OpenMahalanobis
	}
	if frr == 0 {
		frr = 0.01
	}
	c, err := Load(dir)
	if err != nil {
		return nil, err
	}
	rule, err := c.Calibrate(ctx, ds, method, frr, o.EvalBatch)
	if err != nil {
		return nil, fmt.Errorf("open-set rule: %w", err)
	}
	return rule, SaveOpenSet(dir, rule)
}

// open loads the data and builds the model with its head.
func (t *tuner) open() error {
	job, o := t.job, t.o
	man := t.ds.Manifest()
	if err := checkLabelled(t.ds); err != nil {
		return err
	}
	if _, ok := man.Splits["valid"]; !ok {
		return fmt.Errorf("%w: %s has no valid split (it has %v): early stopping needs one; rebuild with --split train=..,valid=..,test=..",
			ErrData, t.ds.Dir(), man.SplitNames())
	}
	var err error
	if t.tr, err = t.ds.Split("train"); err != nil {
		return err
	}
	if t.va, err = t.ds.Split("valid"); err != nil {
		return err
	}
	if t.tr.Len() == 0 || t.va.Len() == 0 {
		return fmt.Errorf("%w: %s: train has %d flows, valid %d: both need flows", ErrData, t.ds.Dir(), t.tr.Len(), t.va.Len())
	}
	t.labels = man.Labels
	counts := make([]int, len(t.labels))
	for i := 0; i < t.tr.Len(); i++ {
		y := t.tr.Meta(i).Label
		if y < 0 || int(y) >= len(counts) {
			return fmt.Errorf("%w: %s: train flow %d has label %d of %d", ErrData, t.ds.Dir(), i, y, len(counts))
		}
		counts[y]++
	}
	t.weights = ClassWeights(counts)
	if o.Unweighted {
		for i, c := range counts {
			t.weights[i] = 0
			if c > 0 {
				t.weights[i] = 1
			}
		}
	}
	for i, c := range counts {
		if c == 0 && t.job.Warn != nil {
			t.job.Warn(fmt.Sprintf("class %s has no train flows: the classifier cannot learn it", t.labels[i]))
		}
	}
	pre := ""
	if o.FromScratch {
		t.m, err = model.New(o.Config, o.Seed)
	} else {
		pre = modelPath(job.Pretrained)
		var meta map[string]string
		t.m, meta, err = model.Load(pre)
		if err == nil && (meta[MetaKind] == KindClassifier || t.m.Config.Classes > 0) {
			err = fmt.Errorf("%w: %s is already a classifier; fine-tune from the pre-trained model", ErrOptions, pre)
		}
		if err == nil {
			t.checkPretrainView(meta[MetaDatasetPath])
		}
	}
	if err != nil {
		return err
	}
	t.m.Config.Pool = o.Pool
	if err := t.m.AddClassifier(len(t.labels), o.Seed^0x5eed); err != nil {
		return err
	}
	lab, _ := json.Marshal(t.labels)
	view, _ := json.Marshal(man.Options.View)
	fl, _ := json.Marshal(man.Options.Flow)
	opts, _ := json.Marshal(o)
	t.meta = map[string]string{
		MetaKind: KindClassifier, MetaLabels: string(lab), MetaView: string(view), MetaFlow: string(fl),
		MetaContext: strconv.Itoa(o.Context), MetaMinPackets: strconv.Itoa(man.Options.MinPackets),
		MetaMode: o.Mode(), MetaPretrained: pre, MetaDatasetPath: t.ds.Dir(), MetaDatasetHash: man.Hash(),
		MetaFinetuneOptions: string(opts),
	}
	return nil
}

// checkPretrainView warns when the pre-training dataset (if it can still be
// opened) used another view: the model then meets tokens (masked fields,
// cut payloads) it was not pre-trained on.
func (t *tuner) checkPretrainView(dir string) {
	if dir == "" || t.job.Warn == nil {
		return
	}
	pds, err := dataset.Open(dir)
	if err != nil {
		return
	}
	defer pds.Close()
	if pv, v := pds.Manifest().Options.View, t.ds.Manifest().Options.View; pv != v {
		t.job.Warn(fmt.Sprintf("the model was pre-trained on view %+v, this dataset has view %+v", pv, v))
	}
}

func (t *tuner) elapsed() float64 { return time.Since(t.start).Seconds() }

func (t *tuner) writeLog(l LogLine) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	_, err = t.log.Write(append(b, '\n'))
	return err
}

// accept records an epoch's valid result and saves the model if it is the
// best so far. It reports whether training should stop (patience).
func (t *tuner) accept(epoch, step int, rep metric.ClassReport, loss, trainLoss float64, patience int) (bool, error) {
	r := EpochResult{Epoch: epoch, Loss: loss, Accuracy: rep.Accuracy, MacroF1: rep.MacroF1}
	// Better: a higher macro-F1, or the same with a lower valid loss (F1
	// saturates on easy data while the model keeps improving).
	if t.res.BestEpoch < 0 || rep.MacroF1 > t.res.BestF1 || (rep.MacroF1 == t.res.BestF1 && loss < t.bestLoss) {
		r.Best = true
		t.res.BestEpoch, t.res.BestF1, t.res.Valid = epoch, rep.MacroF1, rep
		t.bestLoss = loss
		t.meta[MetaEpoch] = strconv.Itoa(epoch)
		t.meta[MetaValidF1] = strconv.FormatFloat(rep.MacroF1, 'f', 6, 64)
		if err := t.m.Save(filepath.Join(t.job.Dir, ModelFile), t.meta); err != nil {
			return false, err
		}
	}
	t.lossX = append(t.lossX, float64(epoch))
	t.lossY = append(t.lossY, trainLoss)
	t.f1Y = append(t.f1Y, rep.MacroF1)
	if err := t.writeLog(LogLine{Kind: "valid", Epoch: epoch, Step: step, Loss: loss, Accuracy: rep.Accuracy,
		MacroF1: rep.MacroF1, Best: r.Best, Elapsed: t.elapsed()}); err != nil {
		return false, err
	}
	t.res.Epochs = epoch
	if t.job.OnStep != nil {
		t.job.OnStep(Status{Epoch: epoch, Step: step, Valid: &r, Elapsed: time.Since(t.start)})
	}
	return patience > 0 && epoch-t.res.BestEpoch >= patience, nil
}

func (t *tuner) plot() {
	if len(t.lossX) == 0 {
		return
	}
	s := []plot.Series{{Name: "train loss (epoch mean)", X: t.lossX, Y: t.lossY}, {Name: "valid macro-F1", X: t.lossX, Y: t.f1Y}}
	if err := plot.Lines(filepath.Join(t.job.Dir, PlotFile), "fine-tuning ("+t.o.Mode()+")", "epoch", "loss (nats/flow); macro-F1 (0-1)", s, false); err != nil && t.job.Warn != nil {
		t.job.Warn(fmt.Sprintf("plot: %v", err))
	}
}

// train is full fine-tuning (or from scratch): every parameter learns.
func (t *tuner) train(ctx context.Context) error {
	o, m := t.o, t.m
	B, T := o.Batch, o.Context
	ld, err := dataset.NewClsLoader(t.tr, dataset.ClsOptions{Batch: B, Context: T, Shuffle: true, Seed: o.Seed})
	if err != nil {
		return err
	}
	perEpoch := (t.tr.Len() + B - 1) / B
	total := perEpoch * o.Epochs
	warm := min(100, total/10)
	sched := optim.Schedule{Peak: o.LR, Min: o.LR / 10, Warmup: warm, Total: total}
	var segs []optim.Segment
	for _, p := range m.ParamInfos() {
		segs = append(segs, optim.Segment{Offset: p.Offset, Size: p.Size, Decay: p.Decay})
	}
	h := optim.DefaultHyper()
	h.WeightDecay = o.WeightDecay
	opt, err := optim.NewAdamW(m.ParamCount(), segs, h)
	if err != nil {
		return err
	}
	tok := make([]int32, B*T)
	pos, lab := make([]int32, B), make([]int32, B)
	sub := make([]int32, B*T)
	subPos, subLab := make([]int32, B), make([]int32, B)
	acc := make([]float32, m.ParamCount())
	done := make([]bool, B)
	M := fitRows(m, T, B)
	m.Allocate(M, T)
	step := 0
	for epoch := 1; epoch <= o.Epochs; epoch++ {
		var lossSum float64
		for s := 0; s < perEpoch; s++ {
			if err := ctx.Err(); err != nil {
				t.res.Stopped = "canceled"
				return err
			}
			if o.TimeLimit > 0 && time.Since(t.start) >= o.TimeLimit {
				t.res.Stopped = "time limit"
				if s > 0 || t.res.BestEpoch < 0 { // the partial epoch may be the best: score it
					if err := t.epochEnd(ctx, epoch, step, lossSum/float64(max(s, 1))); err != nil && !errors.Is(err, errPatience) {
						return err
					}
				}
				return nil
			}
			t0 := time.Now()
			m.Train = true
			n, err := ld.Next(tok, pos, lab, nil)
			if err != nil {
				return err
			}
			// Group the batch by class: one forward/backward per class,
			// gradients added with weights n_c*w_c/sum_b w_yb.
			var wsum float64
			for i := 0; i < n; i++ {
				wsum += t.weights[lab[i]]
			}
			clear(acc)
			var loss float64
			clear(done)
			for i := 0; i < n; i++ {
				if done[i] {
					continue
				}
				c := lab[i]
				k := 0
				for j := i; j < n; j++ {
					if lab[j] != c && !(o.Unweighted) {
						continue
					}
					if done[j] {
						continue
					}
					done[j] = true
					copy(sub[k*T:(k+1)*T], tok[j*T:(j+1)*T])
					subPos[k], subLab[k] = pos[j], lab[j]
					k++
				}
				// At most M rows per forward (fitRows): a long context's
				// group goes in chunks, each weighted by its share.
				for c0 := 0; c0 < k; c0 += M {
					kc := min(M, k-c0)
					m.ZeroGrad()
					m.Seed = splitmix(o.Seed ^ splitmix(uint64(step)<<8|uint64(c)) ^ uint64(c0))
					l, _, err := m.ForwardClassify(sub[c0*T:(c0+kc)*T], kc, T, subPos[c0:c0+kc], subLab[c0:c0+kc])
					if err != nil {
						return err
					}
					if err := m.Backward(); err != nil {
						return err
					}
					f := float64(kc) / float64(k)
					if !o.Unweighted {
						f = float64(kc) * t.weights[c] / wsum
					}
					loss += f * float64(l)
					g := m.Grads()
					ff := float32(f)
					for q := range acc {
						acc[q] += ff * g[q]
					}
				}
			}
			copy(m.Grads(), acc)
			norm := optim.ClipGlobalNorm(m.Grads(), o.Clip)
			if math.IsNaN(norm) || math.IsInf(norm, 0) || math.IsNaN(loss) {
				return fmt.Errorf("classify: training diverged at step %d (loss %g, gradient norm %g): lower --lr", step+1, loss, norm)
			}
			lr := sched.LR(step)
			opt.Update(m.Params(), m.Grads(), lr)
			step++
			t.res.Steps = step
			t.res.TrainSeconds += time.Since(t0).Seconds()
			lossSum += loss
			if err := t.writeLog(LogLine{Kind: "train", Epoch: epoch, Step: step, Loss: loss, LR: lr, GradNorm: norm, Elapsed: t.elapsed()}); err != nil {
				return err
			}
			if t.job.OnStep != nil {
				t.job.OnStep(Status{Epoch: epoch, Epochs: o.Epochs, Step: step, Steps: total, Loss: loss, LR: lr, Elapsed: time.Since(t.start)})
			}
		}
		if err := t.epochEnd(ctx, epoch, step, lossSum/float64(perEpoch)); err != nil {
			if errors.Is(err, errPatience) {
				t.res.Stopped = "patience"
				return nil
			}
			return err
		}
	}
	return nil
}

var errPatience = errors.New("patience")

// epochEnd evaluates on the valid split, saves a better model, and returns
// errPatience when training should stop.
func (t *tuner) epochEnd(ctx context.Context, epoch, step int, trainLoss float64) error {
	t.m.Train = false
	p, loss, err := t.predictValid(ctx)
	if err != nil {
		return err
	}
	rep, err := metric.Report(p.Labels, p.Preds, len(t.labels), t.labels)
	if err != nil {
		return err
	}
	stop, err := t.accept(epoch, step, rep, loss, trainLoss, t.o.Patience)
	if err != nil {
		return err
	}
	if stop {
		return errPatience
	}
	return nil
}

// predictValid classifies the valid split and returns the predictions and
// the unweighted mean cross-entropy.
func (t *tuner) predictValid(ctx context.Context) (*Predictions, float64, error) {
	var loss float64
	p, err := predictSplit(ctx, t.m, t.va, nil, t.o.Context, t.o.EvalBatch, nil, &loss)
	return p, loss, err
}

// features runs the frozen trunk over a split and returns the (N, C)
// head inputs (the pooled hidden states, model.ClsFeatures) and the labels.
// With a deadline (not zero) the flows go in a seeded shuffled order and
// the pass stops at the first batch boundary after it (at least one batch
// done), so that a cut leaves a random subset of the split, not its first
// captures; without one, every flow in split order.
func (t *tuner) features(ctx context.Context, s *dataset.Split, deadline time.Time) ([]float32, []int32, error) {
	m, T := t.m, t.o.Context
	B := fitRows(m, T, t.o.EvalBatch)
	shuffle := !deadline.IsZero()
	ld, err := dataset.NewClsLoader(s, dataset.ClsOptions{Batch: B, Context: T, Shuffle: shuffle, Seed: t.o.Seed})
	if err != nil {
		return nil, nil, err
	}
	C := m.Config.Width
	feat := make([]float32, 0, s.Len()*C)
	labels := make([]int32, 0, s.Len())
	tok := make([]int32, B*T)
	pos, lab := make([]int32, B), make([]int32, B)
	m.Train = false
	for len(labels) < s.Len() {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if shuffle && len(labels) > 0 && !time.Now().Before(deadline) {
			break
		}
		n, err := ld.Next(tok, pos, lab, nil)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		// A shuffled loader runs on into the next epoch: one pass only.
		n = min(n, s.Len()-len(labels))
		if _, _, err := m.ForwardClassify(tok[:n*T], n, T, pos[:n], nil); err != nil {
			return nil, nil, err
		}
		feat = append(feat, m.ClsFeatures()[:n*C]...)
		labels = append(labels, lab[:n]...)
		if t.job.OnStep != nil {
			t.job.OnStep(Status{Step: len(labels), Steps: s.Len(), Elapsed: time.Since(t.start)})
		}
	}
	return feat, labels, nil
}

// probe is the linear probe: cached trunk features, head-only training.
// With first (LP-FT) it is the first stage of full fine-tuning: it runs at
// the probe's learning rate, logs its epochs as kind "probe", installs the
// best head in the model and records it as epoch 0 of the fine-tuning.
func (t *tuner) probe(ctx context.Context, first bool) error {
	o, m := t.o, t.m
	lr := o.LR
	if first {
		lr = DefaultLR("freeze")
	}
	t0 := time.Now()
	// With a time limit the training features get half of it (a random
	// subset when that is not enough for all of them); the valid features
	// are always whole (the epochs are chosen on all of valid), and the
	// head's epochs, cheap on cached features, stop at the limit.
	var deadline time.Time
	if o.TimeLimit > 0 {
		deadline = t.start.Add(o.TimeLimit / 2)
	}
	trX, trY, err := t.features(ctx, t.tr, deadline)
	if err != nil {
		return err
	}
	if len(trY) < t.tr.Len() {
		t.res.TrainFlows, t.res.FeatureCut = len(trY), true
	}
	vaX, vaY, err := t.features(ctx, t.va, time.Time{})
	if err != nil {
		return err
	}
	t.res.TrainSeconds += time.Since(t0).Seconds()
	var wInfo, bInfo model.ParamInfo
	for _, p := range m.ParamInfos() {
		switch p.Name {
		case "cls.weight":
			wInfo = p
		case "cls.bias":
			bInfo = p
		}
	}
	K, C := len(t.labels), m.Config.Width
	if wInfo.Size != K*C || bInfo.Size != K {
		return fmt.Errorf("classify: model has no %dx%d head", K, C)
	}
	// head = [W (K, C) | b (K)], initialised from the model's head.
	head := make([]float32, K*C+K)
	params := m.Params()
	copy(head[:K*C], params[wInfo.Offset:wInfo.Offset+K*C])
	copy(head[K*C:], params[bInfo.Offset:bInfo.Offset+K])
	grad := make([]float32, len(head))
	h := optim.DefaultHyper()
	h.WeightDecay = o.WeightDecay
	opt, err := optim.NewAdamW(len(head), []optim.Segment{{Offset: 0, Size: K * C, Decay: true}}, h)
	if err != nil {
		return err
	}
	N := len(trY)
	B := o.Batch
	perEpoch := (N + B - 1) / B
	total := perEpoch * o.ProbeEpochs
	sched := optim.Schedule{Peak: lr, Min: lr / 10, Warmup: min(100, total/10), Total: total}
	perm := make([]int, N)
	for i := range perm {
		perm[i] = i
	}
	rng := newRand(o.Seed)
	logits := make([]float64, K)
	step := 0
	install := func(head []float32) {
		copy(params[wInfo.Offset:wInfo.Offset+K*C], head[:K*C])
		copy(params[bInfo.Offset:bInfo.Offset+K], head[K*C:])
	}
	// first: the best epoch's head, kept here (accept saves only the
	// fine-tuning's epochs).
	bestHead := append([]float32(nil), head...)
	bestEpoch, bestF1, bestLoss, bestTrain := -1, 0.0, 0.0, 0.0
	var bestRep metric.ClassReport
	finish := func() error {
		install(bestHead)
		_, err := t.accept(0, step, bestRep, bestLoss, bestTrain, 0)
		return err
	}
	for epoch := 1; epoch <= o.ProbeEpochs; epoch++ {
		t1 := time.Now()
		rng.Shuffle(N, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var lossSum float64
		for s := 0; s < perEpoch; s++ {
			if err := ctx.Err(); err != nil {
				t.res.Stopped = "canceled"
				return err
			}
			batch := perm[s*B : min(N, (s+1)*B)]
			var wsum float64
			for _, i := range batch {
				wsum += t.weights[trY[i]]
			}
			clear(grad)
			var loss float64
			for _, i := range batch {
				x := trX[i*C : (i+1)*C : (i+1)*C]
				y := int(trY[i])
				softmaxHead(logits, head, x, K, C)
				f := t.weights[y] / wsum
				loss -= f * math.Log(math.Max(logits[y], 1e-30))
				for k := 0; k < K; k++ {
					d := logits[k]
					if k == y {
						d--
					}
					d *= f
					g := grad[k*C : (k+1)*C : (k+1)*C]
					for c, xv := range x {
						g[c] += float32(d) * xv
					}
					grad[K*C+k] += float32(d)
				}
			}
			optim.ClipGlobalNorm(grad, o.Clip)
			opt.Update(head, grad, sched.LR(step))
			step++
			lossSum += loss
		}
		t.res.Steps = step
		t.res.TrainSeconds += time.Since(t1).Seconds()
		// valid on cached features
		var preds, labels []int
		var vloss float64
		for i := range vaY {
			softmaxHead(logits, head, vaX[i*C:(i+1)*C:(i+1)*C], K, C)
			best := 0
			for k := range logits {
				if logits[k] > logits[best] {
					best = k
				}
			}
			preds = append(preds, best)
			labels = append(labels, int(vaY[i]))
			vloss -= math.Log(math.Max(logits[vaY[i]], 1e-30))
		}
		rep, err := metric.Report(labels, preds, K, t.labels)
		if err != nil {
			return err
		}
		vl, tl := vloss/float64(max(len(vaY), 1)), lossSum/float64(perEpoch)
		if first {
			if err := t.writeLog(LogLine{Kind: "probe", Epoch: epoch, Step: step, Loss: tl, LR: sched.LR(step - 1),
				Accuracy: rep.Accuracy, MacroF1: rep.MacroF1, Elapsed: t.elapsed()}); err != nil {
				return err
			}
			if bestEpoch < 0 || rep.MacroF1 > bestF1 || (rep.MacroF1 == bestF1 && vl < bestLoss) {
				copy(bestHead, head)
				bestEpoch, bestF1, bestLoss, bestTrain, bestRep = epoch, rep.MacroF1, vl, tl, rep
			}
			if epoch-bestEpoch >= o.ProbePatience || (o.TimeLimit > 0 && time.Since(t.start) >= o.TimeLimit) {
				return finish()
			}
			continue
		}
		install(head)
		if err := t.writeLog(LogLine{Kind: "train", Epoch: epoch, Step: step, Loss: tl,
			LR: sched.LR(step - 1), Elapsed: t.elapsed()}); err != nil {
			return err
		}
		stop, err := t.accept(epoch, step, rep, vl, tl, o.ProbePatience)
		if err != nil {
			return err
		}
		if stop {
			t.res.Stopped = "patience"
			return nil
		}
		if o.TimeLimit > 0 && time.Since(t.start) >= o.TimeLimit {
			t.res.Stopped = "time limit"
			return nil
		}
	}
	if first {
		return finish()
	}
	return nil
}

// softmaxHead writes softmax(W x + b) into p (K) for head [W (K, C) | b].
func softmaxHead(p []float64, head, x []float32, K, C int) {
	mx := math.Inf(-1)
	for k := 0; k < K; k++ {
		w := head[k*C : (k+1)*C : (k+1)*C]
		s := float64(head[K*C+k])
		for c, xv := range x {
			s += float64(w[c]) * float64(xv)
		}
		p[k] = s
		mx = math.Max(mx, s)
	}
	var z float64
	for k := range p[:K] {
		p[k] = math.Exp(p[k] - mx)
		z += p[k]
	}
	for k := range p[:K] {
		p[k] /= z
	}
}

// newRand is the probe's seeded shuffle source.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x70be)) }

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// ReadLog reads a classifier directory's finetune.jsonl. A torn last line
// (no newline, not JSON: the run stopped while writing it) is ignored; any
// other line that is not JSON is an error naming the line (train.ReadLog
// has the same rule).
func ReadLog(dir string) ([]LogLine, error) {
	b, err := os.ReadFile(filepath.Join(dir, LogFile))
	if err != nil {
		return nil, err
	}
	var out []LogLine
	for n := 1; len(b) > 0; n++ {
		line, rest, complete := bytes.Cut(b, []byte{'\n'})
		b = rest
		var l LogLine
		if err := json.Unmarshal(line, &l); err != nil {
			if !complete {
				break // a torn last line: the run was stopped while writing it
			}
			return out, fmt.Errorf("%s: line %d: %w", LogFile, n, err)
		}
		out = append(out, l)
	}
	return out, nil
}
