package metric

import (
	"fmt"
	"math"
)

// KNNOptions configure FitKNN.
type KNNOptions struct {
	K   int  // neighbours that vote; default 1
	Log bool // map each feature x to sign(x)*log1p(|x|) before standardising (byte counts and times are heavy-tailed)
}

// KNN is a k-nearest-neighbour classifier on standardised features: each
// feature (after the optional log map) is centred on the training mean and
// divided by the training standard deviation (population; a feature that is
// constant in training is ignored: it cannot tell training flows apart), and neighbours
// are ranked by Euclidean distance, ties by training order. The K nearest
// vote; a tied vote goes to the tied class whose nearest member is closest.
type KNN struct {
	opts       KNNOptions
	k          int // classes
	mean, inv  []float64
	train      [][]float64 // standardised
	y          []int
	dist       []float64
	order      []int
	votes      []int
	firstRanks []int
}

// FitKNN stores the standardised training set X (rows of equal length, no
// NaN) with classes y in [0, k).
func FitKNN(X [][]float64, y []int, k int, opts KNNOptions) (*KNN, error) {
	if len(X) == 0 || len(X) != len(y) {
		return nil, fmt.Errorf("metric: knn: %d samples and %d labels", len(X), len(y))
	}
	if opts.K <= 0 {
		opts.K = 1
	}
	d := len(X[0])
	for i, row := range X {
		if len(row) != d {
			return nil, fmt.Errorf("metric: knn: sample %d has %d features, sample 0 has %d", i, len(row), d)
		}
		if y[i] < 0 || y[i] >= k {
			return nil, fmt.Errorf("metric: knn: sample %d: class %d out of range [0,%d)", i, y[i], k)
		}
		for j, v := range row {
			if math.IsNaN(v) {
				return nil, fmt.Errorf("metric: knn: sample %d feature %d is NaN", i, j)
			}
		}
	}
	m := &KNN{opts: opts, k: k, mean: make([]float64, d), inv: make([]float64, d), y: append([]int(nil), y...)}
	m.train = make([][]float64, len(X))
	for i, row := range X {
		m.train[i] = m.mapped(make([]float64, d), row)
		for j, v := range m.train[i] {
			m.mean[j] += v
		}
	}
	n := float64(len(X))
	for j := range m.mean {
		m.mean[j] /= n
	}
	for _, row := range m.train {
		for j, v := range row {
			m.inv[j] += (v - m.mean[j]) * (v - m.mean[j])
		}
	}
	for j := range m.inv {
		sd := math.Sqrt(m.inv[j] / n)
		m.inv[j] = 0
		if sd > 0 {
			m.inv[j] = 1 / sd
		}
	}
	for _, row := range m.train {
		for j := range row {
			row[j] = (row[j] - m.mean[j]) * m.inv[j]
		}
	}
	m.dist = make([]float64, 0, opts.K)
	m.order = make([]int, 0, opts.K)
	m.votes = make([]int, k)
	m.firstRanks = make([]int, k)
	return m, nil
}

// mapped applies the log map to src into dst.
func (m *KNN) mapped(dst, src []float64) []float64 {
	for j, v := range src {
		if m.opts.Log {
			v = math.Copysign(math.Log1p(math.Abs(v)), v)
		}
		dst[j] = v
	}
	return dst
}

// Predict returns the class of x. Not safe for concurrent use.
func (m *KNN) Predict(x []float64) int {
	d := len(m.mean)
	z := make([]float64, d)
	m.mapped(z, x[:min(len(x), d)])
	for j := range z {
		z[j] = (z[j] - m.mean[j]) * m.inv[j]
	}
	// Keep the K nearest in a small sorted list (distance, then training order).
	K := min(m.opts.K, len(m.train))
	m.order = m.order[:0]
	m.dist = m.dist[:0]
	for i, row := range m.train {
		s := 0.0
		for j, v := range row {
			e := v - z[j]
			s += e * e
		}
		if len(m.order) == K && s >= m.dist[K-1] {
			continue
		}
		if len(m.order) < K {
			m.order, m.dist = append(m.order, i), append(m.dist, s)
		}
		r := len(m.order) - 1
		for ; r > 0 && m.dist[r-1] > s; r-- {
			m.order[r], m.dist[r] = m.order[r-1], m.dist[r-1]
		}
		m.order[r], m.dist[r] = i, s
	}
	for c := range m.votes {
		m.votes[c] = 0
		m.firstRanks[c] = K
	}
	for r, i := range m.order {
		c := m.y[i]
		m.votes[c]++
		if r < m.firstRanks[c] {
			m.firstRanks[c] = r
		}
	}
	best := 0
	for c := 1; c < m.k; c++ {
		if m.votes[c] > m.votes[best] || (m.votes[c] == m.votes[best] && m.firstRanks[c] < m.firstRanks[best]) {
			best = c
		}
	}
	return best
}

// PredictAll predicts every row of X.
func (m *KNN) PredictAll(X [][]float64) []int {
	out := make([]int, len(X))
	for i, x := range X {
		out[i] = m.Predict(x)
	}
	return out
}
