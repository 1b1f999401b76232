package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/classify"
	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
	"github.com/trafficgpt/trafficgpt/internal/sample"
)

// DefaultClassify is the shape `classify --early 3` runs with a tiny
// classifier at --len 256.
const DefaultClassify = "random:tiny:256@3"

// Options choose what Run measures.
type Options struct {
	Capture string   // capture for the tokenizer ("": the largest shipped demo capture)
	Quick   bool     // a one-minute version: Context 1024, GenPos 2000, Configs small, Repeats 1
	Context int      // training context length
	GenPos  int      // the far generation position
	Configs []string // model presets to time
	// Classification rows: classifiers (classify.ParseBenchSpecs), the
	// captures they label, passes over them, the curve (PNG) and table
	// (Markdown) files to write ("": none); ClassifyOnly skips the rest.
	Classify, ClassifyInput string
	Repeats                 int
	Curve, Table            string
	ClassifyOnly            bool
	// Row (may be nil) sees each row as it is measured.
	Row func(Row)
}

// Row is one line of the table.
type Row struct{ What, Value, Note string }

// Report is the table of a run.
type Report struct{ Rows []Row }

// quick is o with Quick applied.
func (o Options) quick() Options {
	if o.Quick {
		o.Context, o.GenPos, o.Configs, o.Repeats = 1024, 2000, []string{"small"}, 1
	}
	return o
}

// Validate checks the options before anything is measured: positive sizes,
// known presets, classifier specs that parse.
func (o Options) Validate() error {
	o = o.quick()
	if o.Repeats < 1 {
		return fmt.Errorf("--classify-repeats %d must be positive", o.Repeats)
	}
	if !o.ClassifyOnly {
		if o.Context < 1 || o.GenPos < 1 {
			return fmt.Errorf("--ctx %d and --gen-pos %d must be positive", o.Context, o.GenPos)
		}
		for _, name := range o.Configs {
			if _, err := model.Preset(name); err != nil {
				return err
			}
		}
	}
	if _, err := classify.ParseBenchSpecs(o.Classify); err != nil {
		return fmt.Errorf("--classify %v", err)
	}
	return nil
}

// Run measures what o chooses (see Validate for what it checks first).
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.quick()
	r := &Report{}
	add := func(what, value, note string) {
		r.Rows = append(r.Rows, Row{what, value, note})
		if o.Row != nil {
			o.Row(r.Rows[len(r.Rows)-1])
		}
	}
	if o.ClassifyOnly {
		return r, classifyRows(ctx, o, add)
	}
	// Tokenizer against tcpdump's copy rate on the same file.
	capture := o.Capture
	if capture == "" {
		capture = pcap.Largest("testdata/demo", "../shared/data/dev-v1/generated")
	}
	if capture != "" {
		if err := tokenizeRows(ctx, capture, add); err != nil {
			return r, err
		}
	}
	// sgemm, the reference for training throughput.
	// The best of three probes: one probe swings with whatever else runs.
	gf := 0.0
	for i := 0; i < 3; i++ {
		gf = max(gf, model.MeasureGFLOPS(1024, time.Second))
	}
	add("sgemm 1024^3", fmt.Sprintf("%.0f GFLOP/s", gf), fmt.Sprintf("(%s, %d threads)", model.Backend(), model.Threads()))
	// Training steps.
	for _, name := range o.Configs {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		c, err := model.Preset(name)
		if err != nil {
			return r, err
		}
		tps, gfl, err := model.BenchTrainStep(c, o.Context)
		if err != nil {
			return r, fmt.Errorf("bench %s: %w", name, err)
		}
		add(fmt.Sprintf("train %s, T=%d", name, o.Context), fmt.Sprintf("%.0f tokens/s", tps),
			fmt.Sprintf("(%.0f GFLOP/s = %.0f%% of sgemm)", gfl, 100*gfl/gf))
	}
	// Recurrent generation: cost per token near the start and far out.
	c, _ := model.Preset("small")
	near, far, err := model.BenchStep(ctx, c, 100, o.GenPos)
	if err != nil {
		return r, err
	}
	add("generate small, position 100", fmt.Sprintf("%.0f tokens/s", near), "(batch 1)")
	add(fmt.Sprintf("generate small, position %d", o.GenPos), fmt.Sprintf("%.0f tokens/s", far), fmt.Sprintf("(%.2fx the rate at 100)", far/near))
	// Batched sampling end to end (grammar, rules, top-k, model): the
	// same flows at batch 1 and batch 8.
	flows := 32
	if o.Quick {
		flows = 4
	}
	var rate [2]float64
	for i, batch := range []int{1, 8} {
		st, err := sample.Bench(ctx, c, batch, flows)
		if err != nil {
			return r, err
		}
		rate[i] = st.TokensPerSecond()
		add(fmt.Sprintf("sample small, batch %d", batch), fmt.Sprintf("%.0f tokens/s", rate[i]),
			fmt.Sprintf("(%d flows of <= 4 packets, %.1f busy rows per step, %.0f%% of the rows stepped busy)", flows,
				float64(st.RowSteps)/float64(max(st.Steps, 1)), 100*float64(st.Tokens)/float64(max(st.RowSteps, 1))))
	}
	add("sample small, batch 8 / batch 1", fmt.Sprintf("%.2fx", rate[1]/rate[0]), "(random weights, top-k 40)")
	// At the paper shape a step reads 352 MB of weights, once for all the
	// rows: batching pays most there.
	if !o.Quick {
		pc, _ := model.Preset("paper")
		one, eight, err := model.BenchStepBatch(ctx, pc, 4, 4)
		if err != nil {
			return r, err
		}
		add("generate paper, batch 1", fmt.Sprintf("%.1f tokens/s", one), "(model.Step, random weights)")
		add("generate paper, batch 8", fmt.Sprintf("%.1f tokens/s", eight), fmt.Sprintf("(%.2fx batch 1)", eight/one))
	}
	if err := classifyRows(ctx, o, add); err != nil {
		return r, err
	}
	add("peak memory", fmt.Sprintf("%.0f MB", float64(model.PeakRSS())/1e6), "(VmHWM of this process)")
	return r, nil
}

