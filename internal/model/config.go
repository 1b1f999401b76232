package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/trafficgpt/trafficgpt/internal/codec"
)

// Attention kinds of Config.Attention.
const (
	// AttentionLinear mixes LocalHeads sliding-window softmax heads (RoPE) and
	// GlobalHeads causal linear-attention heads (position free): O(T) time.
	AttentionLinear = "linear"
	// AttentionQuadratic makes every head full causal softmax attention with
	// RoPE (the O(T^2) baseline); Window and Chunk are ignored.
	AttentionQuadratic = "quadratic"
	// AttentionRetention makes the GlobalHeads RetNet multi-scale retention
	// heads (RoPE on q, k, decay 1-2^(-5-h) for global head h, group norm,
	// swish gate from an extra projection attn.gate.weight), chunked by
	// Chunk; the LocalHeads stay sliding-window softmax heads.
	AttentionRetention = "retention"
	// AttentionRWKV makes the GlobalHeads RWKV-4 time-mix channels (q is the
	// receptance; learned per-channel attn.time_decay and attn.time_first);
	// the LocalHeads stay sliding-window softmax heads.
	AttentionRWKV = "rwkv"
)

// AttentionKinds lists the values of Config.Attention.
var AttentionKinds = []string{AttentionLinear, AttentionQuadratic, AttentionRetention, AttentionRWKV}

// DefaultVocab is the codec's vocabulary size (the model reads codec tokens).
const DefaultVocab = codec.VocabSize

// ErrConfig is wrapped by every configuration validation error.
var ErrConfig = errors.New("model: invalid config")

// Config describes the architecture. It is stored as JSON in checkpoints.
// No parameter depends on the context length: MaxContext is informational
// (and the ring-buffer length of quadratic-attention generation).
type Config struct {
	Vocab         int     `json:"vocab"`
	Layers        int     `json:"layers"`
	Width         int     `json:"width"`    // C, the residual width
	HeadDim       int     `json:"head_dim"` // D
	LocalHeads    int     `json:"local_heads"`
	GlobalHeads   int     `json:"global_heads"` // heads of the Attention family (linear, retention, rwkv)
	Window        int     `json:"window"`       // W: a local query sees keys t-W..t
	Chunk         int     `json:"chunk"`        // linear-attention and retention chunk length
	FFN           int     `json:"ffn"`
	TokenShift    bool    `json:"token_shift"`
	Reversible    bool    `json:"reversible"`
	Dropout       float32 `json:"dropout"`
	RopeBase      float32 `json:"rope_base"`
	Attention     string  `json:"attention"`
	TiedEmbedding bool    `json:"tied_embedding"`
	MaxContext    int     `json:"max_context"`
	// Classes > 0 adds a classification head (Classes, C) on the final
	// normed hidden state; see (*Model).AddClassifier.
	Classes int `json:"classes,omitempty"`
	// Pool is what the classification head reads: PoolLast (or "") the
	// hidden state at the <cls> position, PoolMean the mean of the hidden
	// states of every position up to and including <cls>.
	Pool string `json:"pool,omitempty"`
}

// Classification pooling (Config.Pool).
const (
	PoolLast = "last"
	PoolMean = "mean"
)

// Heads is LocalHeads + GlobalHeads.
func (c Config) Heads() int { return c.LocalHeads + c.GlobalHeads }

// Inner is the attention width Heads*HeadDim.
func (c Config) Inner() int { return c.Heads() * c.HeadDim }

// softmaxHeads and linearHeads are the heads run by the softmax kernel (local
// or quadratic) and by the global kernel of the Attention family (linear,
// retention or RWKV); the first softmaxHeads heads of the QKV projection are
// the softmax ones.
func (c Config) softmaxHeads() int {
	if c.Attention == AttentionQuadratic {
		return c.Heads()
	}
	return c.LocalHeads
}

func (c Config) linearHeads() int { return c.Heads() - c.softmaxHeads() }

var presets = map[string]Config{
	// tiny: unit tests; odd-ish sizes keep the kernels' edge cases busy.
	"tiny": {Vocab: DefaultVocab, Layers: 2, Width: 32, HeadDim: 8, LocalHeads: 2, GlobalHeads: 2,
		Window: 8, Chunk: 8, FFN: 64, TokenShift: true, RopeBase: 10000, Attention: AttentionLinear,
		TiedEmbedding: true, MaxContext: 1024},
	// small: the demo model, trains in minutes on two cores.
	"small": {Vocab: DefaultVocab, Layers: 4, Width: 256, HeadDim: 64, LocalHeads: 4, GlobalHeads: 2,
		Window: 128, Chunk: 64, FFN: 1024, TokenShift: true, RopeBase: 10000, Attention: AttentionLinear,
		TiedEmbedding: true, MaxContext: 4096},
	// paper: the TrafficGPT shape (24 x 512, 8 local + 4 global heads of 64).
	"paper": {Vocab: DefaultVocab, Layers: 24, Width: 512, HeadDim: 64, LocalHeads: 8, GlobalHeads: 4,
		Window: 256, Chunk: 64, FFN: 2048, TokenShift: true, Reversible: true, Dropout: 0.1,
		RopeBase: 10000, Attention: AttentionLinear, TiedEmbedding: true, MaxContext: 12032},
}

