package dataset

import (
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/trafficgpt/trafficgpt/internal/codec"
)

// LMOptions configure language-model batches.
type LMOptions struct {
	Batch, Context int
	// Packed concatenates flows (in shuffled order) into one stream cut into
	// windows of Context tokens; otherwise each sample is one flow, cut to
	// Context+1 tokens and padded.
	Packed bool
	Seed   uint64
}

// LoaderState is where a loader is in its data order; with the same options
// and seed, Restore(State()) continues exactly.
type LoaderState struct {
	Epoch  int `json:"epoch"`
	Pos    int `json:"pos"`    // index into the epoch's permutation
	Offset int `json:"offset"` // token offset within the current flow (packed)
}

// LMLoader streams (tokens, targets) batches for next-token prediction. It
// holds one flow at a time, never the dataset.
type LMLoader struct {
	s     *Split
	o     LMOptions
	st    LoaderState
	perm  []int32
	flow  []uint16
	kinds []codec.Kind
	cur   int // flow index loaded in flow, -1 none
}

// NewLMLoader returns a loader over split s.
func NewLMLoader(s *Split, o LMOptions) (*LMLoader, error) {
	if o.Batch <= 0 || o.Context <= 0 {
		return nil, fmt.Errorf("dataset: batch %d and context %d must be positive", o.Batch, o.Context)
	}
	if s.Len() == 0 {
		return nil, fmt.Errorf("%w: split %s is empty", ErrDataset, s.Name)
	}
	l := &LMLoader{s: s, o: o, cur: -1}
	l.shuffle()
	return l, nil
}

// permutation returns a seeded permutation of n flows for an epoch.
func permutation(dst []int32, n int, seed uint64, epoch int) []int32 {
	dst = dst[:0]
	for i := 0; i < n; i++ {
		dst = append(dst, int32(i))
	}
	r := rand.New(rand.NewPCG(seed, uint64(epoch)*0x9e3779b97f4a7c15+1))
	r.Shuffle(n, func(i, j int) { dst[i], dst[j] = dst[j], dst[i] })
	return dst
}

func (l *LMLoader) shuffle() { l.perm = permutation(l.perm, l.s.Len(), l.o.Seed, l.st.Epoch) }

// Epoch is the number of completed passes over the split.
func (l *LMLoader) Epoch() int { return l.st.Epoch }

// State returns the loader's position.
func (l *LMLoader) State() LoaderState { return l.st }

// Restore moves the loader to a saved position.
func (l *LMLoader) Restore(st LoaderState) error {
	if st.Pos < 0 || st.Pos > l.s.Len() || st.Offset < 0 || st.Epoch < 0 {
		return fmt.Errorf("dataset: bad loader state %+v", st)
	}
	l.st = st
	l.cur = -1
	l.shuffle()
	return nil
}

func (l *LMLoader) load(withKinds bool) error {
	if l.st.Pos >= len(l.perm) {
		l.st = LoaderState{Epoch: l.st.Epoch + 1}
		l.shuffle()
	}
	idx := int(l.perm[l.st.Pos])
	if idx == l.cur && (!withKinds || len(l.kinds) == len(l.flow)) {
		return nil
	}
	var err error
	l.flow, err = l.s.Flow(idx, l.flow[:0])
	if err != nil {
		return err
	}
	l.cur = idx
	l.kinds = l.kinds[:0]
	if withKinds {
		l.kinds = append(l.kinds, make([]codec.Kind, len(l.flow))...)
		codec.TokenKinds(l.flow, l.kinds)
	}
	return nil
}

