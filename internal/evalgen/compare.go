package evalgen

import (
	"math"
	"math/rand/v2"

	"github.com/trafficgpt/trafficgpt/internal/metric"
)

// headerJSD returns the JSD of every header field, in HeaderFields order.
func headerJSD(a, b *headerHist) []float64 {
	out := make([]float64, len(HeaderFields))
	for i, f := range HeaderFields {
		switch f {
		case "src_addr", "dst_addr":
			out[i] = metric.CategoricalJSD(a.addr[f], b.addr[f])
		case "length":
			out[i] = metric.JSD(a.length, b.length)
		case "tcp_window":
			out[i] = metric.JSD(a.window, b.window)
		case "iat":
			out[i] = metric.JSD(a.iat, b.iat)
		default:
			out[i] = metric.CategoricalJSD(a.cat[f], b.cat[f])
		}
	}
	return out
}

// flowJSD bins every flow feature on its published bins.
func flowJSD(a, b *side) []float64 {
	out := make([]float64, metric.NumFlowFeatures)
	for j := range out {
		out[j] = metric.JSD(featureHist(a, j), featureHist(b, j))
	}
	return out
}

func featureHist(s *side, j int) []float64 {
	bins := metric.FlowFeatureBin(j)
	h := make([]float64, bins.Cells())
	for i := 0; i < s.flows(); i++ {
		h[bins.Index(s.row(i)[j])]++
	}
	return h
}

// MinDiscriminatorFlows is the fewest flows per side the discriminator
// runs on; with fewer its F1 is undefined (NaN, JSON null), not 0.
const MinDiscriminatorFlows = 10

// discriminate trains a random forest to tell real (class 0) from generated
// (class 1) flows on the flow features, once per seed: each run samples n =
// min(real flows, generated flows, MaxFlows) flows per side, holds out 30% of
// each side, and scores the macro F1 of the two classes on the held-out part
// (0.5 = chance on this balanced split, 1 = always told apart).
func discriminate(real, gen *side, opts Options, stage string) (f1s []float64, n int, err error) {
	n = min(real.flows(), gen.flows(), opts.MaxFlows)
	if n < MinDiscriminatorFlows {
		return nil, n, nil
	}
	nTest := max(1, n*3/10)
	tick := opts.tick(stage, opts.Seeds)
	for seed := 1; seed <= opts.Seeds; seed++ {
		r := rand.New(rand.NewPCG(uint64(seed), 0x6469736372))
		var Xtr, Xte [][]float64
		var ytr, yte []int
		for c, s := range []*side{real, gen} {
			perm := r.Perm(s.flows())[:n]
			for k, i := range perm {
				if k < nTest {
					Xte, yte = append(Xte, s.row(i)), append(yte, c)
				} else {
					Xtr, ytr = append(Xtr, s.row(i)), append(ytr, c)
				}
			}
		}
		forest, err := metric.Fit(Xtr, ytr, 2, metric.ForestOptions{Trees: opts.Trees, Seed: uint64(seed), Workers: opts.Workers})
		if err != nil {
			return nil, n, err
		}
		rep, err := metric.Report(yte, forest.PredictAll(Xte), 2, []string{"real", "generated"})
		if err != nil {
			return nil, n, err
		}
		f1s = append(f1s, rep.MacroF1)
		tick()
	}
	return f1s, n, nil
}

// meanStd returns the mean and the sample standard deviation (NaN, NaN for
// no values; std 0 for one).
func meanStd(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	var m float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	if len(xs) == 1 {
		return m, 0
	}
	var v float64
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return m, math.Sqrt(v / float64(len(xs)-1))
}
