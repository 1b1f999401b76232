package suite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/classify"
	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/metric"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// Options configure Run.
type Options struct {
	Spec  *Spec
	Out   string // output folder (created)
	Base  string // pre-trained model (directory or .safetensors); "" skips the probe and fine-tune rows
	Quick bool   // recorded in the report (the caller applies Spec.Quick)
	Jobs  int    // files tokenized in parallel by dataset builds
	Keep  bool   // keep the budget datasets and classifiers under OUT/TASK/work
	// Fresh ignores the runs of an earlier OUT/suite.json; without it a run
	// whose task dataset, budget, seed, method and settings (the model's
	// hash included) match an earlier one is taken from it, not repeated.
	Fresh bool
	// Progress is called after every run with the runs done, their total
	// and what just finished (may be nil).
	Progress func(done, total int, what string)
	Warn     func(string) // non-fatal notes (may be nil)
}

// Run scores every task of the spec and writes the report into o.Out (see
// the package documentation). The report is rewritten after every run, so
// an interrupted suite leaves the runs so far (Complete false).
func Run(ctx context.Context, o Options) (*Report, error) {
	s := o.Spec
	if o.Warn == nil {
		o.Warn = func(string) {}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	r := &Report{Format: ReportFormat, Spec: *s, Base: o.Base, Quick: o.Quick, Started: time.Now().UTC().Format(time.RFC3339)}
	methods := s.Methods
	if o.Base == "" {
		methods = slices.DeleteFunc(slices.Clone(methods), needsBase)
	}
	r.setMethods(methods, o.Base != "")
	scratchCfg, err := scratchConfig(s, o.Base)
	if err != nil {
		return nil, err
	}
	r.ScratchConfig = scratchCfg
	if o.Base != "" {
		if r.BaseSHA256, err = fileSHA256(modelFile(o.Base)); err != nil {
			return nil, fmt.Errorf("suite: --base: %w", err)
		}
	}
	var previous []Run1
	if !o.Fresh {
		previous = readRuns(filepath.Join(o.Out, "suite.json"))
	}
	// Until a run is taken again (reused, kept, or its task's rows
	// written), it waits in Other: an interrupted run loses nothing.
	r.Other = slices.Clone(previous)
	total := len(s.Tasks) * len(s.Budgets) * len(s.Seeds) * len(methods)
	done := 0
	start := time.Now()
	flush := func() {
		r.Seconds = time.Since(start).Seconds()
		if err := r.write(o.Out); err != nil {
			o.Warn(fmt.Sprintf("writing the report: %v", err))
		}
	}
	flush() // the settings, before the first run
	for ti := range s.Tasks {
		t := &s.Tasks[ti]
		tr := &TaskReport{Name: t.Name, Note: t.Note}
		r.Tasks = append(r.Tasks, tr)
		ts := &taskRun{o: o, s: s, t: t, r: r, tr: tr, methods: methods, cfg: scratchCfg,
			dir: filepath.Join(o.Out, t.Name), previous: previous}
		err := ts.run(ctx, func(what string) {
			done++
			flush()
			if o.Progress != nil {
				o.Progress(done, total, what)
			}
		})
		if err != nil {
			flush()
			return r, fmt.Errorf("suite: task %s: %w", t.Name, err)
		}
		r.setMethods(methods, o.Base != "")
		if err := writeTask(o.Out, r, tr); err != nil {
			return r, err
		}
		if err := writeMarkdown(filepath.Join(o.Out, "suite.md"), r); err != nil {
			return r, err
		}
	}
	r.Complete = true
	r.Other = outside(r.Other, s)
	flush()
	if err := writeMarkdown(filepath.Join(o.Out, "suite.md"), r); err != nil {
		return r, err
	}
	return r, nil
}

// scratchConfig is the from-scratch architecture: the base model's (the same
// network from random weights), else the spec's preset.
func scratchConfig(s *Spec, base string) (model.Config, error) {
	if base == "" {
		return model.Preset(s.Config)
	}
	m, _, err := model.Load(modelFile(base))
	if err != nil {
		return model.Config{}, fmt.Errorf("suite: --base: %w", err)
	}
	c := m.Config
	c.Classes = 0
	return c, nil
}

func modelFile(path string) string {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return filepath.Join(path, classify.ModelFile)
	}
	return path
}

