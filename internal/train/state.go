package train

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

// Trainer state layouts. Version 2 is the whole checkpoint in one file, so
// one atomic rename commits it (see doc.go):
//
//	magic | u64 JSON length | JSON | u64 model length | model (safetensors) |
//	optimizer state | CRC-32C of everything before (u32)
//
// Version 1 (magic | u64 | JSON | optimizer) kept the model in
// model.safetensors only; it is still resumed from.
const (
	stateMagic   = "tgpt-trainer-2\n"
	stateMagicV1 = "tgpt-trainer-1\n"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// State is the JSON part of trainer.state.
type State struct {
	Step        int             `json:"step"`
	Tokens      int64           `json:"tokens"`
	Elapsed     float64         `json:"elapsed_s"`
	TrainSecs   float64         `json:"train_s"`
	LastLoss    float64         `json:"last_loss"`
	Options     Options         `json:"options"`
	Config      model.Config    `json:"config"` // with the dropout override applied
	DatasetPath string          `json:"dataset_path"`
	DatasetHash string          `json:"dataset_hash"`
	Loader      json.RawMessage `json:"loader"`
	OptSteps    uint64          `json:"optimizer_steps"`

	opt   []byte // the optim.AdamW state
	model []byte // version 2: the model checkpoint (safetensors bytes)
}

// ReadState reads dir's trainer.state; errors wrap ErrResume and say what
// is missing or wrong.
func ReadState(dir string) (*State, error) {
	p := filepath.Join(dir, StateFile)
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(dir); err != nil {
				return nil, fmt.Errorf("%w: model directory %s does not exist", ErrResume, dir)
			}
			return nil, fmt.Errorf("%w: %s has no %s (not a pretrain run, or it never saved a checkpoint)", ErrResume, dir, StateFile)
		}
		return nil, fmt.Errorf("%w: %v", ErrResume, err)
	}
	v2 := len(b) >= len(stateMagic) && string(b[:len(stateMagic)]) == stateMagic
	if !v2 && (len(b) < len(stateMagicV1)+8 || string(b[:len(stateMagicV1)]) != stateMagicV1) {
		return nil, fmt.Errorf("%w: %s: not a trainer state", ErrResume, p)
	}
	if v2 {
		if len(b) < len(stateMagic)+8+8+4 {
			return nil, fmt.Errorf("%w: %s: truncated", ErrResume, p)
		}
		body := b[:len(b)-4]
		if got, want := crc32.Checksum(body, castagnoli), binary.LittleEndian.Uint32(b[len(b)-4:]); got != want {
			return nil, fmt.Errorf("%w: %s: CRC-32C %08x, stored %08x: %w", ErrResume, p, got, want, codec.ErrChecksum)
		}
		b = body
	}
	r := b[len(stateMagic):]
	n := binary.LittleEndian.Uint64(r)
	r = r[8:]
	if n > uint64(len(r)) {
		return nil, fmt.Errorf("%w: %s: truncated (JSON of %d bytes, %d left)", ErrResume, p, n, len(r))
	}
	var st State
	if err := json.Unmarshal(r[:n], &st); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrResume, p, err)
	}
	r = r[n:]
	if v2 {
		if len(r) < 8 {
			return nil, fmt.Errorf("%w: %s: truncated", ErrResume, p)
		}
		k := binary.LittleEndian.Uint64(r)
		r = r[8:]
		if k > uint64(len(r)) {
			return nil, fmt.Errorf("%w: %s: truncated (model of %d bytes, %d left)", ErrResume, p, k, len(r))
		}
		st.model, r = r[:k], r[k:]
	}
	st.opt = r
	return &st, nil
}

// compatible checks that o and data can continue st; differences that only
// break bit-exactness are returned as notes.
func (st *State) compatible(o Options, d Data) error {
	if c := o.ModelConfig(); c != st.Config {
		return fmt.Errorf("%w: the checkpoint is of another model config:\n  checkpoint: %s\n  asked for:  %s",
			ErrResume, mustJSON(st.Config), mustJSON(c))
	}
	if d.Hash != "" && st.DatasetHash != "" && d.Hash != st.DatasetHash {
		return fmt.Errorf("%w: the checkpoint was trained on dataset %s (manifest sha256 %.12s), not on %s (%.12s)",
			ErrResume, st.DatasetPath, st.DatasetHash, d.Path, d.Hash)
	}
	if o.Steps < st.Step {
		return fmt.Errorf("%w: the checkpoint is at step %d, past --steps %d", ErrResume, st.Step, o.Steps)
	}
	return nil
}

// notes lists option changes that make the resumed run differ from an
// uninterrupted one.
func (st *State) notes(o Options) []string {
	var out []string
	s := st.Options
	chk := func(name string, a, b any) {
		if a != b {
			out = append(out, fmt.Sprintf("%s changed from %v to %v: the run will not match an uninterrupted one", name, a, b))
		}
	}
	chk("context", s.Context, o.Context)
	chk("batch", s.Batch, o.Batch)
	chk("accum", s.Accum, o.Accum)
	chk("seed", s.Seed, o.Seed)
	chk("steps", s.Steps, o.Steps)
	chk("lr", s.LR, o.LR)
	chk("min lr", s.MinLR, o.MinLR)
	chk("warmup", s.Warmup, o.Warmup)
	chk("clip", s.Clip, o.Clip)
	chk("weight decay", s.WeightDecay, o.WeightDecay)
	return out
}

