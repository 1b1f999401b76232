package classify

import (
	"encoding/json"
	"errors"
	"fmt"
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
	OpenSet    *OpenSet // the open-set rule of the classifier's directory (openset.json); nil: none
	dir        string
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
	c := &Classifier{Model: m, Meta: meta, dir: filepath.Dir(p)}
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
	if c.OpenSet, err = loadOpenSet(filepath.Dir(p), m); err != nil {
		return nil, err
	}
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
// tag, class probabilities and <cls> features (views valid during the
// call), in Add order. A batch's rows are as long as its longest flow needs
// (at most T: first T-1 tokens + <cls>): attention is causal, so the shorter
// padding changes no prediction and short flows cost what they hold.
type Batcher[Tag any] struct {
	m      *model.Model
	B, T   int
	flat   []uint16 // queued flows' tokens (at most T-1 each), back to back
	ends   []int    // end of each queued flow in flat
	tok    []int32
	pos    []int32
	tags   []Tag
	emit   func(tag Tag, probs, feats []float32) error
	Flows  int   // flows classified so far
	Tokens int64 // tokens run through the model (rows x their length)
}

// NewBatcher returns a batcher of batch flows for c.
func NewBatcher[Tag any](c *Classifier, batch int, emit func(tag Tag, probs, feats []float32) error) *Batcher[Tag] {
	T := c.Context
	batch = fitRows(c.Model, T, batch)
	return &Batcher[Tag]{m: c.Model, B: batch, T: T, tok: make([]int32, 0, batch*T), pos: make([]int32, batch),
		tags: make([]Tag, 0, batch), emit: emit}
}

// Add queues one flow's tokens (copied) with its tag.
func (b *Batcher[Tag]) Add(flow []uint16, tag Tag) error {
	b.flat = append(b.flat, flow[:min(len(flow), b.T-1)]...)
	b.ends = append(b.ends, len(b.flat))
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
	T, start := 0, 0
	for _, e := range b.ends {
		T = max(T, e-start+1)
		start = e
	}
	b.tok = b.tok[:n*T]
	start = 0
	for i, e := range b.ends {
		b.pos[i] = fillRow(b.tok[i*T:(i+1)*T:(i+1)*T], b.flat[start:e])
		start = e
	}
	_, probs, err := b.m.ForwardClassify(b.tok, n, T, b.pos[:n], nil)
	if err != nil {
		return err
	}
	feats := b.m.ClsFeatures()
	K, C := b.m.Config.Classes, b.m.Config.Width
	for i, tag := range b.tags {
		if err := b.emit(tag, probs[i*K:(i+1)*K:(i+1)*K], feats[i*C:(i+1)*C:(i+1)*C]); err != nil {
			return err
		}
	}
	b.Flows += n
	b.Tokens += int64(n * T)
	b.tags, b.flat, b.ends = b.tags[:0], b.flat[:0], b.ends[:0]
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