type taskRun struct {
	o       Options
	s       *Spec
	t       *Task
	r       *Report
	tr      *TaskReport
	methods []string
	cfg     model.Config
	dir     string
	ds      *dataset.Dataset
	feats   [][][]float64 // train, valid, test: flow features
	labels  [3][]int      // train, valid, test: label ids
	k       int
	// previous are an earlier report's runs, reused when they match.
	previous []Run1
}

// settings describes what, besides the data, decides a method's result.
func (ts *taskRun) settings(method string) string {
	s := ts.s
	switch method {
	case Forest:
		return fmt.Sprintf("trees=%d packets=%d", s.Trees, s.Packets)
	case NN1:
		return fmt.Sprintf("packets=%d log", s.Packets)
	case KNN:
		return fmt.Sprintf("packets=%d log k=%v", s.Packets, s.KValues)
	}
	net := fmt.Sprintf("len=%d epochs=%d patience=%d batch=%d time_limit=%s", s.Len, s.Epochs, s.Patience, s.Batch,
		time.Duration(s.TimeLimit))
	if method == Scratch {
		cfg, _ := json.Marshal(ts.cfg)
		sum := sha256.Sum256(cfg)
		return net + " config=" + hex.EncodeToString(sum[:6])
	}
	return net + " base=" + ts.r.BaseSHA256[:12]
}

// reuse finds an earlier run of the same task data, budget, seed, method
// and settings.
func (ts *taskRun) reuse(run Run1) (Run1, bool) {
	for _, p := range ts.previous {
		if p.Task == run.Task && p.Budget == run.Budget && p.Seed == run.Seed && p.Method == run.Method &&
			p.DatasetHash == run.DatasetHash && p.Settings == run.Settings && p.TrainFlows == run.TrainFlows && p.SameAs == "" {
			p.Reused = true
			return p, true
		}
	}
	return Run1{}, false
}

func (ts *taskRun) run(ctx context.Context, step func(string)) error {
	t0 := time.Now()
	if err := ts.build(ctx); err != nil {
		return err
	}
	defer ts.ds.Close()
	ts.tr.BuildSeconds = time.Since(t0).Seconds()
	t0 = time.Now()
	var err error
	ts.feats, err = classify.SplitFeatures(ctx, ts.ds, []string{"train", "valid", "test"},
		classify.BaselineOptions{Packets: ts.s.Packets})
	if err != nil {
		return err
	}
	ts.tr.FeatureSeconds = time.Since(t0).Seconds()
	ts.tr.Features = classify.BaselineFeatureNames(ts.s.Packets)
	for si, name := range []string{"train", "valid", "test"} {
		sp, _ := ts.ds.Split(name)
		ts.labels[si] = make([]int, sp.Len())
		for i := range ts.labels[si] {
			ts.labels[si][i] = int(sp.Meta(i).Label)
		}
	}
	ts.k = len(ts.ds.Manifest().Labels)
	for _, seed := range ts.s.Seeds {
		perm := ts.permutation(seed)
		var prev []int
		var prevBudget Budget
		for _, b := range ts.s.Budgets {
			keep := ts.subsample(perm, b)
			if prev != nil && slices.Equal(keep, prev) {
				// Every class has at most the smaller budget's flows: the
				// same training set, so the same numbers.
				for _, run := range ts.r.Runs {
					if run.Task == ts.t.Name && run.Seed == seed && run.Budget == prevBudget {
						run.Budget = b
						run.SameAs = prevBudget.String()
						ts.r.add(run)
						step(fmt.Sprintf("%s budget %s seed %d %s (same flows as budget %s)", ts.t.Name, b, seed, run.Method, prevBudget))
					}
				}
				continue
			}
			if err := ts.budget(ctx, seed, b, keep, step); err != nil {
				return err
			}
			prev, prevBudget = keep, b
		}
	}
	// Methods not run this time keep their earlier runs on the same data,
	// so a report can grow: the baselines once, the base's rows per model.
	for _, p := range ts.previous {
		if p.Task == ts.t.Name && p.DatasetHash == ts.tr.DatasetHash && !slices.Contains(ts.methods, p.Method) &&
			slices.Contains(ts.s.Seeds, p.Seed) && slices.Contains(ts.s.Budgets, p.Budget) {
			p.Reused = true
			ts.r.add(p)
		}
	}
	return nil
}

