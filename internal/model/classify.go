package model

import (
	"fmt"

	"github.com/trafficgpt/trafficgpt/internal/kernel"
)

// ForwardClassify runs the trunk on tokens (B, T) and the classification
// head (Classes, C) on the final-normed hidden state of row b at position
// clsPos[b] (Config.Pool "last") or on the mean of row b's final-normed
// hidden states at positions 0..clsPos[b] (Config.Pool "mean"). It returns the mean cross-entropy over labels >= 0 (labels may
// be nil: no loss) and the (B, Classes) class probabilities, a view valid
// until the next forward. The LM head is not evaluated.
func (m *Model) ForwardClassify(tokens []int32, B, T int, clsPos, labels []int32) (float32, []float32, error) {
	K := m.Config.Classes
	if K < 1 {
		return 0, nil, ErrClassifier
	}
	if err := m.checkInput(tokens, B, T); err != nil {
		return 0, nil, err
	}
	if len(clsPos) != B {
		return 0, nil, fmt.Errorf("%w: %d class positions for B=%d", ErrShape, len(clsPos), B)
	}
	for b, p := range clsPos {
		if p < 0 || int(p) >= T {
			return 0, nil, fmt.Errorf("%w: clsPos[%d] = %d outside [0, %d)", ErrShape, b, p, T)
		}
	}
	if labels != nil {
		if len(labels) != B {
			return 0, nil, fmt.Errorf("%w: %d labels for B=%d", ErrShape, len(labels), B)
		}
		for b, y := range labels {
			if int(y) >= K {
				return 0, nil, fmt.Errorf("%w: labels[%d] = %d, classes %d", ErrToken, b, y, K)
			}
		}
	}
	m.trunkForward(tokens, B, T)
	a, C := m.acts, m.Config.Width
	if m.Config.Pool == PoolMean {
		copy(a.rows, clsPos)
		kernel.MeanPoolPrefix(a.clsH, a.lnf, a.rows, B, T, C)
	} else {
		for b, p := range clsPos {
			a.rows[b] = int32(b*T) + p
		}
		kernel.GatherRows(a.clsH, a.lnf, a.rows, C)
	}
	kernel.MatmulForward(a.clsLogits, a.clsH, m.p.clsw, m.p.clsb, B, C, K)
	if labels == nil {
		kernel.Softmax(a.clsProbs, a.clsLogits, B, K)
		m.mode = modeNone
		return 0, a.clsProbs, nil
	}
	copy(a.clsLabels, labels)
	kernel.CrossEntropyForward(a.clsLosses, a.clsProbs, a.clsLogits, a.clsLabels, B, K)
	m.mode = modeCls
	var loss float32
	loss, m.nValid = meanLoss(a.clsLosses, a.clsLabels)
	return loss, a.clsProbs, nil
}

// ClsFeatures is the (B, C) input of the classification head of the last
// ForwardClassify: the pooled final-normed hidden states (Config.Pool). It
// is a view valid until the next forward.
func (m *Model) ClsFeatures() []float32 {
	if m.acts == nil {
		return nil
	}
	return m.acts.clsH[: m.acts.B*m.Config.Width : m.acts.B*m.Config.Width]
}

// backwardClassify adds the gradients of the last ForwardClassify's loss.
func (m *Model) backwardClassify() error {
	a, c := m.acts, m.Config
	B, C, K := a.B, c.Width, c.Classes
	inv := float32(0)
	if m.nValid > 0 {
		inv = 1 / float32(m.nValid)
	}
	for b, y := range a.clsLabels {
		a.clsDloss[b] = 0
		if y >= 0 {
			a.clsDloss[b] = inv
		}
	}
	clear(a.clsDlog)
	kernel.CrossEntropyBackward(a.clsDlog, a.clsProbs, a.clsLabels, a.clsDloss, B, K)
	clear(a.dclsH)
	kernel.MatmulBackward(a.dclsH, m.g.clsw, m.g.clsb, a.clsDlog, a.clsH, m.p.clsw, B, C, K)
	clear(a.dlnf)
	if c.Pool == PoolMean {
		kernel.MeanPoolPrefixBackward(a.dlnf, a.dclsH, a.rows, B, a.T, C)
	} else {
		kernel.ScatterAddRows(a.dlnf, a.dclsH, a.rows, C)
	}
	m.trunkBackward()
	m.mode = modeNone
	return nil
}
