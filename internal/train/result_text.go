package train

import (
	"fmt"
	"io"

	"github.com/trafficgpt/trafficgpt/internal/model"
)

// WriteText prints what a run of job made (the model directory job.Dir):
// steps and tokens, how to continue a stopped run on data (the dataset
// directory), losses, throughput against sgemm (GFLOP/s on this machine),
// the all-reduce share of a data-parallel run, memory and files.
func (r *Result) WriteText(w io.Writer, job Job, data string, sgemm float64) {
	gflops := r.FLOPsPerToken * r.TokensPerSec / 1e9
	fmt.Fprintf(w, "%s: step %d of %d (this run from step %d), %d tokens in total\n", job.Dir, r.Step, job.Options.Steps, r.StartStep, r.Tokens)
	if r.Stopped != "" {
		fmt.Fprintf(w, "  stopped: %s; continue with: trafficgpt pretrain --data %s -o %s --resume\n", r.Stopped, data, job.Dir)
	}
	fmt.Fprintf(w, "  train loss %.4f (last step)\n", r.TrainLoss)
	if v := r.Valid; v != nil {
		fmt.Fprintf(w, "  valid %s\n", v.String())
	}
	fmt.Fprintf(w, "  throughput %.0f tokens/s = %.1f GFLOP/s (%.3g GFLOP/token) = %.2f of sgemm (%.1f GFLOP/s, 1024^3, best probe of this run, %s)\n",
		r.TokensPerSec, gflops, r.FLOPsPerToken/1e9, gflops/max(sgemm, 1e-9), sgemm, model.Backend())
	if c := job.Comm; c != nil && c.Size() > 1 {
		fmt.Fprintf(w, "  data-parallel over %d ranks: gradient all-reduce %.1f s of %.1f s training (%.1f%%)\n",
			c.Size(), r.CommSeconds, r.TrainSeconds, 100*r.CommSeconds/max(r.TrainSeconds, 1e-9))
	}
	fmt.Fprintf(w, "  memory estimate %.2f GiB; files: %s/{%s,%s,%s,%s,%s}\n", float64(r.PeakMemEstimate)/(1<<30), job.Dir,
		ModelFile, StateFile, ConfigFile, LogFile, PlotFile)
}