// Next fills tokens and targets (each Batch*Context). targets[i] is the
// token after tokens[i], or -1 where there is none (padding, end of a flow
// in unpacked mode). kinds, if not nil, gets the codec.Kind of each target
// (KindPad where the target is -1).
func (l *LMLoader) Next(tokens, targets []int32, kinds []uint8) error {
	B, T := l.o.Batch, l.o.Context
	if len(tokens) < B*T || len(targets) < B*T || (kinds != nil && len(kinds) < B*T) {
		return fmt.Errorf("dataset: buffers shorter than batch %d x context %d", B, T)
	}
	for b := 0; b < B; b++ {
		tk, tg := tokens[b*T:(b+1)*T], targets[b*T:(b+1)*T]
		var kd []uint8
		if kinds != nil {
			kd = kinds[b*T : (b+1)*T]
		}
		var err error
		if l.o.Packed {
			err = l.packed(tk, tg, kd)
		} else {
			err = l.single(tk, tg, kd)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// single: one flow per sample.
func (l *LMLoader) single(tk, tg []int32, kd []uint8) error {
	if err := l.load(kd != nil); err != nil {
		return err
	}
	T := len(tk)
	for t := 0; t < T; t++ {
		tk[t], tg[t] = int32(codec.PAD), -1
		if kd != nil {
			kd[t] = codec.KindPad
		}
		if t < len(l.flow) {
			tk[t] = int32(l.flow[t])
		}
		if t+1 < len(l.flow) {
			tg[t] = int32(l.flow[t+1])
			if kd != nil {
				kd[t] = l.kinds[t+1]
			}
		}
	}
	l.st.Pos++
	l.st.Offset = 0
	return nil
}

// packed: a window of the stream of concatenated flows; consecutive windows
// tile the stream (window k's last target is window k+1's first token).
func (l *LMLoader) packed(tk, tg []int32, kd []uint8) error {
	T := len(tk)
	var after LoaderState
	for t := 0; t <= T; t++ {
		tok, kind, err := l.streamToken(kd != nil)
		if err != nil {
			return err
		}
		if t < T {
			tk[t] = tok
		}
		if t > 0 {
			tg[t-1] = tok
			if kd != nil {
				kd[t-1] = kind
			}
		}
		if t == T-1 {
			after = l.st
		}
	}
	if after.Epoch != l.st.Epoch {
		l.st = after
		l.shuffle()
		l.cur = -1
		return nil
	}
	l.st = after
	return nil
}

// streamToken returns the next token of the flow stream and advances.
func (l *LMLoader) streamToken(withKinds bool) (int32, codec.Kind, error) {
	for {
		if err := l.load(withKinds); err != nil {
			return 0, 0, err
		}
		if l.st.Offset < len(l.flow) {
			break
		}
		l.st.Pos++
		l.st.Offset = 0
	}
	tok := int32(l.flow[l.st.Offset])
	var k codec.Kind
	if withKinds {
		k = l.kinds[l.st.Offset]
	}
	l.st.Offset++
	return tok, k, nil
}

// ClsOptions configure classification batches.
type ClsOptions struct {
	Batch, Context int
	Shuffle        bool // training: endless shuffled epochs; else one pass in order, then io.EOF
	Seed           uint64
}

// ClsLoader streams classification samples: a flow's first Context-1
// tokens, then <cls>, padded with <pad>.
type ClsLoader struct {
	s    *Split
	o    ClsOptions
	st   LoaderState
	perm []int32
	flow []uint16
}

// NewClsLoader returns a loader over split s.
func NewClsLoader(s *Split, o ClsOptions) (*ClsLoader, error) {
	if o.Batch <= 0 || o.Context < 2 {
		return nil, fmt.Errorf("dataset: batch %d must be positive and context %d at least 2", o.Batch, o.Context)
	}
	l := &ClsLoader{s: s, o: o}
	l.reset()
	return l, nil
}

func (l *ClsLoader) reset() {
	if l.o.Shuffle {
		l.perm = permutation(l.perm, l.s.Len(), l.o.Seed, l.st.Epoch)
		return
	}
	l.perm = l.perm[:0]
	for i := 0; i < l.s.Len(); i++ {
		l.perm = append(l.perm, int32(i))
	}
}

// Epoch is the number of completed passes.
func (l *ClsLoader) Epoch() int { return l.st.Epoch }

// State and Restore save and restore the position.
func (l *ClsLoader) State() LoaderState { return l.st }

// Restore moves the loader to a saved position.
func (l *ClsLoader) Restore(st LoaderState) error {
	if st.Pos < 0 || st.Pos > l.s.Len() || st.Epoch < 0 {
		return fmt.Errorf("dataset: bad loader state %+v", st)
	}
	l.st = st
	l.reset()
	return nil
}

// Next fills up to Batch samples: tokens (Batch*Context), clsPos and labels
// (Batch) and the flow indices (Batch, may be nil). It returns the number
// of samples; without Shuffle, 0 and io.EOF after the last flow.
func (l *ClsLoader) Next(tokens, clsPos, labels []int32, flows []int) (int, error) {
	B, T := l.o.Batch, l.o.Context
	n := 0
	for ; n < B; n++ {
		if l.st.Pos >= len(l.perm) {
			if !l.o.Shuffle {
				break
			}
			l.st = LoaderState{Epoch: l.st.Epoch + 1}
			l.reset()
		}
		idx := int(l.perm[l.st.Pos])
		l.st.Pos++
		var err error
		if l.flow, err = l.s.Flow(idx, l.flow[:0]); err != nil {
			return n, err
		}
		k := min(len(l.flow), T-1)
		row := tokens[n*T : (n+1)*T]
		for t := 0; t < T; t++ {
			switch {
			case t < k:
				row[t] = int32(l.flow[t])
			case t == k:
				row[t] = int32(codec.CLS)
			default:
				row[t] = int32(codec.PAD)
			}
		}
		clsPos[n] = int32(k)
		labels[n] = l.s.Meta(idx).Label
		if flows != nil {
			flows[n] = idx
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}
