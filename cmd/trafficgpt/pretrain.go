package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/dist"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/progress"
	"github.com/trafficgpt/trafficgpt/internal/train"
)

func init() {
	register(command{name: "pretrain", summary: "generative pre-training on a dataset's flows (resumable)", run: cmdPretrain})
}

type pretrainOptions struct {
	data, out, config string
	resume            bool
	train             train.Options
	set               map[string]bool // flags given on the command line
	comm              dist.Comm       // MPI job (pretrain_dist.go); nil: one process
	checkEvery        int
}

func cmdPretrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o pretrainOptions
	d := train.DefaultOptions()
	t := &o.train
	fs := newFlagSet("pretrain", "pretrain --data DIR -o MODEL [flags]",
		"trafficgpt pretrain --data ds -o model --config tiny --steps 40 --ctx 256   (a real run: --config small --steps 2000; Ctrl-C saves; add --resume to continue)", stderr)
	fs.StringVar(&o.data, "data", "", "dataset directory (trafficgpt dataset build); needs a train split, uses valid for evaluation")
	fs.StringVar(&o.out, "o", "", "model directory (created; holds weights, optimizer state, log and loss plot)")
	fs.StringVar(&o.config, "config", "small", "model: "+strings.Join(model.PresetNames(), ", ")+" or a config JSON file")
	fs.IntVar(&t.Context, "ctx", d.Context, "context length (tokens per sequence)")
	fs.IntVar(&t.Batch, "batch", d.Batch, "sequences per micro-batch")
	fs.IntVar(&t.Accum, "accum", d.Accum, "micro-batches per optimizer step (gradient accumulation)")
	fs.IntVar(&t.Steps, "steps", d.Steps, "optimizer steps in total (the cosine schedule ends here)")
	fs.Float64Var(&t.LR, "lr", d.LR, "peak learning rate")
	fs.Float64Var(&t.MinLR, "min-lr", d.MinLR, "learning-rate floor at the end of the cosine decay")
	fs.IntVar(&t.Warmup, "warmup", d.Warmup, "linear warm-up steps")
	fs.Float64Var(&t.Clip, "clip", d.Clip, "global gradient-norm clip (0: none)")
	fs.Float64Var(&t.WeightDecay, "weight-decay", d.WeightDecay, "AdamW weight decay (matrices and embeddings only)")
	fs.Float64Var(&t.Dropout, "dropout", d.Dropout, "dropout rate (negative: the config's)")
	fs.IntVar(&t.EvalEvery, "eval-every", d.EvalEvery, "evaluate on the valid split every N steps (0: only at the end)")
	fs.IntVar(&t.EvalBatches, "eval-batches", d.EvalBatches, "valid batches per evaluation")
	fs.IntVar(&t.SaveEvery, "save-every", d.SaveEvery, "checkpoint every N steps (also at the end and on Ctrl-C/SIGTERM)")
	fs.Uint64Var(&t.Seed, "seed", d.Seed, "seed of the initial weights, data order and dropout")
	fs.IntVar(&t.Threads, "threads", 0, "threads (0: all CPUs)")
	fs.DurationVar(&t.TimeLimit, "time-limit", 0, "stop (saving a checkpoint) after this long, e.g. 30m; 0: no limit")
	fs.BoolVar(&o.resume, "resume", false, "continue the run in -o exactly where its checkpoint left off")
	fs.IntVar(&o.checkEvery, "check-every", 0, "under MPI: compare every rank's weights with rank 0's every N steps (debug; 0: never)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("unexpected arguments %v (the dataset goes in --data)", pos)
	}
	if o.data == "" || o.out == "" {
		return usageError("need --data DIR and -o MODEL")
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	return runPretrainDist(ctx, o, stdout, stderr)
}

