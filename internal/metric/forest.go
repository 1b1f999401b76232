package metric

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// ErrBadInput is wrapped by the errors of Fit for inconsistent training data.
var ErrBadInput = errors.New("metric: bad input")

// ForestOptions configure Fit. Zero values pick the defaults.
type ForestOptions struct {
	Trees       int    // number of trees; default 100
	MaxDepth    int    // maximum depth of a tree; 0 = unlimited
	MinLeaf     int    // minimum samples per leaf; default 1
	MaxFeatures int    // features tried per split; default max(1, floor(sqrt(features)))
	Seed        uint64 // tree t draws from PCG(Seed, t): results do not depend on Workers
	Workers     int    // trees built in parallel; default min(2, GOMAXPROCS)
}

// Forest is a random forest classifier: CART trees grown on bootstrap
// samples with Gini impurity, each split choosing among MaxFeatures random
// features (scikit-learn's RandomForestClassifier defaults). A sample goes to
// the left child when x[feature] <= threshold (NaN goes right).
type Forest struct {
	K, D  int // classes, features
	trees []tree
}

// tree is one CART tree in flat arrays; node 0 is the root. A leaf has
// feat -1 and its class distribution at probs[leaf*K : leaf*K+K].
type tree struct {
	feat        []int32
	thr         []float64
	left, right []int32
	leaf        []int32
	probs       []float64
}

// Fit grows a random forest on rows X (n samples, each of the same length d)
// with classes y in [0, k).
func Fit(X [][]float64, y []int, k int, opts ForestOptions) (*Forest, error) {
	n := len(X)
	if n == 0 || n != len(y) {
		return nil, fmt.Errorf("%w: %d samples, %d labels", ErrBadInput, n, len(y))
	}
	if k < 1 {
		return nil, fmt.Errorf("%w: %d classes", ErrBadInput, k)
	}
	d := len(X[0])
	for i, row := range X {
		if len(row) != d {
			return nil, fmt.Errorf("%w: sample %d has %d features, sample 0 has %d", ErrBadInput, i, len(row), d)
		}
		if y[i] < 0 || y[i] >= k {
			return nil, fmt.Errorf("%w: sample %d: class %d out of range [0,%d)", ErrBadInput, i, y[i], k)
		}
	}
	if opts.Trees <= 0 {
		opts.Trees = 100
	}
	if opts.MinLeaf <= 0 {
		opts.MinLeaf = 1
	}
	if opts.MaxFeatures <= 0 || opts.MaxFeatures > d {
		opts.MaxFeatures = max(1, min(d, int(math.Sqrt(float64(d)))))
	}
	if opts.Workers <= 0 {
		opts.Workers = min(2, runtime.GOMAXPROCS(0))
	}
	f := &Forest{K: k, D: d, trees: make([]tree, opts.Trees)}
	cols := make([][]float64, d)
	flat := make([]float64, d*n)
	for j := range cols {
		cols[j] = flat[j*n : (j+1)*n : (j+1)*n]
		for i, row := range X {
			cols[j][i] = row[j]
		}
	}
	yy := make([]int32, n)
	for i, c := range y {
		yy[i] = int32(c)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(opts.Workers, opts.Trees); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newGrower(cols, yy, k, opts)
			for t := range next {
				f.trees[t] = g.grow(rand.New(rand.NewPCG(opts.Seed, uint64(t))))
			}
		}()
	}
	for t := range opts.Trees {
		next <- t
	}
	close(next)
	wg.Wait()
	return f, nil
}

// PredictProba returns the class distribution of x: the mean over trees of
// the leaf class frequencies.
func (f *Forest) PredictProba(x []float64) []float64 {
	p := make([]float64, f.K)
	f.addProba(p, x)
	return p
}

func (f *Forest) addProba(p []float64, x []float64) {
	w := 1 / float64(len(f.trees))
	for i := range f.trees {
		t := &f.trees[i]
		nd := int32(0)
		for t.feat[nd] >= 0 {
			if x[t.feat[nd]] <= t.thr[nd] {
				nd = t.left[nd]
			} else {
				nd = t.right[nd]
			}
		}
		l := int(t.leaf[nd]) * f.K
		for c, v := range t.probs[l : l+f.K : l+f.K] {
			p[c] += w * v
		}
	}
}

// Predict returns the most probable class of x (the lowest on ties).
func (f *Forest) Predict(x []float64) int {
	p := f.PredictProba(x)
	best := 0
	for c := range p {
		if p[c] > p[best] {
			best = c
		}
	}
	return best
}

// PredictAll predicts every row of X.
func (f *Forest) PredictAll(X [][]float64) []int {
	out := make([]int, len(X))
	p := make([]float64, f.K)
	for i, x := range X {
		clear(p)
		f.addProba(p, x)
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		out[i] = best
	}
	return out
}

// grower holds one worker's scratch memory, reused across its trees.
//
// Splits use presorting: at the root, every feature's copy of the bootstrap
// sample is sorted by that feature once; a node is the same range [lo, hi)
// of every copy, and a split partitions each copy stably, so the ranges stay
// sorted. A level costs O(features x n) instead of O(tried x n log n).
type grower struct {
	cols   [][]float64 // cols[f][i] = X[i][f], shared read-only
	y      []int32
	k, n   int
	opts   ForestOptions
	sorted []int32 // features x n: sorted[f*n : f*n+n] is the sample sorted by feature f
	tmp    []int32 // n
	left   []bool  // by sample index: goes left at the current split
	feats  []int   // feature permutation
	cl, cr []float64
	counts []float64
	t      tree
}