// setMethods sets the methods of the tables: those run and those with
// runs kept from an earlier report, in table order, and the note on the
// rows skipped for want of a base.
func (r *Report) setMethods(run []string, base bool) {
	have := map[string]bool{}
	for _, m := range run {
		have[m] = true
	}
	for _, p := range r.Runs {
		have[p.Method] = true
	}
	r.Methods = nil
	for _, m := range AllMethods {
		if have[m] {
			r.Methods = append(r.Methods, m)
		}
	}
	r.Notes = nil
	if !base && slices.Contains(r.Spec.Methods, Probe) && !have[Probe] || !base && slices.Contains(r.Spec.Methods, Finetune) && !have[Finetune] {
		r.Notes = append(r.Notes, "no --base model: the linear probe and fine-tune rows are skipped")
	}
}

// permutation is, per class, a seeded shuffle of the class's train flows;
// a budget b takes each class's first b, so smaller budgets are subsets of
// larger ones (for one seed).
func (ts *taskRun) permutation(seed uint64) [][]int {
	byClass := make([][]int, ts.k)
	for i, y := range ts.labels[0] {
		if y >= 0 && y < ts.k {
			byClass[y] = append(byClass[y], i)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x5717e))
	for _, c := range byClass {
		rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	}
	return byClass
}

// subsample returns the sorted train indices of budget b.
func (ts *taskRun) subsample(perm [][]int, b Budget) []int {
	var keep []int
	for _, c := range perm {
		n := len(c)
		if b != All {
			n = min(n, int(b))
		}
		keep = append(keep, c[:n]...)
	}
	sort.Ints(keep)
	return keep
}

// budget scores every method on one train subset.
func (ts *taskRun) budget(ctx context.Context, seed uint64, b Budget, keep []int, step func(string)) error {
	name := fmt.Sprintf("b%s-s%d", b, seed)
	work := filepath.Join(ts.dir, "work", name)
	if !ts.o.Keep {
		defer os.RemoveAll(work)
	}
	base := Run1{Task: ts.t.Name, Budget: b, Seed: seed, TrainFlows: len(keep), DatasetHash: ts.tr.DatasetHash}
	classes := 0
	for _, c := range ts.permutationCounts(keep) {
		if c > 0 {
			classes++
		}
	}
	base.FlowsPerClass = float64(len(keep)) / float64(max(classes, 1))
	var subset string
	for _, m := range ts.methods {
		if err := ctx.Err(); err != nil {
			return err
		}
		run := base
		run.Method = m
		run.Settings = ts.settings(m)
		if p, ok := ts.reuse(run); ok {
			ts.r.add(p)
			step(fmt.Sprintf("%s budget %s seed %d %s: test macro-F1 %.3f (from the earlier report)", ts.t.Name, b, seed, m, p.TestF1))
			continue
		}
		t0 := time.Now()
		var err error
		switch m {
		case Forest, NN1, KNN:
			err = ts.classical(&run, keep)
		default:
			if subset == "" {
				subset = filepath.Join(work, "data")
				if _, err := dataset.Subset(subset, ts.ds, map[string][]int{"train": keep}); err != nil {
					return err
				}
			}
			err = ts.network(ctx, &run, subset, filepath.Join(work, m))
		}
		if err != nil {
			return fmt.Errorf("budget %s seed %d %s: %w", b, seed, m, err)
		}
		run.Seconds = time.Since(t0).Seconds()
		ts.r.add(run)
		step(fmt.Sprintf("%s budget %s seed %d %s: test macro-F1 %.3f", ts.t.Name, b, seed, m, run.TestF1))
	}
	return nil
}

