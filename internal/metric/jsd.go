package metric

import (
	"math"
	"sort"
)

// JSD is the Jensen-Shannon divergence of two histograms in bits (log base
// 2), so 0 <= JSD <= 1: 0 for identical distributions, 1 for disjoint ones.
// p and q are counts or weights over the same cells; each is normalised to
// sum 1, the shorter is padded with zero cells. Negative and NaN weights count
// as 0. When either side has no mass the divergence is undefined: NaN.
func JSD(p, q []float64) float64 {
	n := max(len(p), len(q))
	sp, sq := mass(p), mass(q)
	if sp == 0 || sq == 0 {
		return math.NaN()
	}
	var d float64
	for i := 0; i < n; i++ {
		a, b := cell(p, i)/sp, cell(q, i)/sq
		m := (a + b) / 2
		if a > 0 {
			d += a * math.Log2(a/m)
		}
		if b > 0 {
			d += b * math.Log2(b/m)
		}
	}
	d /= 2
	// Rounding can leave a hair outside [0, 1].
	return min(max(d, 0), 1)
}

func cell(p []float64, i int) float64 {
	if i >= len(p) || !(p[i] > 0) {
		return 0
	}
	return p[i]
}

func mass(p []float64) float64 {
	var s float64
	for i := range p {
		s += cell(p, i)
	}
	return s
}

// CategoricalJSD is the JSD of two categorical histograms (value -> count)
// over the union of their keys: a value seen on one side only is a cell with
// count 0 on the other. NaN when either side is empty.
func CategoricalJSD[K comparable](a, b map[K]float64) float64 {
	p := make([]float64, 0, len(a)+len(b))
	q := make([]float64, 0, len(a)+len(b))
	for k, v := range a {
		p = append(p, v)
		q = append(q, b[k])
	}
	for k, v := range b {
		if _, seen := a[k]; !seen {
			p = append(p, 0)
			q = append(q, v)
		}
	}
	return JSD(p, q)
}

// Bins are fixed numeric bin edges e[0] < e[1] < ... < e[n-1]; they define
// n+1 cells: cell 0 is the underflow x < e[0], cell i (1 <= i <= n-1) is
// e[i-1] <= x < e[i], and cell n is the overflow x >= e[n-1]. NaN goes to the
// underflow cell. No value is ever dropped, so both sides of a comparison
// keep all their mass whatever their range.
type Bins struct {
	Name  string    // what is binned, with its unit
	Edges []float64 // increasing
}

// Cells is the number of cells, len(Edges)+1.
func (b Bins) Cells() int { return len(b.Edges) + 1 }

// Index is the cell of x.
func (b Bins) Index(x float64) int {
	if math.IsNaN(x) {
		return 0
	}
	// Number of edges <= x.
	return sort.Search(len(b.Edges), func(i int) bool { return b.Edges[i] > x })
}

// Hist returns the counts of xs over the cells of b.
func (b Bins) Hist(xs []float64) []float64 {
	h := make([]float64, b.Cells())
	for _, x := range xs {
		h[b.Index(x)]++
	}
	return h
}

// Label names cell i, e.g. "[64,128)", "<0", ">=1536".
func (b Bins) Label(i int) string {
	switch {
	case len(b.Edges) == 0:
		return "all"
	case i <= 0:
		return "<" + fmtEdge(b.Edges[0])
	case i >= len(b.Edges):
		return ">=" + fmtEdge(b.Edges[len(b.Edges)-1])
	default:
		return "[" + fmtEdge(b.Edges[i-1]) + "," + fmtEdge(b.Edges[i]) + ")"
	}
}

// NumericJSD is the JSD of two samples binned on the shared bins b.
func NumericJSD(b Bins, xs, ys []float64) float64 {
	return JSD(b.Hist(xs), b.Hist(ys))
}
