package classify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/metric"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

// Predictions are a classifier's (or the baseline's) results on a split, in
// split order. Classes are ids of the classifier's label list.
type Predictions struct {
	Labels []int     // true class
	Preds  []int     // predicted class
	Prob   []float32 // probability of the predicted class
	Flows  []int     // index in the split
	File   []uint32  // index into the manifest's inputs
	FlowID []uint64  // flow index within its capture
}

func (p *Predictions) add(label, pred int, prob float32, idx int, m dataset.FlowMeta) {
	p.Labels = append(p.Labels, label)
	p.Preds = append(p.Preds, pred)
	p.Prob = append(p.Prob, prob)
	p.Flows = append(p.Flows, idx)
	p.File = append(p.File, m.File)
	p.FlowID = append(p.FlowID, m.FlowID)
}

// LabelMap maps the dataset's label ids to the classifier's by name. A
// dataset label that has flows (in any split) and that the classifier does
// not know is an ErrLabels error listing them.
func LabelMap(classLabels []string, m *dataset.Manifest) ([]int, error) {
	byName := map[string]int{}
	for i, n := range classLabels {
		byName[n] = i
	}
	used := map[string]bool{}
	for _, s := range m.Splits {
		for n, c := range s.PerClass {
			if c > 0 {
				used[n] = true
			}
		}
	}
	out := make([]int, len(m.Labels))
	var unknown []string
	for i, n := range m.Labels {
		j, ok := byName[n]
		if !ok {
			j = -1
			if used[n] {
				unknown = append(unknown, n)
			}
		}
		out[i] = j
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w: %s (the classifier knows %s)", ErrLabels, strings.Join(unknown, ", "), strings.Join(classLabels, ", "))
	}
	return out, nil
}

// CheckDataset reports whether the dataset was built the way the classifier
// expects its input: same view, labelled, no label tokens.
func (c *Classifier) CheckDataset(ds *dataset.Dataset) ([]int, error) {
	m := ds.Manifest()
	if err := checkLabelled(ds); err != nil {
		return nil, err
	}
	if m.Options.View != c.View {
		return nil, fmt.Errorf("%w: dataset %s has view %+v, the classifier was trained on %+v: rebuild the dataset with the same --mask and limits",
			ErrView, ds.Dir(), m.Options.View, c.View)
	}
	return LabelMap(c.Labels, m)
}

func checkLabelled(ds *dataset.Dataset) error {
	m := ds.Manifest()
	if len(m.Labels) == 0 {
		return fmt.Errorf("%w: %s is unlabelled (build it with --labels)", ErrData, ds.Dir())
	}
	if m.Options.LabelTokens {
		return fmt.Errorf("%w: %s was built with --label-tokens: every flow carries its label token, the classifier would read the answer; rebuild without it",
			ErrData, ds.Dir())
	}
	return nil
}

// Evaluate classifies every flow of the split with c, batch flows per
// forward pass. mapping is CheckDataset's label map. progress (may be nil)
// is called with the flows done.
func (c *Classifier) Evaluate(ctx context.Context, s *dataset.Split, mapping []int, batch int, progress func(int)) (*Predictions, error) {
	if s.Len() == 0 {
		return nil, fmt.Errorf("%w: split %s has no flows", ErrData, s.Name)
	}
	return predictSplit(ctx, c.Model, s, mapping, c.Context, batch, progress, nil)
}

// predictSplit runs m over split s in order. With loss not nil it also
// computes the mean (unweighted) cross-entropy of the true classes.
// maxActivationBytes bounds the activations of one forward
// (model.ActivationBytes): a batch of long flows (12,032 or 32,768 tokens)
// runs as fewer rows at a time, so fine-tuning and evaluating at long
// contexts fit in memory (at 12,032 tokens a batch of 32 needs 35 GB with
// the small config); short contexts keep their batch.
var maxActivationBytes int64 = 2 << 30

// fitRows is the number of rows of context T, at most want (and at least
// 1), whose activations fit in maxActivationBytes.
func fitRows(m *model.Model, T, want int) int {
	b := max(want, 1)
	for b > 1 && m.ActivationBytes(b, T) > maxActivationBytes {
		b--
	}
	return b
}