func (ts *taskRun) permutationCounts(keep []int) []int {
	n := make([]int, ts.k)
	for _, i := range keep {
		if y := ts.labels[0][i]; y >= 0 && y < ts.k {
			n[y]++
		}
	}
	return n
}

// classical fits the forest or a nearest-neighbour classifier on the
// subset's flow features; k-NN takes the k with the best valid macro-F1.
func (ts *taskRun) classical(run *Run1, keep []int) error {
	X := make([][]float64, len(keep))
	y := make([]int, len(keep))
	for j, i := range keep {
		X[j], y[j] = ts.feats[0][i], ts.labels[0][i]
	}
	var predict func(X [][]float64) []int
	switch run.Method {
	case Forest:
		f, err := metric.Fit(X, y, ts.k, metric.ForestOptions{Trees: ts.s.Trees, Seed: run.Seed})
		if err != nil {
			return err
		}
		predict = f.PredictAll
	case NN1:
		m, err := metric.FitKNN(X, y, ts.k, metric.KNNOptions{K: 1, Log: true})
		if err != nil {
			return err
		}
		predict = m.PredictAll
	case KNN:
		best, bestF1 := 0, -1.0
		for _, k := range ts.s.KValues {
			if k > len(X) {
				break
			}
			m, err := metric.FitKNN(X, y, ts.k, metric.KNNOptions{K: k, Log: true})
			if err != nil {
				return err
			}
			rep, err := metric.Report(ts.labels[1], m.PredictAll(ts.feats[1]), ts.k, nil)
			if err != nil {
				return err
			}
			if rep.MacroF1 > bestF1 {
				best, bestF1 = k, rep.MacroF1
			}
		}
		if best == 0 {
			best = len(X)
		}
		m, err := metric.FitKNN(X, y, ts.k, metric.KNNOptions{K: best, Log: true})
		if err != nil {
			return err
		}
		predict = m.PredictAll
		run.Param = fmt.Sprintf("k=%d", best)
	}
	for si, dst := range []*float64{&run.ValidF1, &run.TestF1} {
		rep, err := metric.Report(ts.labels[si+1], predict(ts.feats[si+1]), ts.k, nil)
		if err != nil {
			return err
		}
		*dst = rep.MacroF1
		if si == 1 {
			run.TestAcc = rep.Accuracy
		}
	}
	return nil
}

