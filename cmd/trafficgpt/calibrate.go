package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/trafficgpt/trafficgpt/internal/classify"
	"github.com/trafficgpt/trafficgpt/internal/dataset"
)

func init() {
	register(command{name: "calibrate", summary: "give a classifier an open-set rule: flows unlike every class become unknown", run: cmdCalibrate})
}

type calibrateOptions struct {
	model, data, method string
	frr                 float64
	batch               int
}

func cmdCalibrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o calibrateOptions
	fs := newFlagSet("calibrate", "calibrate --model CLF --data DIR [--method mahalanobis] [--frr 0.01]",
		"trafficgpt calibrate --model clf --data ds --frr 0.01   (then: trafficgpt eval classify --model clf --data ds --unknown other-ds)", stderr)
	fs.StringVar(&o.model, "model", "", "classifier directory (gets openset.json)")
	fs.StringVar(&o.data, "data", "", "the classifier's labelled dataset: train split for the class statistics, valid split for the threshold")
	fs.StringVar(&o.method, "method", classify.OpenMahalanobis, fmt.Sprintf("open-set score: %v", classify.OpenSetMethods))
	fs.Float64Var(&o.frr, "frr", 0.01, "false-rejection rate on the valid split's known flows (sets the threshold)")
	fs.IntVar(&o.batch, "batch", 32, "flows per forward pass")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError("unexpected arguments %v", pos)
	case o.model == "" || o.data == "":
		return usageError("need --model CLF and --data DIR")
	}
	if err := classify.CheckCalibration(o.method, o.frr, o.batch); err != nil {
		return usageError("%v", err)
	}
	return runCalibrate(ctx, o, stdout, stderr)
}

func runCalibrate(ctx context.Context, o calibrateOptions, stdout, stderr io.Writer) error {
	c, err := classify.Load(o.model)
	if err != nil {
		return err
	}
	ds, err := dataset.Open(o.data)
	if err != nil {
		return err
	}
	defer ds.Close()
	rule, err := c.Calibrate(ctx, ds, o.method, o.frr, o.batch)
	if err != nil {
		return err
	}
	if err := classify.SaveOpenSet(c.Dir(), rule); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: open-set rule %s, threshold %.6g (%.1f%% of %d valid flows rejected), from %d train flows\n",
		filepath.Join(c.Dir(), classify.OpenSetFile), rule.Method, rule.Threshold, 100*rule.FRR, rule.ValidFlows, rule.TrainFlows)
	return nil
}
