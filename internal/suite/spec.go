package suite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/flow"
)

// ErrSpec marks a spec file that cannot be used.
var ErrSpec = errors.New("suite: bad spec")

// Budget is a label budget: labelled train flows per class; 0 is "all".
type Budget int

// All is the budget that keeps every train flow.
const All Budget = 0

// String is "all" or the number.
func (b Budget) String() string {
	if b == All {
		return "all"
	}
	return strconv.Itoa(int(b))
}

// MarshalJSON writes "all" or the number.
func (b Budget) MarshalJSON() ([]byte, error) {
	if b == All {
		return []byte(`"all"`), nil
	}
	return []byte(strconv.Itoa(int(b))), nil
}

// UnmarshalJSON reads a positive number or "all".
func (b *Budget) UnmarshalJSON(data []byte) error {
	if string(data) == `"all"` {
		*b = All
		return nil
	}
	n, err := strconv.Atoi(string(data))
	if err != nil || n <= 0 {
		return fmt.Errorf("budget %s: want a positive number of flows per class or \"all\"", data)
	}
	*b = Budget(n)
	return nil
}

// Duration is a time.Duration written as text ("10m", "90s") in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration text ("10m") or a number of seconds.
func (d *Duration) UnmarshalJSON(data []byte) error {
	var text string
	if err := json.Unmarshal(data, &text); err != nil {
		var sec float64
		if err := json.Unmarshal(data, &sec); err != nil {
			return fmt.Errorf("duration %s: want text like \"10m\" or seconds", data)
		}
		*d = Duration(sec * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(text)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Methods, in table order.
const (
	Forest   = "forest"
	NN1      = "1nn"
	KNN      = "knn"
	Scratch  = "scratch"
	Probe    = "probe"
	Finetune = "finetune"
)

// AllMethods lists every method in table order.
var AllMethods = []string{Forest, NN1, KNN, Scratch, Probe, Finetune}

// MethodTitle is a method's name in tables and plots.
var MethodTitle = map[string]string{
	Forest:   "random forest",
	NN1:      "1-NN",
	KNN:      "k-NN (k on valid)",
	Scratch:  "from scratch",
	Probe:    "linear probe (base)",
	Finetune: "fine-tuned (base)",
}

// needsBase reports whether a method starts from the base model.
func needsBase(m string) bool { return m == Probe || m == Finetune }

// Spec is a suite file: tasks and how to score them.
type Spec struct {
	Name     string   `json:"name"`
	Budgets  []Budget `json:"budgets"`  // train flows per class; "all"
	Seeds    []uint64 `json:"seeds"`    // one run per seed: subsample, forest, data order, head
	Methods  []string `json:"methods"`  // default AllMethods
	Len      int      `json:"len"`      // tokens per flow the model sees (--len)
	Epochs   int      `json:"epochs"`   // fine-tuning epochs (early stopping on valid)
	Patience int      `json:"patience"` // epochs without a better valid macro-F1 before stopping
	Batch    int      `json:"batch"`
	Pool     string   `json:"pool,omitempty"`        // what the classification head reads: mean or last ("": classify.DefaultPool of each method)
	LR       float64  `json:"finetune_lr,omitempty"` // peak learning rate of the finetune method (0: classify.DefaultLR)
	Config   string   `json:"config"`                // from-scratch architecture without a base: a model preset
	Packets  int      `json:"packets"`               // first packets per flow of the flow features
	Trees    int      `json:"trees"`                 // random forest size
	KValues  []int    `json:"k_values"`
	// TimeLimit stops a network's training after this long (keeping its
	// best epoch so far), e.g. "10m"; 0: none.
	TimeLimit Duration `json:"time_limit"`
	Tasks     []Task   `json:"tasks"`
}

// Task is one labelled dataset, built with dataset.Build. Inputs and a
// csv:FILE label source are relative to the spec file's folder.
type Task struct {
	Name        string   `json:"name"`
	Note        string   `json:"note,omitempty"`
	Inputs      []string `json:"inputs"`
	Labels      string   `json:"labels"` // dir, file or csv:FILE
	LabelColumn string   `json:"label_column,omitempty"`
	Split       string   `json:"split,omitempty"` // default train=0.6,valid=0.2,test=0.2
	Group       string   `json:"group,omitempty"` // file (default) or flow
	Presplit    bool     `json:"presplit,omitempty"`
	Seed        uint64   `json:"seed,omitempty"` // split seed (default 1)
	MinPackets  int      `json:"min_packets,omitempty"`
	MaxPerClass int      `json:"max_per_class,omitempty"`
	MinPerClass int      `json:"min_per_class,omitempty"` // drop classes with fewer flows in any split (default 1: a class must be in every split)
	// ExcludeClasses are labels dropped from every split (e.g. folders that
	// name a test condition, not a protocol).
	ExcludeClasses []string `json:"exclude_classes,omitempty"`
	Dedup          bool     `json:"dedup,omitempty"`
	Mask           string   `json:"mask,omitempty"` // codec.ParseMask; default addr+ports
	HeaderOnly     bool     `json:"header_only,omitempty"`
	MaxPayload     int      `json:"max_payload,omitempty"`
	MaxPackets     int      `json:"max_packets,omitempty"`
	MaxTokens      int      `json:"max_tokens,omitempty"`
}

// ReadSpec reads a spec file, fills defaults and resolves the tasks'
// relative paths against the file's folder (into absolute paths).
func ReadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSpec, path, err)
	}
	defaultTo(&s.Name, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
	// Absolute paths: the datasets record them, and the forest's features
	// re-read the captures from wherever the suite (or a rerun) is started.
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	for i := range s.Tasks {
		t := &s.Tasks[i]
		for j, in := range t.Inputs {
			if !filepath.IsAbs(in) {
				t.Inputs[j] = filepath.Join(dir, in)
			}
		}
		if f, ok := strings.CutPrefix(t.Labels, "csv:"); ok && !filepath.IsAbs(f) {
			t.Labels = "csv:" + filepath.Join(dir, f)
		}
	}
	if err := s.normalize(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSpec, path, err)
	}
	return &s, nil
}

