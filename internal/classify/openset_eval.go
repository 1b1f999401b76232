package classify

import (
	"context"
	"fmt"

	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/metric"
)

// OpenSetResult is one open-set rule scored on known test flows and on
// flows of classes the classifier never saw.
type OpenSetResult struct {
	Method    string  `json:"method"`
	Source    string  `json:"source"` // "openset.json" (the classifier's rule) or "fit" (fitted here on train/valid)
	AUROC     float64 `json:"auroc"`  // known test flows vs unknown flows
	Threshold float64 `json:"threshold"`
	FRR       float64 `json:"frr_target"`
	// RejectedUnknown is the share of unknown flows called unknown (the
	// rejection rate); RejectedKnown the share of known test flows.
	RejectedUnknown float64 `json:"rejected_unknown"`
	RejectedKnown   float64 `json:"rejected_known"`
	// MacroF1 is the known classes' macro-F1 on the test split with the
	// rejected flows counted as wrong; ClosedMacroF1 the same without
	// rejection.
	MacroF1       float64 `json:"macro_f1_with_rejection"`
	ClosedMacroF1 float64 `json:"macro_f1_closed_set"`
}

// OpenSetReport is EvaluateOpenSet's outcome.
type OpenSetReport struct {
	Unknown      string          `json:"unknown_dataset"`
	UnknownFlows int             `json:"unknown_flows"`
	KnownFlows   int             `json:"known_flows"`
	Results      []OpenSetResult `json:"results"`
	rules        map[string]*OpenSet
}

// Rule returns the rule fitted for a method (nil if none was).
func (r *OpenSetReport) Rule(method string) *OpenSet { return r.rules[method] }

// EvaluateOpenSet scores open-set rejection: the known flows are split
// `eval` of ds (mapped to the classifier's labels), the unknown ones every
// flow of unk (a dataset with the classifier's view whose classes the
// classifier was not trained on). Each method of OpenSetMethods is fitted on
// ds's train and valid splits at false-rejection rate frr; the classifier's
// own rule (openset.json), if any, is scored too.
func (c *Classifier) EvaluateOpenSet(ctx context.Context, ds *dataset.Dataset, eval string, mapping []int, unk *dataset.Dataset, frr float64, batch int) (*OpenSetReport, error) {
	if um := unk.Manifest(); um.Options.View != c.View {
		return nil, fmt.Errorf("%w: unknown-flow dataset %s has view %+v, the classifier was trained on %+v", ErrView, unk.Dir(), um.Options.View, c.View)
	}
	score := func(d *dataset.Dataset, name string, mapping []int) (*SplitScores, error) {
		s, err := d.Split(name)
		if err != nil {
			return nil, err
		}
		return c.ScoreSplit(ctx, s, mapping, batch)
	}
	train, err := score(ds, "train", mapping)
	if err != nil {
		return nil, err
	}
	valid, err := score(ds, "valid", mapping)
	if err != nil {
		return nil, err
	}
	test, err := score(ds, eval, mapping)
	if err != nil {
		return nil, err
	}
	unknown := &SplitScores{}
	for _, name := range unk.Manifest().SplitNames() {
		s, err := score(unk, name, nil)
		if err != nil {
			return nil, err
		}
		unknown.Labels = append(unknown.Labels, s.Labels...)
		unknown.Probs = append(unknown.Probs, s.Probs...)
		unknown.Feats = append(unknown.Feats, s.Feats...)
	}
	if len(unknown.Labels) == 0 || len(test.Labels) == 0 {
		return nil, fmt.Errorf("%w: %d known and %d unknown flows", ErrData, len(test.Labels), len(unknown.Labels))
	}
	rep := &OpenSetReport{Unknown: unk.Dir(), UnknownFlows: len(unknown.Labels), KnownFlows: len(test.Labels), rules: map[string]*OpenSet{}}
	add := func(o *OpenSet, source string) error {
		r, err := c.scoreRule(o, test, unknown)
		if err != nil {
			return err
		}
		r.Source = source
		rep.Results = append(rep.Results, r)
		return nil
	}
	for _, m := range OpenSetMethods {
		o, err := c.FitOpenSet(m, train, valid, frr)
		if err != nil {
			return nil, err
		}
		rep.rules[m] = o
		if err := add(o, "fit"); err != nil {
			return nil, err
		}
	}
	if c.OpenSet != nil {
		if err := add(c.OpenSet, OpenSetFile); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

func (c *Classifier) scoreRule(o *OpenSet, test, unknown *SplitScores) (OpenSetResult, error) {
	ks, us := o.Scores(test), o.Scores(unknown)
	r := OpenSetResult{Method: o.Method, AUROC: AUROC(ks, us), Threshold: o.Threshold, FRR: o.FRR}
	K := len(c.Labels)
	closed, open := make([]int, len(ks)), make([]int, len(ks))
	for i, s := range ks {
		closed[i] = Argmax(test.Probs[i*K : (i+1)*K])
		open[i] = closed[i]
		if !o.Known(s) {
			open[i] = K // the "unknown" column
			r.RejectedKnown++
		}
	}
	for _, s := range us {
		if !o.Known(s) {
			r.RejectedUnknown++
		}
	}
	r.RejectedKnown /= float64(len(ks))
	r.RejectedUnknown /= float64(len(us))
	var err error
	if r.MacroF1, err = knownMacroF1(test.Labels, open, K); err != nil {
		return r, err
	}
	r.ClosedMacroF1, err = knownMacroF1(test.Labels, closed, K)
	return r, err
}

// knownMacroF1 is the mean F1 of the known classes (0..K-1) that have test
// flows; predictions may be K (unknown), which only costs recall.
func knownMacroF1(labels, preds []int, K int) (float64, error) {
	rep, err := metric.Report(labels, preds, K+1, nil)
	if err != nil {
		return 0, err
	}
	sum, n := 0.0, 0
	for k := 0; k < K; k++ {
		if rep.PerClass[k].Support > 0 {
			sum += rep.PerClass[k].F1
			n++
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: no known test flows", ErrData)
	}
	return sum / float64(n), nil
}