func predictSplit(ctx context.Context, m *model.Model, s *dataset.Split, mapping []int, T, batch int, progress func(int), loss *float64) (*Predictions, error) {
	batch = fitRows(m, T, batch)
	ld, err := dataset.NewClsLoader(s, dataset.ClsOptions{Batch: batch, Context: T})
	if err != nil {
		return nil, err
	}
	tok := make([]int32, batch*T)
	pos, lab := make([]int32, batch), make([]int32, batch)
	flows := make([]int, batch)
	p := &Predictions{}
	K := m.Config.Classes
	var ce float64
	train := m.Train
	m.Train = false
	defer func() { m.Train = train }()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := ld.Next(tok, pos, lab, flows)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		_, probs, err := m.ForwardClassify(tok[:n*T], n, T, pos[:n], nil)
		if err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			pr := probs[i*K : (i+1)*K : (i+1)*K]
			k := Argmax(pr)
			y := int(lab[i])
			if y >= 0 && mapping != nil {
				y = mapping[y]
			}
			if y < 0 {
				return nil, fmt.Errorf("%w: split %s flow %d has no label the classifier knows", ErrLabels, s.Name, flows[i])
			}
			p.add(y, k, pr[k], flows[i], s.Meta(flows[i]))
			ce -= math.Log(math.Max(float64(pr[y]), 1e-30))
		}
		if progress != nil {
			progress(n)
		}
	}
	if loss != nil {
		*loss = ce / float64(max(len(p.Labels), 1))
	}
	return p, nil
}

// BaselineOptions configure Baseline.
type BaselineOptions struct {
	Packets int    // first packets per flow the features look at (default 20)
	Trees   int    // random forest size (default 100)
	Seed    uint64 // forest seed
	Workers int    // captures read in parallel (default 2)
	K       int    // neighbours of the k-NN baseline (default 5)
}

// BaselineResult is the random forest's outcome on the evaluated split.
type BaselineResult struct {
	Name     string   `json:"name"`
	Features []string `json:"features"`
	Packets  int      `json:"packets"`
	Trees    int      `json:"trees"`
	Train    int      `json:"train_flows"`
	Pred     *Predictions
	// KNNPred are the k-NN baseline's predictions (metric.FitKNN, K
	// neighbours, log-mapped standardised features: the same features).
	KNNPred *Predictions
	K       int `json:"k"`
}

// BaselineFeatureNames are the baseline's feature names for n packets.
func BaselineFeatureNames(n int) []string {
	names := metric.FirstNNames(n)
	return append(names, metric.FlowFeatureNames[:]...)
}