// normalize fills defaults and checks the spec.
func (s *Spec) normalize() error {
	if len(s.Budgets) == 0 {
		s.Budgets = []Budget{5, 20, 100, All}
	}
	if len(s.Seeds) == 0 {
		s.Seeds = []uint64{1, 2, 3}
	}
	if len(s.Methods) == 0 {
		s.Methods = AllMethods
	}
	for _, m := range s.Methods {
		if _, ok := MethodTitle[m]; !ok {
			return fmt.Errorf("unknown method %q (have %s)", m, strings.Join(AllMethods, ", "))
		}
	}
	defaultTo(&s.Len, 256)
	defaultTo(&s.Epochs, 5)
	defaultTo(&s.Patience, 2)
	defaultTo(&s.Batch, 16)
	defaultTo(&s.Config, "small")
	defaultTo(&s.Packets, 20)
	defaultTo(&s.Trees, 100)
	if len(s.KValues) == 0 {
		s.KValues = []int{3, 5, 9, 15, 25}
	}
	if s.TimeLimit < 0 {
		return fmt.Errorf("time_limit %v is negative", time.Duration(s.TimeLimit))
	}
	if s.Len < 2 || s.Epochs < 1 || s.Patience < 0 || s.Batch < 1 || s.Packets < 1 || s.Trees < 1 {
		return fmt.Errorf("len %d, epochs %d, patience %d, batch %d, packets %d, trees %d: out of range",
			s.Len, s.Epochs, s.Patience, s.Batch, s.Packets, s.Trees)
	}
	for _, k := range s.KValues {
		if k < 2 {
			return fmt.Errorf("k_values: %d (k-NN needs k >= 2; 1-NN is its own method)", k)
		}
	}
	if len(s.Tasks) == 0 {
		return errors.New("no tasks")
	}
	seen := map[string]bool{}
	for i := range s.Tasks {
		t := &s.Tasks[i]
		if t.Name == "" || strings.ContainsAny(t.Name, `/\ `) || seen[t.Name] {
			return fmt.Errorf("task %d: name %q must be unique, non-empty, without spaces or slashes", i, t.Name)
		}
		seen[t.Name] = true
		if len(t.Inputs) == 0 {
			return fmt.Errorf("task %s: no inputs", t.Name)
		}
		if t.Labels == "" {
			return fmt.Errorf("task %s: needs labels (dir, file or csv:FILE)", t.Name)
		}
		if t.Split == "" && !t.Presplit {
			t.Split = "train=0.6,valid=0.2,test=0.2"
		}
		defaultTo(&t.Group, "file")
		defaultTo(&t.Seed, 1)
		defaultTo(&t.MinPackets, 1)
		defaultTo(&t.MinPerClass, 1)
		defaultTo(&t.Mask, "addr+ports")
		defaultTo(&t.LabelColumn, "app")
		if _, err := t.BuildOptions(); err != nil {
			return fmt.Errorf("task %s: %v", t.Name, err)
		}
	}
	return nil
}

