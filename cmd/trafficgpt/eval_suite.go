package main

import (
	"context"
	"fmt"
	"github.com/trafficgpt/trafficgpt/models/base"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/trafficgpt/trafficgpt/internal/progress"
	"github.com/trafficgpt/trafficgpt/internal/suite"
)

func init() {
	register(command{name: "eval suite", summary: "score a task suite at several label budgets: forest, k-NN, from scratch, probe and fine-tune of a base", run: cmdEvalSuite})
}

type evalSuiteOptions struct {
	spec, out string
	run       suite.Options
}

func cmdEvalSuite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o evalSuiteOptions
	fs := newFlagSet("eval suite", "eval suite [--base MODEL] [--quick] SPEC OUT",
		"trafficgpt eval suite --quick --base model testdata/suite/demo.json suite-out   (about a minute; the full suite from the shipped base model: --base base testdata/suite/dev.json)", stderr)
	fs.StringVar(&o.run.Base, "base", "", "pre-trained model (directory or .safetensors, or base: the shipped base model) for the linear-probe and fine-tune rows; without it they are skipped")
	fs.BoolVar(&o.run.Quick, "quick", false, "smoke run: first seed, budgets 5, 20 and all, tiny model, --len 64, 2 epochs")
	fs.BoolVar(&o.run.Fresh, "fresh", false, "ignore the runs of an earlier OUT/suite.json (default: take matching runs from it and keep its other methods' rows)")
	fs.BoolVar(&o.run.Keep, "keep", false, "keep each budget's dataset and classifiers under OUT/TASK/work")
	fs.IntVar(&o.run.Jobs, "j", runtime.GOMAXPROCS(0), "files tokenized in parallel when building the task datasets")
	var ov suite.Overrides
	fs.StringVar(&ov.Seeds, "seeds", "", "override the spec's seeds (comma-separated)")
	fs.StringVar(&ov.Budgets, "budgets", "", "override the spec's label budgets (comma-separated flows per class, or all)")
	fs.StringVar(&ov.Tasks, "tasks", "", "run only these tasks (comma-separated names)")
	fs.StringVar(&ov.Config, "config", "", "override the spec's from-scratch architecture without --base (a model preset)")
	fs.IntVar(&ov.Len, "len", 0, "override the spec's tokens per flow the networks see")
	fs.IntVar(&ov.Epochs, "epochs", 0, "override the spec's fine-tuning epochs")
	fs.DurationVar(&ov.TimeLimit, "time-limit", -1, "override the spec's time limit per network run (0: none)")
	fs.StringVar(&ov.Methods, "methods", "", "override the spec's methods (comma-separated: "+strings.Join(suite.AllMethods, ",")+")")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError("need SPEC and OUT")
	}
	o.spec, o.out = pos[0], pos[1]
	s, err := suite.ReadSpec(o.spec)
	if err != nil {
		return err
	}
	if err := s.Override(ov); err != nil {
		return usageError("%v", err)
	}
	if o.run.Quick {
		s.Quick()
	}
	o.run.Spec = s
	return runEvalSuite(ctx, o, stdout, stderr)
}

func runEvalSuite(ctx context.Context, o evalSuiteOptions, stdout, stderr io.Writer) error {
	o.run.Out = o.out
	var pr *progress.Bar
	o.run.Warn = func(s string) {
		pr.Finish()
		fmt.Fprintln(stderr, "warning:", s)
	}
	o.run.Progress = func(done, total int, what string) {
		if pr == nil {
			pr = progress.New(stderr, "suite", "runs", float64(total))
		}
		pr.Add(1, what)
	}
	if o.run.Base == "" {
		fmt.Fprintln(stderr, "eval suite: no --base: skipping the linear-probe and fine-tune rows")
	}
	var err error
	if o.run.Base, err = base.Resolve(o.run.Base); err != nil {
		return err
	}
	r, err := suite.Run(ctx, o.run)
	pr.Finish()
	if err != nil {
		if r != nil {
			fmt.Fprintf(stderr, "eval suite: stopped after %d runs; %s holds them (complete: false)\n",
				len(r.Runs), filepath.Join(o.out, "suite.json"))
		}
		return err
	}
	md, err := os.ReadFile(filepath.Join(o.out, "suite.md"))
	if err != nil {
		return err
	}
	stdout.Write(md)
	fmt.Fprintf(stdout, "\n%s: suite.json (every run), suite.md, TASK/table.md, TASK/curve.png\n", o.out)
	return nil
}