// encode is trainer.state's bytes.
func (st *State) encode() ([]byte, error) {
	js, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(stateMagic)
	binary.Write(&buf, binary.LittleEndian, uint64(len(js)))
	buf.Write(js)
	binary.Write(&buf, binary.LittleEndian, uint64(len(st.model)))
	buf.Write(st.model)
	buf.Write(st.opt)
	binary.Write(&buf, binary.LittleEndian, crc32.Checksum(buf.Bytes(), castagnoli))
	return buf.Bytes(), nil
}

// LogLine is one line of train.jsonl.
type LogLine struct {
	Kind         string   `json:"kind"` // "train" or "valid"
	Step         int      `json:"step"`
	Loss         float64  `json:"loss,omitempty"`
	LR           float64  `json:"lr,omitempty"`
	GradNorm     float64  `json:"grad_norm,omitempty"`
	Tokens       int64    `json:"tokens,omitempty"`
	TokensPerSec float64  `json:"tokens_per_s,omitempty"`
	Elapsed      float64  `json:"elapsed_s"`
	Valid        *Metrics `json:"valid,omitempty"`
}

// ReadLog reads dir's train.jsonl. A torn last line (no newline, not JSON:
// the run stopped while writing it) is ignored; any other line that is not
// JSON is an error naming the line (classify.ReadLog has the same rule).
func ReadLog(dir string) ([]LogLine, error) {
	b, err := os.ReadFile(filepath.Join(dir, LogFile))
	if err != nil {
		return nil, err
	}
	var out []LogLine
	for n := 1; len(b) > 0; n++ {
		line, rest, complete := bytes.Cut(b, []byte{'\n'})
		b = rest
		var l LogLine
		if err := json.Unmarshal(line, &l); err != nil {
			if !complete {
				break // a torn last line: the run was stopped while writing it
			}
			return out, fmt.Errorf("%s: line %d: %w", LogFile, n, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// rewriteLog keeps the lines up to step (inclusive) and returns them.
func rewriteLog(dir string, step int) ([]LogLine, error) {
	lines, err := ReadLog(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var keep []LogLine
	var buf bytes.Buffer
	for _, l := range lines {
		if l.Step <= step {
			keep = append(keep, l)
			buf.WriteString(mustJSON(l))
			buf.WriteByte('\n')
		}
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, LogFile), buf.Bytes()); err != nil {
		return nil, err
	}
	return keep, nil
}

func metaInt(meta map[string]string, k string) (int, error) {
	return strconv.Atoi(meta[k])
}

// resumable are the options a resumed run takes from its checkpoint unless
// they are given anew, by the names of the pretrain command's flags.
var resumable = []struct {
	name string
	take func(dst, src *Options)
}{
	{"config", func(d, s *Options) { d.Config = s.Config }},
	{"dropout", func(d, s *Options) { d.Dropout = s.Dropout }},
	{"ctx", func(d, s *Options) { d.Context = s.Context }},
	{"batch", func(d, s *Options) { d.Batch = s.Batch }},
	{"accum", func(d, s *Options) { d.Accum = s.Accum }},
	{"steps", func(d, s *Options) { d.Steps = s.Steps }},
	{"lr", func(d, s *Options) { d.LR = s.LR }},
	{"min-lr", func(d, s *Options) { d.MinLR = s.MinLR }},
	{"warmup", func(d, s *Options) { d.Warmup = s.Warmup }},
	{"clip", func(d, s *Options) { d.Clip = s.Clip }},
	{"weight-decay", func(d, s *Options) { d.WeightDecay = s.WeightDecay }},
	{"eval-every", func(d, s *Options) { d.EvalEvery = s.EvalEvery }},
	{"eval-batches", func(d, s *Options) { d.EvalBatches = s.EvalBatches }},
	{"save-every", func(d, s *Options) { d.SaveEvery = s.SaveEvery }},
	{"seed", func(d, s *Options) { d.Seed = s.Seed }},
	{"threads", func(d, s *Options) { d.Threads = s.Threads }},
}

// Resume is o with every option that given does not name taken from saved
// (the checkpoint's Options), so that "--resume" alone continues the same
// run. Options are named as the pretrain command's flags: config, dropout,
// ctx, batch, accum, steps, lr, min-lr, warmup, clip, weight-decay,
// eval-every, eval-batches, save-every, seed, threads. TimeLimit and
// MemLimit belong to each invocation and stay o's.
func (o Options) Resume(saved Options, given func(name string) bool) Options {
	for _, r := range resumable {
		if !given(r.name) {
			r.take(&o, &saved)
		}
	}
	return o
}