// Baseline trains a random forest on the flow features of the train split
// and predicts the flows of split eval. mapping maps dataset label ids to
// the report's class ids (nil: identity); k is the number of report classes.
func Baseline(ctx context.Context, ds *dataset.Dataset, eval string, mapping []int, k int, o BaselineOptions) (*BaselineResult, error) {
	if o.Packets <= 0 {
		o.Packets = 20
	}
	if o.Trees <= 0 {
		o.Trees = 100
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.K <= 0 {
		o.K = 5
	}
	tr, err := ds.Split("train")
	if err != nil {
		return nil, err
	}
	ev, err := ds.Split(eval)
	if err != nil {
		return nil, err
	}
	feats, err := flowFeatures(ctx, ds, []*dataset.Split{tr, ev}, o)
	if err != nil {
		return nil, err
	}
	label := func(y int32) int {
		if mapping == nil {
			return int(y)
		}
		if y < 0 || int(y) >= len(mapping) {
			return -1
		}
		return mapping[y]
	}
	var X [][]float64
	var y []int
	for i := 0; i < tr.Len(); i++ {
		m := tr.Meta(i)
		if l := label(m.Label); l >= 0 {
			X = append(X, feats[0][i])
			y = append(y, l)
		}
	}
	if len(X) == 0 {
		return nil, fmt.Errorf("%w: the train split has no labelled flows", ErrData)
	}
	f, err := metric.Fit(X, y, k, metric.ForestOptions{Trees: o.Trees, Seed: o.Seed, Workers: o.Workers})
	if err != nil {
		return nil, err
	}
	nn, err := metric.FitKNN(X, y, k, metric.KNNOptions{K: min(o.K, len(X)), Log: true})
	if err != nil {
		return nil, err
	}
	p, pk := &Predictions{}, &Predictions{}
	for i := 0; i < ev.Len(); i++ {
		m := ev.Meta(i)
		l := label(m.Label)
		if l < 0 {
			return nil, fmt.Errorf("%w: split %s flow %d has no label the classifier knows", ErrLabels, eval, i)
		}
		pr := f.PredictProba(feats[1][i])
		best := 0
		for j, v := range pr {
			if v > pr[best] {
				best = j
			}
		}
		p.add(l, best, float32(pr[best]), i, m)
		pk.add(l, nn.Predict(feats[1][i]), 1, i, m)
	}
	return &BaselineResult{Name: "random forest on flow features", Features: BaselineFeatureNames(o.Packets),
		Packets: o.Packets, Trees: o.Trees, Train: len(X), Pred: p, KNNPred: pk, K: min(o.K, len(X))}, nil
}

// flowFeatures re-reads the captures of the splits' flows and returns, per
// split, each flow's feature vector (in split order).
func flowFeatures(ctx context.Context, ds *dataset.Dataset, splits []*dataset.Split, o BaselineOptions) ([][][]float64, error) {
	man := ds.Manifest()
	type ref struct{ split, idx int }
	want := map[uint32]map[uint64][]ref{} // file -> flow id -> flows
	out := make([][][]float64, len(splits))
	for si, s := range splits {
		out[si] = make([][]float64, s.Len())
		for i := 0; i < s.Len(); i++ {
			m := s.Meta(i)
			if int(m.File) >= len(man.Inputs) {
				return nil, fmt.Errorf("%w: split %s flow %d: file index %d, the manifest lists %d inputs",
					ErrBaselineInput, s.Name, i, m.File, len(man.Inputs))
			}
			if want[m.File] == nil {
				want[m.File] = map[uint64][]ref{}
			}
			want[m.File][m.FlowID] = append(want[m.File][m.FlowID], ref{si, i})
		}
	}
	files := make([]uint32, 0, len(want))
	for f := range want {
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i] < files[j] })
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	next := make(chan uint32)
	n := o.Packets
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pkts := make([]metric.Pkt, 0, n)
			for fi := range next {
				in := man.Inputs[fi]
				refs := want[fi]
				found := 0
				err := func() error {
					f, err := os.Open(in.Path)
					if err != nil {
						return fmt.Errorf("%w: %v (paths are as given to dataset build; run from the same directory, or use --no-baseline)",
							ErrBaselineInput, err)
					}
					defer f.Close()
					// The view keeps one packet of tokens: only Info is used.
					opts := codec.EncodeOptions{Flow: man.Options.Flow, View: codec.View{HeaderOnly: true, MaxPackets: 1},
						KeepTrailing: true, MaxPacketInfo: n}
					_, err = codec.EncodeFlows(ctx, f, opts, func(ef *codec.EncodedFlow) error {
						rs := refs[ef.ID]
						if len(rs) == 0 {
							return nil
						}
						pkts = pkts[:0]
						for _, pi := range ef.Info {
							pkts = append(pkts, metric.Pkt{TsNanos: pi.Nanos, Out: pi.C2S, Size: int(pi.OrigLen)})
						}
						v := metric.FirstN(make([]float64, 0, 3*n+metric.NumFlowFeatures), pkts, n)
						v = metric.FlowFeatures(v, pkts)
						for i, x := range v {
							if math.IsNaN(x) || math.IsInf(x, 0) {
								v[i] = 0
							}
						}
						for _, r := range rs {
							out[r.split][r.idx] = v
						}
						found++
						return nil
					})
					if err != nil {
						return fmt.Errorf("%w: %s: %v", ErrBaselineInput, in.Path, err)
					}
					if found != len(refs) {
						return fmt.Errorf("%w: %s holds %d of the dataset's %d flows from it (changed since the build?)",
							ErrBaselineInput, in.Path, found, len(refs))
					}
					return nil
				}()
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, f := range files {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		next <- f
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// IsInputError reports whether err is a baseline input problem (missing
// captures), which callers may downgrade to a warning.
func IsInputError(err error) bool { return errors.Is(err, ErrBaselineInput) }