// tokenizeRows times the tokenizer on capture, and tcpdump copying it when
// tcpdump is on PATH.
func tokenizeRows(ctx context.Context, capture string, add func(what, value, note string)) error {
	data, err := os.ReadFile(capture)
	if err != nil {
		return err
	}
	best, err := codec.BenchTokenize(ctx, data, 5)
	if err != nil {
		return fmt.Errorf("%s: %w", capture, err)
	}
	mbs := float64(len(data)) / best.Seconds() / 1e6
	add("tokenize", fmt.Sprintf("%.0f MB/s", mbs), fmt.Sprintf("(%s, %.1f MB, lossless check on, 1 core)", filepath.Base(capture), float64(len(data))/1e6))
	td, err := exec.LookPath("tcpdump")
	if err != nil {
		return nil
	}
	tbest := time.Duration(1 << 62)
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		if err := exec.CommandContext(ctx, td, "-r", capture, "-w", "/dev/null").Run(); err != nil {
			break
		}
		tbest = min(tbest, time.Since(t0))
	}
	tmbs := float64(len(data)) / tbest.Seconds() / 1e6
	add("tcpdump -r X -w /dev/null", fmt.Sprintf("%.0f MB/s", tmbs), fmt.Sprintf("(tokenize/tcpdump = %.2f; tcpdump's time includes its start-up)", mbs/tmbs))
	return nil
}

// classifyRows adds the classification rows and writes the trade-off table
// and curve.
func classifyRows(ctx context.Context, o Options, add func(what, value, note string)) error {
	specs, err := classify.ParseBenchSpecs(o.Classify)
	if err != nil || len(specs) == 0 {
		return err
	}
	if _, err := os.Stat(o.ClassifyInput); err != nil && !o.ClassifyOnly {
		// The default input is the repository's demo captures: elsewhere
		// the other rows still run.
		add("classify", "skipped", fmt.Sprintf("(no captures: %v; --classify-input DIR)", err))
		return nil
	}
	crows, ncap, err := classify.Bench(ctx, specs, o.ClassifyInput, o.Repeats)
	if err != nil {
		return err
	}
	for _, r := range crows {
		add(fmt.Sprintf("classify %s, --early %d", r.Spec.Name, r.Spec.Early), fmt.Sprintf("%.0f flows/s", r.Rate.FlowsPerSec()),
			fmt.Sprintf("(%.0f tokens/s, %.0f flows/CPU-s; %d flows of %d captures in %s; len %d, %s; load %s)", r.Rate.TokensPerSec(),
				r.Rate.FlowsPerCPUSec(), r.Rate.Flows/r.Rate.Repeats, ncap, o.ClassifyInput, r.Len, r.View, LoadAverage()))
	}
	if o.Table == "" && o.Curve == "" {
		return nil
	}
	var md strings.Builder
	if err := classify.WriteBenchTable(&md, o.Curve, crows, o.ClassifyInput, LoadAverage()); err != nil {
		return err
	}
	if o.Table != "" {
		return atomicfile.WriteFile(o.Table, []byte(md.String()))
	}
	return nil
}

// LoadAverage is /proc/loadavg's first three fields ("unknown" elsewhere).
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// WriteText prints the table: benchmark, result and note columns aligned
// (nothing when there are no rows).
func (r *Report) WriteText(w io.Writer) error {
	if len(r.Rows) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "benchmark\tresult\tnote\n")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", row.What, row.Value, row.Note)
	}
	return tw.Flush()
}
