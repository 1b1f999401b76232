package evalgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"

	"github.com/trafficgpt/trafficgpt/internal/metric"
)

// memorize compares generated and real flows with the training flows:
// exact duplicates of the payload hash, and the Euclidean distance to the
// nearest training flow in feature space (log1p of every feature, then
// z-scored with the training mean and std), for up to maxFlows sampled flows
// per side against up to 4*maxFlows training flows.
//
// The membership check asks whether training flows are closer to the
// generated flows than held-out real flows are (the real side must be
// traffic the generator never saw): see Memorization.MembershipAUC.
func memorize(train, real, gen *side, maxFlows, workers int) *Memorization {
	m := &Memorization{TrainFlows: train.flows()}
	hs := make(map[[16]byte]struct{}, len(train.hashes))
	for _, h := range train.hashes {
		hs[h] = struct{}{}
	}
	dups := func(s *side) int {
		d := 0
		for _, h := range s.hashes {
			if _, ok := hs[h]; ok {
				d++
			}
		}
		return d
	}
	m.GeneratedPayload, m.RealPayload = len(gen.hashes), len(real.hashes)
	m.GeneratedDup, m.RealDup = dups(gen), dups(real)
	m.GeneratedDupShare = Share(m.GeneratedDup, m.GeneratedPayload)
	m.RealDupShare = Share(m.RealDup, m.RealPayload)

	nf := metric.NumFlowFeatures
	r := rand.New(rand.NewPCG(7, 0x6d656d6f))
	sample := func(s *side, k int) [][]float64 {
		idx := r.Perm(s.flows())
		idx = idx[:min(len(idx), k)]
		out := make([][]float64, len(idx))
		for j, i := range idx {
			v := make([]float64, nf)
			for c, x := range s.row(i) {
				v[c] = math.Log1p(max(x, 0))
			}
			out[j] = v
		}
		return out
	}
	tr := sample(train, 4*maxFlows)
	mean, sd := make([]float64, nf), make([]float64, nf)
	for _, v := range tr {
		for c, x := range v {
			mean[c] += x
		}
	}
	for c := range mean {
		mean[c] /= float64(max(1, len(tr)))
	}
	for _, v := range tr {
		for c, x := range v {
			sd[c] += (x - mean[c]) * (x - mean[c])
		}
	}
	for c := range sd {
		sd[c] = math.Sqrt(sd[c] / float64(max(1, len(tr))))
		if sd[c] == 0 {
			sd[c] = 1
		}
	}
	norm := func(vs [][]float64) {
		for _, v := range vs {
			for c := range v {
				v[c] = (v[c] - mean[c]) / sd[c]
			}
		}
	}
	norm(tr)
	nn := func(s *side) (med, avg, zero float64) {
		q := sample(s, maxFlows)
		norm(q)
		if len(q) == 0 || len(tr) == 0 {
			return math.NaN(), math.NaN(), math.NaN()
		}
		d := nnDistances(q, tr, workers)
		zeros := 0
		for _, x := range d {
			avg += x
			if x == 0 {
				zeros++
			}
		}
		return median(d), avg / float64(len(d)), float64(zeros) / float64(len(d))
	}
	gm, ga, gz := nn(gen)
	rm, ra, rz := nn(real)
	m.GeneratedNNMedian, m.GeneratedNNMean, m.GeneratedNNZero = Num(gm), Num(ga), Num(gz)
	m.RealNNMedian, m.RealNNMean, m.RealNNZero = Num(rm), Num(ra), Num(rz)
	m.NNMedianRatio = Num(math.NaN())
	if rm > 0 {
		m.NNMedianRatio = Num(gm / rm)
	}

	// Membership: the same number of training and held-out real flows, each
	// with its distance to the nearest generated flow (up to 4*maxFlows of
	// them). A generator that memorised its training flows puts generated
	// flows nearer to them than to unseen flows of the same traffic.
	k := min(train.flows(), real.flows(), maxFlows)
	ref := sample(gen, 4*maxFlows)
	norm(ref)
	qt, qh := sample(train, k), sample(real, k)
	norm(qt)
	norm(qh)
	m.MembershipFlows = k
	m.MembershipTrainNN, m.MembershipHeldoutNN, m.MembershipAUC = Num(math.NaN()), Num(math.NaN()), Num(math.NaN())
	if k > 0 && len(ref) > 0 {
		dt, dh := nnDistances(qt, ref, workers), nnDistances(qh, ref, workers)
		m.MembershipTrainNN, m.MembershipHeldoutNN = Num(median(dt)), Num(median(dh))
		m.MembershipAUC = Num(closerShare(dt, dh))
	}
	return m
}

// nnDistances is, for each row of q, the Euclidean distance to its nearest
// row of ref (exhaustive search, workers goroutines).
func nnDistances(q, ref [][]float64, workers int) []float64 {
	d := make([]float64, len(q))
	workers = max(1, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(q); i += workers {
				best := math.Inf(1)
				for _, t := range ref {
					var s float64
					for c := range t {
						e := q[i][c] - t[c]
						s += e * e
					}
					best = min(best, s)
				}
				d[i] = math.Sqrt(best)
			}
		}()
	}
	wg.Wait()
	return d
}

// median of xs (sorts xs; NaN when empty).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sort.Float64s(xs)
	m := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		m = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return m
}

// closerShare is P(a < b) + P(a = b)/2 for a drawn from as and b from bs
// (the Mann-Whitney AUC), by one pass over both sorted.
func closerShare(as, bs []float64) float64 {
	a, b := slices.Clone(as), slices.Clone(bs)
	sort.Float64s(a)
	sort.Float64s(b)
	var wins float64
	lo, hi := 0, 0 // b[:lo] < x, b[:hi] <= x
	for _, x := range a {
		for lo < len(b) && b[lo] < x {
			lo++
		}
		for hi < len(b) && b[hi] <= x {
			hi++
		}
		wins += float64(len(b)-hi) + float64(hi-lo)/2
	}
	return wins / float64(len(a)*len(b))
}
