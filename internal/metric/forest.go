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
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(opts.Workers, opts.Trees); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newGrower(X, y, k, opts)
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
type grower struct {
	X     [][]float64
	y     []int
	k     int
	opts  ForestOptions
	idx   []int32 // bootstrap sample, partitioned in place node by node
	pairs []pair  // (value, class) of a node's samples for one feature
	feats []int   // feature permutation
	cl    []float64
	cr    []float64
	t     tree
}

type pair struct {
	v float64
	c int32
}

func newGrower(X [][]float64, y []int, k int, opts ForestOptions) *grower {
	n := len(X)
	feats := make([]int, len(X[0]))
	for i := range feats {
		feats[i] = i
	}
	return &grower{X: X, y: y, k: k, opts: opts, idx: make([]int32, n), pairs: make([]pair, n),
		feats: feats, cl: make([]float64, k), cr: make([]float64, k)}
}

func (g *grower) grow(r *rand.Rand) tree {
	n := len(g.X)
	for i := range g.feats {
		g.feats[i] = i // the same start for every tree, whichever worker grows it
	}
	for i := range g.idx {
		g.idx[i] = int32(r.IntN(n))
	}
	g.t = tree{}
	g.node(g.idx, 0, r)
	return g.t
}

// node grows the subtree of the samples idx and returns its node number.
func (g *grower) node(idx []int32, depth int, r *rand.Rand) int32 {
	t := &g.t
	id := int32(len(t.feat))
	t.feat = append(t.feat, -1)
	t.thr = append(t.thr, 0)
	t.left = append(t.left, -1)
	t.right = append(t.right, -1)
	t.leaf = append(t.leaf, -1)

	counts := make([]float64, g.k)
	for _, i := range idx {
		counts[g.y[i]]++
	}
	pure := false
	for _, c := range counts {
		if c == float64(len(idx)) {
			pure = true
		}
	}
	feat, thr, ok := -1, 0.0, false
	if !pure && len(idx) >= 2*g.opts.MinLeaf && (g.opts.MaxDepth <= 0 || depth < g.opts.MaxDepth) {
		feat, thr, ok = g.split(idx, counts, r)
	}
	if !ok {
		t.leaf[id] = int32(len(t.probs) / g.k)
		for _, c := range counts {
			t.probs = append(t.probs, c/float64(len(idx)))
		}
		return id
	}
	// Partition: left samples first.
	m := 0
	for j, i := range idx {
		if g.X[i][feat] <= thr {
			idx[m], idx[j] = idx[j], idx[m]
			m++
		}
	}
	t.feat[id] = int32(feat)
	t.thr[id] = thr
	l := g.node(idx[:m:m], depth+1, r)
	rt := g.node(idx[m:], depth+1, r)
	g.t.left[id], g.t.right[id] = l, rt
	return id
}

// split finds the best Gini split of idx among MaxFeatures random features
// that are not constant on idx (more are drawn while the ones drawn are
// constant, as scikit-learn does).
func (g *grower) split(idx []int32, counts []float64, r *rand.Rand) (bestF int, bestT float64, ok bool) {
	n := len(idx)
	feats := g.feats
	// Partial Fisher-Yates: feats[:j] are the features drawn so far.
	bestScore := math.Inf(-1)
	tried := 0
	for j := 0; j < len(feats) && tried < g.opts.MaxFeatures; j++ {
		s := j + r.IntN(len(feats)-j)
		feats[j], feats[s] = feats[s], feats[j]
		f := feats[j]
		ps := g.pairs[:n:n]
		for a, i := range idx {
			ps[a] = pair{g.X[i][f], int32(g.y[i])}
		}
		slices.SortFunc(ps, func(a, b pair) int {
			switch {
			case a.v < b.v:
				return -1
			case a.v > b.v:
				return 1
			}
			return 0
		})
		if !(ps[0].v < ps[n-1].v) {
			continue // constant here (or NaN): draw another
		}
		tried++
		clear(g.cl)
		copy(g.cr, counts)
		// Gini: minimising n_l*gini_l + n_r*gini_r is maximising
		// sum_c cl^2/n_l + sum_c cr^2/n_r; keep the sums of squares.
		var sl, sr float64
		for _, c := range counts {
			sr += c * c
		}
		minLeaf := g.opts.MinLeaf
		for a := 0; a < n-1; a++ {
			c := ps[a].c
			sl += 2*g.cl[c] + 1
			sr -= 2*g.cr[c] - 1
			g.cl[c]++
			g.cr[c]--
			nl := a + 1
			if nl < minLeaf || n-nl < minLeaf || !(ps[a].v < ps[a+1].v) {
				continue
			}
			score := sl/float64(nl) + sr/float64(n-nl)
			if score > bestScore {
				thr := ps[a].v + (ps[a+1].v-ps[a].v)/2
				if !(thr < ps[a+1].v) || math.IsInf(thr, 0) {
					thr = ps[a].v
				}
				bestScore, bestF, bestT, ok = score, f, thr, true
			}
		}
	}
	return bestF, bestT, ok
}
