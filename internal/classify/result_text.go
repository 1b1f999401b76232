package classify

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteText prints what a Finetune run into dir made: the classifier, its
// best epoch, class weights, time, open-set rule and files.
func (r *Result) WriteText(w io.Writer, dir string) {
	fmt.Fprintf(w, "%s: %s classifier, %d classes (%s)\n", dir, r.Mode, len(r.Labels), strings.Join(r.Labels, ", "))
	fmt.Fprintf(w, "  best epoch %d of %d: valid macro-F1 %.4f, accuracy %.4f\n", r.BestEpoch, r.Epochs, r.BestF1, r.Valid.Accuracy)
	if r.Stopped != "" {
		fmt.Fprintf(w, "  stopped: %s\n", r.Stopped)
	}
	var cw []string
	for i, l := range r.Labels {
		cw = append(cw, fmt.Sprintf("%s %.2f", l, r.Weights[i]))
	}
	fmt.Fprintf(w, "  class weights: %s\n", strings.Join(cw, ", "))
	fmt.Fprintf(w, "  %d train flows, %d steps, training %.1fs, total %s\n", r.TrainFlows, r.Steps, r.TrainSeconds,
		r.Elapsed.Round(time.Millisecond))
	if r.FeatureCut {
		fmt.Fprintf(w, "  the probe's features took half the time limit: the head trained on %d flows drawn at random from the train split\n", r.TrainFlows)
	}
	if o := r.OpenSet; o != nil {
		fmt.Fprintf(w, "  open-set rule: %s, threshold %.6g at %.1f%% false rejections of %d valid flows (%s)\n", o.Method, o.Threshold,
			100*o.FRR, o.ValidFlows, OpenSetFile)
	}
	fmt.Fprintf(w, "  files: %s/{%s,%s,%s,%s}\n", dir, ModelFile, ConfigFile, LogFile, PlotFile)
}

// Validate checks what a Job names (the options are checked by Finetune):
// a dataset and an output directory, and a pre-trained model exactly when
// not FromScratch. Its errors name the finetune command's flags.
func (j Job) Validate() error {
	switch {
	case j.Data == "" || j.Dir == "":
		return errors.New("need --data DIR and -o CLF")
	case j.Options.FromScratch && j.Pretrained != "":
		return errors.New("--from-scratch takes no --model")
	case !j.Options.FromScratch && j.Pretrained == "":
		return errors.New("need --model PRE (or --from-scratch)")
	}
	return nil
}
