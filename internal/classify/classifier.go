package classify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

// Files of a classifier directory.
const (
	ModelFile  = "model.safetensors"
	ConfigFile = "config.json"
	LogFile    = "finetune.jsonl"
	PlotFile   = "curve.png"
)

// Metadata keys of a classifier checkpoint (besides model.Save's).
const (
	MetaKind            = "kind"
	KindClassifier      = "classifier"
	MetaLabels          = "labels"
	MetaView            = "view"
	MetaFlow            = "flow"
	MetaContext         = "context"
	MetaMinPackets      = "min_packets"
	MetaMode            = "mode"
	MetaPretrained      = "pretrained"
	MetaDatasetPath     = "dataset_path"
	MetaDatasetHash     = "dataset_hash"
	MetaEpoch           = "epoch"
	MetaValidF1         = "valid_macro_f1"
	MetaFinetuneOptions = "finetune_options"
)

// Errors; each is wrapped with the details.
var (
	ErrNotClassifier = errors.New("classify: not a classifier")
	ErrLabels        = errors.New("classify: dataset labels unknown to the classifier")
	ErrView          = errors.New("classify: dataset view differs from the classifier's")
	ErrEmpty         = errors.New("classify: no flows")
	ErrData          = errors.New("classify: unusable dataset")
	ErrBaselineInput = errors.New("classify: baseline cannot re-read the dataset's captures")
)

// Classifier is a loaded classifier with what it needs to tokenize new
// captures the way its training data was.
type Classifier struct {
	Model      *model.Model
	Labels     []string    // class id -> name
	View       codec.View  // the training dataset's view
	Flow       flow.Config // the training dataset's flow settings
	Context    int         // T: first T-1 tokens + <cls>
	MinPackets int         // the training dataset's minimum packets per flow
	Meta       map[string]string
}

// modelPath resolves a model directory to its weights file.
func modelPath(path string) string {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return filepath.Join(path, ModelFile)
	}
	return path
}

// Load reads a classifier from its directory or its .safetensors file.
func Load(path string) (*Classifier, error) {
	p := modelPath(path)
	m, meta, err := model.Load(p)
	if err != nil {
		return nil, err
	}
	if meta[MetaKind] != KindClassifier || m.Config.Classes < 1 {
		kind := meta[MetaKind]
		if kind == "" {
			kind = "a pre-trained language model"
		}
		return nil, fmt.Errorf("%w: %s is %s (no classification head); fine-tune it first with trafficgpt finetune",
			ErrNotClassifier, p, kind)
	}
	c := &Classifier{Model: m, Meta: meta}
	bad := func(key string, err error) (*Classifier, error) {
		return nil, fmt.Errorf("%w: %s: metadata %q: %v", ErrNotClassifier, p, key, err)
	}
	if err := json.Unmarshal([]byte(meta[MetaLabels]), &c.Labels); err != nil {
		return bad(MetaLabels, err)
	}
	if len(c.Labels) != m.Config.Classes {
		return bad(MetaLabels, fmt.Errorf("%d names for %d classes", len(c.Labels), m.Config.Classes))
	}
	if err := json.Unmarshal([]byte(meta[MetaView]), &c.View); err != nil {
		return bad(MetaView, err)
	}
	if err := json.Unmarshal([]byte(meta[MetaFlow]), &c.Flow); err != nil {
		return bad(MetaFlow, err)
	}
	if c.Context, err = strconv.Atoi(meta[MetaContext]); err != nil || c.Context < 2 {
		return bad(MetaContext, fmt.Errorf("%q is not a context length >= 2", meta[MetaContext]))
	}
	if s := meta[MetaMinPackets]; s != "" {
		if c.MinPackets, err = strconv.Atoi(s); err != nil {
			return bad(MetaMinPackets, err)
		}
	}
	m.Train = false
	return c, nil
}

// fillRow writes one classification sample into row (length T): the flow's
// first T-1 tokens, <cls>, <pad>... (dataset.ClsLoader's layout). It returns
// the <cls> position.
func fillRow(row []int32, flow []uint16) int32 {
	T := len(row)
	k := min(len(flow), T-1)
	for t := 0; t < T; t++ {
		switch {
		case t < k:
			row[t] = int32(flow[t])
		case t == k:
			row[t] = int32(codec.CLS)
		default:
			row[t] = int32(codec.PAD)
		}
	}
	return int32(k)
}

// Batcher classifies flows Batch at a time: Add queues a flow (running the
// model when the batch is full), Flush runs the rest. emit gets each flow's
// tag and class probabilities (a view valid during the call), in Add order.
type Batcher[Tag any] struct {
	m      *model.Model
	B, T   int
	tok    []int32
	pos    []int32
	tags   []Tag
	emit   func(tag Tag, probs []float32) error
	Flows  int // flows classified so far
	Tokens int64
}