// loadConfig resolves --config: a preset name or a JSON file.
func loadConfig(s string) (model.Config, error) {
	c, err := model.LoadConfig(s)
	var unknown *model.UnknownConfigError
	var pathErr *fs.PathError
	switch {
	case errors.As(err, &unknown):
		return c, usageError("--config %v", err)
	case errors.As(err, &pathErr):
		return c, fmt.Errorf("--config: %w", err)
	case err != nil:
		return c, fmt.Errorf("--config %w", err)
	}
	return c, nil
}

func runPretrain(ctx context.Context, o pretrainOptions, stdout, stderr io.Writer) error {
	// Every check comes before any work: config, dataset, checkpoint, memory.
	cfg, err := loadConfig(o.config)
	if err != nil {
		return err
	}
	o.train.Config = cfg
	if o.resume && isRoot(o.comm) {
		st, err := train.ReadState(o.out)
		if err != nil {
			return err
		}
		o.train = o.train.Resume(st.Options, func(name string) bool { return o.set[name] })
	}
	if err := train.SyncOptions(o.comm, &o.train); err != nil {
		return err
	}
	if err := o.train.Validate(); err != nil {
		return usageError("%v", err)
	}
	if fi, err := os.Stat(o.data); err != nil || !fi.IsDir() {
		return fmt.Errorf("--data %s: not a dataset directory (%v)", o.data, errOr(err, "not a directory"))
	}
	data, ds, err := train.OpenData(o.data, o.train)
	if err != nil {
		return err
	}
	defer ds.Close()
	if data.Valid == nil {
		fmt.Fprintf(stderr, "warning: %s has no valid split: no evaluation\n", o.data)
	}
	tr, _ := ds.Split("train")
	for _, w := range ds.Warnings() {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	t := o.train
	mc := t.ModelConfig()
	fmt.Fprintf(stderr, "pretrain: %s (%d layers x %d, %s attention), ctx %d, batch %d x %d accum = %d tokens/step, %d steps; train split %d flows, %d tokens (codec v%d)\n",
		o.config, mc.Layers, mc.Width, mc.Attention, t.Context, t.Batch, t.Accum, t.Batch*t.Context*t.Accum, t.Steps,
		tr.Len(), tr.Tokens(), codec.Version)

	startStep := 0
	if o.resume {
		if st, err := train.ReadState(o.out); err == nil {
			startStep = st.Step
		}
	}
	pr := progress.New(stderr, "pretrain", "steps", float64(t.Steps-startStep))
	job := train.Job{Dir: o.out, Options: t, Data: data, Resume: o.resume, Comm: o.comm, CheckEvery: o.checkEvery,
		Warn: func(s string) { fmt.Fprintln(stderr, "warning:", s) },
		OnStep: func(s train.Status) {
			if s.Valid != nil {
				pr.Finish()
				fmt.Fprintf(stderr, "step %d/%d  %s  valid %s  (%s)\n", s.Step, s.Steps, fmtLoss("train", s.Loss, s.Step),
					s.Valid.String(), s.Elapsed.Round(time.Second))
				return
			}
			pr.Add(1, fmt.Sprintf("step %d/%d loss %.3f lr %.2g %.0f tok/s", s.Step, s.Steps, s.Loss, s.LR, s.TokensPerSec))
		}}
	// The sgemm rate of this machine with the run's threads, probed before
	// and after the run; the best probe stands for the machine (a probe that
	// meets other work only reads low).
	if n := job.Options.Threads; n > 0 { // process-wide: set here, by the application
		runtime.GOMAXPROCS(n)
		model.SetThreads(n)
	}
	sgemm := model.MeasureGFLOPS(1024, time.Second)
	res, err := train.Run(ctx, job)
	pr.Finish()
	if res == nil {
		return err
	}
	if err != nil && res.Stopped != "canceled" {
		return err
	}
	sgemm = max(sgemm, model.MeasureGFLOPS(1024, time.Second), model.MeasureGFLOPS(1024, time.Second))
	res.WriteText(stdout, job, o.data, sgemm)
	return err
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

func fmtLoss(what string, l float64, step int) string {
	if step == 0 {
		return what + " -"
	}
	return fmt.Sprintf("%s %.4f", what, l)
}