// network trains a classifier on the subset dataset (early stopping on
// valid) and scores its best epoch on test.
func (ts *taskRun) network(ctx context.Context, run *Run1, data, dir string) error {
	opt := classify.DefaultOptions()
	opt.Context, opt.Epochs, opt.Patience, opt.Batch, opt.Seed = ts.s.Len, ts.s.Epochs, ts.s.Patience, ts.s.Batch, run.Seed
	opt.TimeLimit = time.Duration(ts.s.TimeLimit)
	if ts.s.Pool != "" {
		opt.Pool = ts.s.Pool
	}
	if run.Method == Finetune {
		opt.LR = ts.s.LR
	}
	job := classify.Job{Dir: dir, Data: data, Options: opt, Warn: func(w string) {
		if !strings.Contains(w, "has no train flows") { // classes dropped from every split
			ts.o.Warn(w)
		}
	}}
	switch run.Method {
	case Scratch:
		job.Options.FromScratch, job.Options.Config = true, ts.cfg
	case Probe:
		job.Options.Freeze, job.Pretrained = true, ts.o.Base
	case Finetune:
		job.Pretrained = ts.o.Base
	}
	res, err := classify.Finetune(ctx, job)
	if err != nil {
		return err
	}
	run.ValidF1 = res.BestF1
	run.Param = fmt.Sprintf("epoch %d of %d", res.BestEpoch, res.Epochs)
	if res.Stopped != "" {
		run.Param += " (" + res.Stopped + ")"
	}
	c, err := classify.Load(dir)
	if err != nil {
		return err
	}
	sub, err := dataset.Open(data)
	if err != nil {
		return err
	}
	defer sub.Close()
	mapping, err := c.CheckDataset(sub)
	if err != nil {
		return err
	}
	test, err := sub.Split("test")
	if err != nil {
		return err
	}
	p, err := c.Evaluate(ctx, test, mapping, opt.EvalBatch, nil)
	if err != nil {
		return err
	}
	rep, err := metric.Report(p.Labels, p.Preds, len(c.Labels), c.Labels)
	if err != nil {
		return err
	}
	run.TestF1, run.TestAcc = rep.MacroF1, rep.Accuracy
	return nil
}

// build builds (or reuses, when its options match) the task's dataset in
// DIR/data and checks that every class has flows in train, valid and test;
// classes the spec excludes or short of MinPerClass in some split are
// dropped from all splits (DIR/data-classes), with a note.
func (ts *taskRun) build(ctx context.Context) error {
	t := ts.t
	o, err := t.BuildOptions()
	if err != nil {
		return err
	}
	dir := filepath.Join(ts.dir, "data")
	if ds, err := dataset.Open(dir); err == nil && sameBuild(ds.Manifest().Options, o) {
		ts.o.Warn(fmt.Sprintf("task %s: reusing the dataset in %s (same build options)", t.Name, dir))
		ts.ds = ds
	} else {
		if ds != nil {
			ds.Close()
		}
		if err == nil {
			// The suite's own dataset of an earlier spec: build it again
			// (runs on the old one are not reused: its hash differs).
			ts.o.Warn(fmt.Sprintf("task %s: %s was built with other options: building it again", t.Name, dir))
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
		}
		// The captures of each input, found as `dataset build` finds them.
		found, err := pcap.Find(t.Inputs)
		if err != nil {
			return err
		}
		var files []dataset.InputFileRoot
		for _, f := range found {
			files = append(files, dataset.InputFileRoot{Path: f.Path, Root: f.Root})
		}
		if len(files) == 0 {
			return fmt.Errorf("no capture files in %v", t.Inputs)
		}
		o.Jobs = ts.o.Jobs
		o.Warn = func(w string) {
			ts.tr.BuildWarnings = append(ts.tr.BuildWarnings, w)
			ts.o.Warn(fmt.Sprintf("task %s: %s", t.Name, w))
		}
		if _, err := dataset.Build(ctx, dir, files, o); err != nil {
			return err
		}
		if ts.ds, err = dataset.Open(dir); err != nil {
			return err
		}
	}
	m := ts.ds.Manifest()
	for _, name := range []string{"train", "valid", "test"} {
		if _, ok := m.Splits[name]; !ok {
			return fmt.Errorf("dataset %s has no %s split (it has %v): the suite needs train, valid and test", dir, name, m.SplitNames())
		}
	}
	var dropped []string
	keepClass := map[int32]bool{}
	excluded := map[string]bool{}
	for _, l := range t.ExcludeClasses {
		excluded[l] = true
	}
	for id, l := range m.Labels {
		if excluded[l] {
			dropped = append(dropped, l+" (excluded by the spec)")
			continue
		}
		ok := true
		for _, name := range []string{"train", "valid", "test"} {
			if m.Splits[name].PerClass[l] < t.MinPerClass {
				ok = false
			}
		}
		if ok {
			keepClass[int32(id)] = true
		} else {
			dropped = append(dropped, fmt.Sprintf("%s (train %d, valid %d, test %d)", l,
				m.Splits["train"].PerClass[l], m.Splits["valid"].PerClass[l], m.Splits["test"].PerClass[l]))
		}
	}
	if len(keepClass) < 2 {
		return fmt.Errorf("dataset %s: %d classes have at least %d flows in every split (need 2); dropped: %s",
			dir, len(keepClass), t.MinPerClass, strings.Join(dropped, ", "))
	}
	if len(dropped) > 0 {
		const show = 8 // suite.json lists them all
		more := ""
		if len(dropped) > show {
			more = fmt.Sprintf(" and %d more", len(dropped)-show)
		}
		ts.o.Warn(fmt.Sprintf("task %s: %d classes dropped (excluded, or fewer than %d flows in some split): %s%s",
			t.Name, len(dropped), t.MinPerClass, strings.Join(dropped[:min(show, len(dropped))], ", "), more))
		ts.tr.Dropped = dropped
		keep := map[string][]int{}
		for _, name := range m.SplitNames() {
			sp, _ := ts.ds.Split(name)
			keep[name] = []int{}
			for i := 0; i < sp.Len(); i++ {
				if keepClass[sp.Meta(i).Label] {
					keep[name] = append(keep[name], i)
				}
			}
		}
		filtered := filepath.Join(ts.dir, "data-classes")
		os.RemoveAll(filtered)
		if _, err := dataset.Subset(filtered, ts.ds, keep); err != nil {
			return err
		}
		ts.ds.Close()
		if ts.ds, err = dataset.Open(filtered); err != nil {
			return err
		}
		m = ts.ds.Manifest()
	}
	ts.tr.Dataset = ts.ds.Dir()
	ts.tr.DatasetHash = m.Hash()
	ts.tr.Splits = map[string]map[string]int{}
	for _, name := range []string{"train", "valid", "test"} {
		ts.tr.Splits[name] = m.Splits[name].PerClass
	}
	ts.tr.Classes = m.Labels
	ts.tr.AuditClean = m.Audit.Clean
	if !m.Audit.Clean {
		ts.o.Warn(fmt.Sprintf("task %s: the splits leak (%d files, %d 5-tuples, %d payloads in more than one split)",
			t.Name, m.Audit.FilesAcrossSplits, m.Audit.KeysAcrossSplits, m.Audit.PayloadsAcrossSplits))
	}
	return nil
}