// NewBatcher returns a batcher of batch flows for c.
func NewBatcher[Tag any](c *Classifier, batch int, emit func(Tag, []float32) error) *Batcher[Tag] {
	batch = max(batch, 1)
	T := c.Context
	return &Batcher[Tag]{m: c.Model, B: batch, T: T, tok: make([]int32, batch*T), pos: make([]int32, batch),
		tags: make([]Tag, 0, batch), emit: emit}
}

// Add queues one flow's tokens (copied) with its tag.
func (b *Batcher[Tag]) Add(flow []uint16, tag Tag) error {
	n := len(b.tags)
	b.pos[n] = fillRow(b.tok[n*b.T:(n+1)*b.T:(n+1)*b.T], flow)
	b.tags = append(b.tags, tag)
	if len(b.tags) == b.B {
		return b.Flush()
	}
	return nil
}

// Flush classifies the queued flows.
func (b *Batcher[Tag]) Flush() error {
	n := len(b.tags)
	if n == 0 {
		return nil
	}
	_, probs, err := b.m.ForwardClassify(b.tok[:n*b.T], n, b.T, b.pos[:n], nil)
	if err != nil {
		return err
	}
	K := b.m.Config.Classes
	for i, tag := range b.tags {
		if err := b.emit(tag, probs[i*K:(i+1)*K:(i+1)*K]); err != nil {
			return err
		}
	}
	b.Flows += n
	b.Tokens += int64(n * b.T)
	b.tags = b.tags[:0]
	return nil
}

// Argmax is the index of the largest value (the first on ties).
func Argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// TopK returns the indices of the k largest values, largest first (ties by
// index).
func TopK(p []float32, k int) []int {
	k = min(k, len(p))
	idx := make([]int, 0, k)
	for len(idx) < k {
		best := -1
		for i, v := range p {
			taken := false
			for _, j := range idx {
				taken = taken || j == i
			}
			if !taken && (best < 0 || v > p[best]) {
				best = i
			}
		}
		idx = append(idx, best)
	}
	return idx
}

// FlowResult is the classification of one flow of a capture.
type FlowResult struct {
	ID        uint64 // flow index within the capture (dataset.FlowMeta.FlowID)
	Key       string // "proto client:port -> server:port" as captured (not masked)
	Packets   int    // all packets of the flow
	Class     int
	Prob      float32
	Probs     []float32 // all classes; valid during the callback only
	FirstNano int64
}

// CaptureOptions configure Capture.
type CaptureOptions struct {
	Batch      int // flows per forward pass (default 16)
	Early      int // > 0: decide from the first Early packets of each flow
	MinPackets int // skip flows with fewer packets; < 0: the classifier's
}

// Capture classifies the flows of one capture (pcap, pcapng, gzip) as they
// end and calls fn for each, in batches. It returns the number of flows
// classified; a capture without any flow is ErrEmpty.
func (c *Classifier) Capture(ctx context.Context, r io.Reader, o CaptureOptions, fn func(*FlowResult) error) (int, error) {
	if o.Batch <= 0 {
		o.Batch = 16
	}
	if o.MinPackets < 0 {
		o.MinPackets = c.MinPackets
	}
	view := c.View
	limit := c.Context // first T-1 tokens need at most T-1 packets
	if o.Early > 0 {
		limit = min(limit, o.Early)
	}
	if view.MaxPackets == 0 || view.MaxPackets > limit {
		view.MaxPackets = limit
	}
	type tag struct {
		id      uint64
		key     string
		packets int
		first   int64
	}
	var res FlowResult
	bt := NewBatcher(c, o.Batch, func(t tag, probs []float32) error {
		k := Argmax(probs)
		res = FlowResult{ID: t.id, Key: t.key, Packets: t.packets, Class: k, Prob: probs[k], Probs: probs, FirstNano: t.first}
		return fn(&res)
	})
	seen := 0
	_, err := codec.EncodeFlows(ctx, bufio.NewReaderSize(r, 1<<16), codec.EncodeOptions{Flow: c.Flow, View: view, KeepTrailing: true},
		func(ef *codec.EncodedFlow) error {
			seen++
			if ef.Packets < o.MinPackets {
				return nil
			}
			return bt.Add(ef.Tokens, tag{id: ef.ID, key: ef.Key.Directed(ef.FirstAToB), packets: ef.Packets, first: ef.FirstNs})
		})
	if err != nil {
		return bt.Flows, err
	}
	if err := bt.Flush(); err != nil {
		return bt.Flows, err
	}
	if seen == 0 {
		return 0, fmt.Errorf("%w: the capture holds no packets that form a flow", ErrEmpty)
	}
	return bt.Flows, nil
}