func newGrower(cols [][]float64, y []int32, k int, opts ForestOptions) *grower {
	n, d := len(y), len(cols)
	return &grower{cols: cols, y: y, k: k, n: n, opts: opts, sorted: make([]int32, d*n), tmp: make([]int32, n),
		left: make([]bool, n), feats: make([]int, d), cl: make([]float64, k), cr: make([]float64, k), counts: make([]float64, k)}
}

func (g *grower) grow(r *rand.Rand) tree {
	n := g.n
	for i := range g.feats {
		g.feats[i] = i // the same start for every tree, whichever worker grows it
	}
	boot := g.tmp
	for i := range boot {
		boot[i] = int32(r.IntN(n))
	}
	for f, col := range g.cols {
		s := g.sorted[f*n : f*n+n : f*n+n]
		copy(s, boot)
		slices.SortFunc(s, func(a, b int32) int {
			switch va, vb := col[a], col[b]; {
			case va < vb:
				return -1
			case va > vb:
				return 1
			}
			return int(a - b) // ties by sample index: deterministic
		})
	}
	g.t = tree{}
	g.node(0, n, 0, r)
	return g.t
}

// node grows the subtree of the samples in range [lo, hi) and returns its
// node number.
func (g *grower) node(lo, hi, depth int, r *rand.Rand) int32 {
	t := &g.t
	id := int32(len(t.feat))
	t.feat = append(t.feat, -1)
	t.thr = append(t.thr, 0)
	t.left = append(t.left, -1)
	t.right = append(t.right, -1)
	t.leaf = append(t.leaf, -1)

	counts := g.counts
	clear(counts)
	for _, i := range g.sorted[lo:hi] {
		counts[g.y[i]]++
	}
	size := hi - lo
	pure := false
	for _, c := range counts {
		if c == float64(size) {
			pure = true
		}
	}
	feat, thr, ok := -1, 0.0, false
	if !pure && size >= 2*g.opts.MinLeaf && (g.opts.MaxDepth <= 0 || depth < g.opts.MaxDepth) {
		feat, thr, ok = g.split(lo, hi, r)
	}
	if !ok {
		t.leaf[id] = int32(len(t.probs) / g.k)
		for _, c := range counts {
			t.probs = append(t.probs, c/float64(size))
		}
		return id
	}
	// Mark the sides, then partition every feature's range stably.
	n := g.n
	col := g.cols[feat]
	m := 0
	for _, i := range g.sorted[feat*n+lo : feat*n+hi] {
		g.left[i] = col[i] <= thr
		if g.left[i] {
			m++
		}
	}
	for f := range g.cols {
		s := g.sorted[f*n+lo : f*n+hi : f*n+hi]
		a, b := 0, m
		for _, i := range s {
			if g.left[i] {
				g.tmp[a] = i
				a++
			} else {
				g.tmp[b] = i
				b++
			}
		}
		copy(s, g.tmp[:size])
	}
	t.feat[id] = int32(feat)
	t.thr[id] = thr
	l := g.node(lo, lo+m, depth+1, r)
	rt := g.node(lo+m, hi, depth+1, r)
	g.t.left[id], g.t.right[id] = l, rt
	return id
}

// split finds the best Gini split of the range [lo, hi) among MaxFeatures
// random features that are not constant on it (more are drawn while the
// ones drawn are constant, as scikit-learn does).
func (g *grower) split(lo, hi int, r *rand.Rand) (bestF int, bestT float64, ok bool) {
	n, size := g.n, hi-lo
	feats := g.feats
	bestScore := math.Inf(-1)
	var total float64
	for _, c := range g.counts {
		total += c * c
	}
	tried := 0
	// Partial Fisher-Yates: feats[:j] are the features drawn so far.
	for j := 0; j < len(feats) && tried < g.opts.MaxFeatures; j++ {
		s := j + r.IntN(len(feats)-j)
		feats[j], feats[s] = feats[s], feats[j]
		f := feats[j]
		col := g.cols[f]
		idx := g.sorted[f*n+lo : f*n+hi : f*n+hi]
		if !(col[idx[0]] < col[idx[size-1]]) {
			continue // constant here: draw another
		}
		tried++
		clear(g.cl)
		copy(g.cr, g.counts)
		// Gini: minimising n_l*gini_l + n_r*gini_r is maximising
		// sum_c cl^2/n_l + sum_c cr^2/n_r; keep the sums of squares.
		sl, sr := 0.0, total
		minLeaf := g.opts.MinLeaf
		for a := 0; a < size-1; a++ {
			c := g.y[idx[a]]
			sl += 2*g.cl[c] + 1
			sr -= 2*g.cr[c] - 1
			g.cl[c]++
			g.cr[c]--
			nl := a + 1
			v, w := col[idx[a]], col[idx[a+1]]
			if nl < minLeaf || size-nl < minLeaf || !(v < w) {
				continue
			}
			score := sl/float64(nl) + sr/float64(size-nl)
			if score > bestScore {
				thr := v + (w-v)/2
				if !(thr < w) || math.IsInf(thr, 0) {
					thr = v
				}
				bestScore, bestF, bestT, ok = score, f, thr, true
			}
		}
	}
	return bestF, bestT, ok
}