// Preset returns a named configuration: "tiny", "small" or "paper".
func Preset(name string) (Config, error) {
	c, ok := presets[name]
	if !ok {
		return Config{}, fmt.Errorf("%w: unknown preset %q (have %v)", ErrConfig, name, PresetNames())
	}
	return c, nil
}

// PresetNames lists the preset names, sorted.
func PresetNames() []string {
	var n []string
	for k := range presets {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Validate reports the first problem of the configuration.
func (c Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	switch {
	case c.Vocab < 2:
		return bad("vocab %d < 2", c.Vocab)
	case c.Layers < 1:
		return bad("layers %d < 1", c.Layers)
	case c.Width < 2 || c.Width%2 != 0:
		return bad("width %d must be even and >= 2 (token shift halves it)", c.Width)
	case c.HeadDim < 2 || c.HeadDim%2 != 0:
		return bad("head_dim %d must be even and >= 2 (RoPE rotates pairs)", c.HeadDim)
	case c.LocalHeads < 0 || c.GlobalHeads < 0:
		return bad("negative head count (local %d, global %d)", c.LocalHeads, c.GlobalHeads)
	case c.Heads() == 0:
		return bad("no attention heads")
	case c.FFN < 1:
		return bad("ffn %d < 1", c.FFN)
	case c.Dropout < 0 || c.Dropout >= 1:
		return bad("dropout %g outside [0, 1)", c.Dropout)
	case c.MaxContext < 0:
		return bad("max_context %d < 0", c.MaxContext)
	case c.Classes < 0:
		return bad("classes %d < 0", c.Classes)
	case c.Pool != "" && c.Pool != PoolLast && c.Pool != PoolMean:
		return bad("pool %q is neither %q nor %q", c.Pool, PoolLast, PoolMean)
	}
	switch c.Attention {
	case AttentionLinear:
		if c.LocalHeads > 0 && c.Window < 1 {
			return bad("window %d < 1 with %d local heads", c.Window, c.LocalHeads)
		}
		if c.GlobalHeads > 0 && c.Chunk < 1 {
			return bad("chunk %d < 1 with %d global heads", c.Chunk, c.GlobalHeads)
		}
	case AttentionRetention, AttentionRWKV:
		if c.LocalHeads > 0 && c.Window < 1 {
			return bad("window %d < 1 with %d local heads", c.Window, c.LocalHeads)
		}
		if c.Attention == AttentionRetention && c.GlobalHeads > 0 && c.Chunk < 1 {
			return bad("chunk %d < 1 with %d retention heads", c.Chunk, c.GlobalHeads)
		}
		if c.Attention == AttentionRWKV && c.GlobalHeads > 0 && c.HeadDim < 4 {
			// Generation keeps a head's 3*D floats in its (D, D) state block.
			return bad("head_dim %d < 4 with rwkv heads", c.HeadDim)
		}
	case AttentionQuadratic:
	default:
		return bad("attention %q is not one of %q", c.Attention, AttentionKinds)
	}
	if (c.softmaxHeads() > 0 || c.Attention == AttentionRetention) && c.RopeBase <= 1 {
		return bad("rope_base %g must be > 1", c.RopeBase)
	}
	return nil
}

// UnknownConfigError is LoadConfig's error for a name that is neither a
// preset nor a file.
type UnknownConfigError struct{ Name string }

func (e *UnknownConfigError) Error() string {
	return fmt.Sprintf("%q: not a preset (%s) nor a file", e.Name, strings.Join(PresetNames(), ", "))
}

// LoadConfig resolves a preset name or a config JSON file (unknown fields
// are errors; the config is validated). A name that is no preset and looks
// like no path is an *UnknownConfigError; a file that cannot be read, the
// read error; a bad file's error starts with its name.
func LoadConfig(s string) (Config, error) {
	if c, err := Preset(s); err == nil {
		return c, nil
	}
	b, err := os.ReadFile(s)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(s, "./") {
			return Config{}, &UnknownConfigError{s}
		}
		return Config{}, err
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("%s: %w", s, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", s, err)
	}
	return c, nil
}