// defaultTo sets *v to d when it is the zero value (the field was not in
// the spec).
func defaultTo[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// Quick shrinks the spec for a smoke run: the first seed, budgets 5, 20
// and all, the tiny model, 64 tokens, 2 epochs, 50 trees.
func (s *Spec) Quick() {
	s.Seeds = s.Seeds[:1]
	s.Budgets = []Budget{5, 20, All}
	s.Config = "tiny"
	s.Len = min(s.Len, 64)
	s.Epochs = min(s.Epochs, 2)
	s.Patience = 1
	s.Trees = min(s.Trees, 50)
}

// BuildOptions are the task's dataset.Build options (without Files, Jobs
// and callbacks).
func (t *Task) BuildOptions() (dataset.BuildOptions, error) {
	o := dataset.BuildOptions{Inputs: t.Inputs, Labels: t.Labels, LabelColumn: t.LabelColumn, Group: t.Group,
		Presplit: t.Presplit, Seed: t.Seed, MinPackets: t.MinPackets, MaxPerClass: t.MaxPerClass, Dedup: t.Dedup,
		Flow: flow.DefaultConfig(),
		// The suite drops classes short in a split itself; split warnings
		// reach the report through Warn.
		AcceptSplitWarnings: true, KeepTrailing: true}
	if !t.Presplit {
		sp, err := dataset.ParseSplit(t.Split)
		if err != nil {
			return o, err
		}
		o.Split = sp
	}
	m, err := codec.ParseMask(t.Mask)
	if err != nil {
		return o, err
	}
	if t.MaxPayload < 0 || t.MaxPackets < 0 || t.MaxTokens < 0 {
		return o, errors.New("view limits must not be negative")
	}
	o.View = codec.View{Mask: m, HeaderOnly: t.HeaderOnly, MaxPayload: t.MaxPayload, MaxPackets: t.MaxPackets, MaxTokens: t.MaxTokens}
	return o, nil
}

// Overrides change a spec for one run (eval suite's flags). The lists are
// comma-separated; an empty list, a zero number, an empty Config and a
// negative TimeLimit leave the spec's value.
type Overrides struct {
	Seeds, Budgets, Tasks, Methods string
	Config                         string // from-scratch architecture (a model preset)
	Len, Epochs                    int
	TimeLimit                      time.Duration // 0: none
}

// Override replaces the seeds, budgets, methods, config, length, epochs and
// time limit given in o, and keeps only the tasks it names.
func (s *Spec) Override(o Overrides) error {
	seeds, budgets, tasks, methods := o.Seeds, o.Budgets, o.Tasks, o.Methods
	if o.Config != "" {
		s.Config = o.Config
	}
	if o.Len > 0 {
		s.Len = o.Len
	}
	if o.Epochs > 0 {
		s.Epochs = o.Epochs
	}
	if o.TimeLimit >= 0 {
		s.TimeLimit = Duration(o.TimeLimit)
	}
	if seeds != "" {
		s.Seeds = nil
		for _, f := range strings.Split(seeds, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				return fmt.Errorf("--seeds %q: %v", seeds, err)
			}
			s.Seeds = append(s.Seeds, n)
		}
	}
	if budgets != "" {
		s.Budgets = nil
		for _, f := range strings.Split(budgets, ",") {
			var b Budget
			f = strings.TrimSpace(f)
			if f == "all" {
				f = `"all"`
			}
			if err := b.UnmarshalJSON([]byte(f)); err != nil {
				return fmt.Errorf("--budgets: %v", err)
			}
			s.Budgets = append(s.Budgets, b)
		}
	}
	if methods != "" {
		s.Methods = strings.Split(methods, ",")
		for _, m := range s.Methods {
			if _, ok := MethodTitle[m]; !ok {
				return fmt.Errorf("--methods: unknown method %q (have %s)", m, strings.Join(AllMethods, ", "))
			}
		}
	}
	if tasks != "" {
		var kept []Task
		for _, name := range strings.Split(tasks, ",") {
			found := false
			for _, t := range s.Tasks {
				if t.Name == name {
					kept, found = append(kept, t), true
				}
			}
			if !found {
				return fmt.Errorf("--tasks: no task %q in the spec", name)
			}
		}
		s.Tasks = kept
	}
	return nil
}
