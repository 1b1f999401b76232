package sample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ErrOptions is wrapped by every invalid sampling option.
var ErrOptions = errors.New("sample: invalid options")

// Sampling turns next-token logits into a token: temperature, then top-k,
// then top-p (nucleus), over the tokens a mask allows.
type Sampling struct {
	// Temperature divides the logits; 0 picks the most likely allowed token
	// (greedy, ties to the lowest id).
	Temperature float64
	// TopK > 0 keeps the K most likely allowed tokens (ties to the lowest id).
	TopK int
	// TopP in (0, 1) keeps the smallest set of most likely tokens whose
	// probability (after temperature and top-k) reaches TopP; 0 or 1: off.
	TopP float64
}

// Validate reports the first bad option.
func (s Sampling) Validate() error {
	switch {
	case s.Temperature < 0 || math.IsNaN(s.Temperature) || math.IsInf(s.Temperature, 0):
		return fmt.Errorf("%w: temperature %g must be >= 0", ErrOptions, s.Temperature)
	case s.TopK < 0:
		return fmt.Errorf("%w: top-k %d must be >= 0", ErrOptions, s.TopK)
	case s.TopP < 0 || s.TopP > 1 || math.IsNaN(s.TopP):
		return fmt.Errorf("%w: top-p %g must be in [0, 1]", ErrOptions, s.TopP)
	}
	return nil
}

// Picker holds the scratch of one sampler (one per goroutine): candidate
// ids and their probabilities, at most the vocabulary size each.
type Picker struct {
	S     Sampling
	ids   []int
	probs []float64
}

// Dist returns the distribution Pick draws from: the allowed token ids
// that survive top-k and top-p, most likely first (ties: lowest id), and
// their probabilities (summing to 1). The slices are scratch of p, valid
// until the next call. allowed == nil allows every token. With no token
// allowed both are empty.
func (p *Picker) Dist(logits []float32, allowed []bool) ([]int, []float64) {
	// Most likely first, ties to the lowest id: a total order, so sampling
	// is a pure function of (logits, mask, rng).
	before := func(a, b int) bool { return logits[a] > logits[b] || logits[a] == logits[b] && a < b }
	k := p.S.TopK
	if p.S.Temperature == 0 {
		k = 1
	}
	ids := p.ids[:0]
	if k > 0 {
		// Selection of the k best in one pass (ids ascending, so an equal
		// logit never displaces an earlier id); far cheaper than sorting
		// the whole vocabulary for every token.
		for i := range logits {
			if allowed != nil && !allowed[i] || math.IsNaN(float64(logits[i])) {
				continue
			}
			if len(ids) == k && !before(i, ids[k-1]) {
				continue
			}
			if len(ids) < k {
				ids = append(ids, i)
			} else {
				ids[k-1] = i
			}
			for j := len(ids) - 1; j > 0 && before(ids[j], ids[j-1]); j-- {
				ids[j], ids[j-1] = ids[j-1], ids[j]
			}
		}
	} else {
		for i := range logits {
			if (allowed == nil || allowed[i]) && !math.IsNaN(float64(logits[i])) {
				ids = append(ids, i)
			}
		}
		slices.SortFunc(ids, func(a, b int) int {
			if before(a, b) {
				return -1
			}
			if before(b, a) {
				return 1
			}
			return 0
		})
	}
	p.ids = ids
	if len(ids) == 0 {
		return ids, p.probs[:0]
	}
	if p.S.Temperature == 0 {
		p.probs = append(p.probs[:0], 1)
		return ids, p.probs
	}
	probs := p.probs[:0]
	top := float64(logits[ids[0]])
	var sum float64
	for _, id := range ids {
		e := 1.0 // every allowed logit is -inf: uniform among them
		if !math.IsInf(top, -1) {
			e = math.Exp((float64(logits[id]) - top) / p.S.Temperature)
		}
		probs = append(probs, e)
		sum += e
	}
	for i := range probs {
		probs[i] /= sum
	}
	if p.S.TopP > 0 && p.S.TopP < 1 {
		var c float64
		n := len(probs)
		for i, q := range probs {
			c += q
			if c >= p.S.TopP {
				n = i + 1
				break
			}
		}
		ids, probs = ids[:n], probs[:n]
		var s float64
		for _, q := range probs {
			s += q
		}
		for i := range probs {
			probs[i] /= s
		}
	}
	p.probs = probs
	return ids, probs
}

// Pick draws one token from Dist(logits, allowed) with rng; -1 when no token
// is allowed.
func (p *Picker) Pick(logits []float32, allowed []bool, rng *rand.Rand) int {
	ids, probs := p.Dist(logits, allowed)
	if len(ids) == 0 {
		return -1
	}
	if len(ids) == 1 {
		return ids[0]
	}
	u := rng.Float64()
	var c float64
	for i, q := range probs {
		c += q
		if u < c {
			return ids[i]
		}
	}
	return ids[len(ids)-1] // rounding: u above the last cumulative sum
}
