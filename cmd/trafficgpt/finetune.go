package main

import (
	"context"
	"fmt"
	"github.com/trafficgpt/trafficgpt/models/base"
	"io"
	"os"
	"strings"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/classify"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/progress"
)

func init() {
	register(command{name: "finetune", summary: "train a flow classifier (fine-tune, linear probe or from scratch) on a labelled dataset", run: cmdFinetune})
}

type finetuneOptions struct {
	job    classify.Job
	config string
}

func cmdFinetune(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o finetuneOptions
	d := classify.DefaultOptions()
	t := &o.job.Options
	*t = d
	fs := newFlagSet("finetune", "finetune --model PRE --data DIR -o CLF [flags]",
		"trafficgpt finetune --model pre --data ds -o clf --len 256 --epochs 5   (--freeze: linear probe; --from-scratch --config small: no pre-training)", stderr)
	fs.StringVar(&o.job.Pretrained, "model", "", "pre-trained model directory or .safetensors file (trafficgpt pretrain), or base (the shipped base model)")
	fs.StringVar(&o.job.Data, "data", "", "labelled dataset directory (trafficgpt dataset build --labels ...): train and valid splits")
	fs.StringVar(&o.job.Dir, "o", "", "classifier directory (created; gets the best epoch's weights, log and curve)")
	fs.IntVar(&t.Context, "len", d.Context, "tokens per flow seen by the model: the first len-1, then <cls>")
	fs.IntVar(&t.Epochs, "epochs", d.Epochs, "passes over the train split (full fine-tuning and from scratch)")
	fs.IntVar(&t.Batch, "batch", d.Batch, "flows per step")
	fs.Float64Var(&t.LR, "lr", 0, "peak learning rate (0: 3e-4 fine-tune, 1e-3 from scratch, 1e-2 linear probe)")
	fs.Float64Var(&t.WeightDecay, "weight-decay", d.WeightDecay, "AdamW weight decay (matrices and embeddings)")
	fs.Float64Var(&t.Clip, "clip", d.Clip, "global gradient-norm clip (0: none)")
	fs.IntVar(&t.Patience, "patience", d.Patience, "stop after this many epochs without a better valid macro-F1 (0: never)")
	fs.BoolVar(&t.Freeze, "freeze", false, "linear probe: keep the pre-trained trunk frozen, train only the head (on cached features)")
	fs.BoolVar(&t.ProbeFirst, "probe-first", d.ProbeFirst, "full fine-tuning: fit the head as a linear probe first, then fine-tune everything from it (LP-FT; --probe-first=false: from a random head)")
	fs.StringVar(&t.Pool, "pool", "", "what the head reads: mean (of the hidden states over the flow's tokens and <cls>) or last (the <cls> position's); default mean, last with --from-scratch")
	fs.BoolVar(&t.FromScratch, "from-scratch", false, "same architecture from random weights (no --model; see --config)")
	fs.StringVar(&o.config, "config", "small", "architecture for --from-scratch: "+strings.Join(model.PresetNames(), ", ")+" or a config JSON file")
	fs.BoolVar(&t.Unweighted, "unweighted", false, "plain cross-entropy (default: inverse-frequency class weights N/(K*n_c))")
	fs.IntVar(&t.ProbeEpochs, "probe-epochs", d.ProbeEpochs, "--freeze: passes over the cached features")
	fs.IntVar(&t.ProbePatience, "probe-patience", d.ProbePatience, "--freeze: probe epochs without improvement before stopping")
	fs.IntVar(&t.EvalBatch, "eval-batch", d.EvalBatch, "flows per forward pass when evaluating")
	fs.StringVar(&t.OpenSet, "open-set", classify.OpenMahalanobis, "open-set rule written to openset.json after training (flows unlike every class become unknown): "+strings.Join(classify.OpenSetMethods, ", ")+" or none")
	fs.Float64Var(&t.OpenSetFRR, "frr", 0.01, "the open-set rule's false-rejection rate on the valid split")
	fs.Uint64Var(&t.Seed, "seed", d.Seed, "seed of the head, data order and dropout")
	fs.DurationVar(&t.TimeLimit, "time-limit", 0, "stop after this long, keeping the best epoch so far (0: no limit)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("unexpected arguments %v (the dataset goes in --data)", pos)
	}
	if err := o.job.Validate(); err != nil {
		return usageError("%v", err)
	}
	if t.FromScratch {
		if t.Config, err = loadConfig(o.config); err != nil {
			return err
		}
	}
	if o.job.Pretrained, err = base.Resolve(o.job.Pretrained); err != nil {
		return err
	}
	return runFinetune(ctx, o, stdout, stderr)
}

func runFinetune(ctx context.Context, o finetuneOptions, stdout, stderr io.Writer) error {
	if fi, err := os.Stat(o.job.Data); err != nil || !fi.IsDir() {
		return fmt.Errorf("--data %s: not a dataset directory (%v)", o.job.Data, errOr(err, "not a directory"))
	}
	t := o.job.Options
	mode := t.Mode()
	fmt.Fprintf(stderr, "finetune: %s, len %d, batch %d, data %s -> %s\n", mode, t.Context, t.Batch, o.job.Data, o.job.Dir)
	var pr *progress.Bar
	newBar := func(what string, total int) {
		pr.Finish()
		pr = progress.New(stderr, what, "steps", float64(total))
	}
	o.job.Warn = func(s string) { fmt.Fprintln(stderr, "warning:", s) }
	o.job.OnStep = func(s classify.Status) {
		switch {
		case s.Valid != nil:
			if mode == "freeze" && !s.Valid.Best {
				return
			}
			pr.Finish()
			best := ""
			if s.Valid.Best {
				best = "  (best, saved)"
			}
			fmt.Fprintf(stderr, "epoch %d  valid loss %.4f  accuracy %.4f  macro-F1 %.4f%s  (%s)\n",
				s.Valid.Epoch, s.Valid.Loss, s.Valid.Accuracy, s.Valid.MacroF1, best, s.Elapsed.Round(time.Second))
			pr = nil
		case s.Epochs == 0: // feature extraction of the probe: Step flows of Steps
			if pr == nil || pr.Total() != float64(s.Steps) || pr.Done() > float64(s.Step) {
				newBar("features", s.Steps)
			}
			pr.Set(float64(s.Step), fmt.Sprintf("%d/%d flows", s.Step, s.Steps))
		default:
			if pr == nil {
				newBar("finetune", s.Steps)
			}
			pr.Set(float64(s.Step), fmt.Sprintf("epoch %d/%d step %d/%d loss %.3f lr %.2g", s.Epoch, s.Epochs, s.Step, s.Steps, s.Loss, s.LR))
		}
	}
	res, err := classify.Finetune(ctx, o.job)
	pr.Finish()
	if res == nil || res.BestEpoch < 0 {
		return err
	}
	res.WriteText(stdout, o.job.Dir)
	return err
}