// readRuns returns the runs of an earlier report at path (none if there is
// no readable one).
func readRuns(path string) []Run1 {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var r Report
	if json.Unmarshal(b, &r) != nil || r.Format != ReportFormat {
		return nil
	}
	return append(r.Runs, r.Other...)
}

// add appends a run to the report and takes its earlier copy, if any,
// out of Other.
func (r *Report) add(run Run1) {
	r.Runs = append(r.Runs, run)
	r.Other = slices.DeleteFunc(r.Other, func(p Run1) bool {
		return p.Task == run.Task && p.Budget == run.Budget && p.Seed == run.Seed && p.Method == run.Method &&
			p.DatasetHash == run.DatasetHash && p.Settings == run.Settings
	})
}

// outside returns the runs whose task, budget or seed this spec does not
// run.
func outside(runs []Run1, s *Spec) []Run1 {
	var out []Run1
	for _, p := range runs {
		in := slices.ContainsFunc(s.Tasks, func(t Task) bool { return t.Name == p.Task }) &&
			slices.Contains(s.Budgets, p.Budget) && slices.Contains(s.Seeds, p.Seed)
		if !in {
			out = append(out, p)
		}
	}
	return out
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sameBuild compares the options that decide a dataset's content.
func sameBuild(a, b dataset.BuildOptions) bool {
	a.Jobs, b.Jobs = 0, 0
	a.Files, b.Files = nil, nil
	a.Extra, b.Extra = nil, nil
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
