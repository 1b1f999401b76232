package classify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

// OpenSetFile is the open-set rule of a classifier directory.
const OpenSetFile = "openset.json"

// Open-set scores (higher: more like the known classes).
const (
	OpenMSP         = "msp"         // the largest class probability
	OpenEnergy      = "energy"      // log-sum-exp of the head's logits (negative free energy)
	OpenMahalanobis = "mahalanobis" // minus the smallest Mahalanobis distance of the <cls> features to a class mean (shared covariance)
)

// OpenSetMethods lists the scores, in the order reports show them.
var OpenSetMethods = []string{OpenMSP, OpenEnergy, OpenMahalanobis}

// ErrOpenSet marks an unusable open-set rule or calibration.
var ErrOpenSet = errors.New("classify: open-set rule")

// OpenSet rejects flows unlike every known class: a flow whose Score is
// below Threshold is Unknown. Threshold is the FRR quantile of the scores of
// the valid split's (known) flows, so about that share of known flows is
// rejected.
type OpenSet struct {
	Method     string  `json:"method"`
	Threshold  float64 `json:"threshold"`
	FRR        float64 `json:"false_rejection_rate"` // target on the valid split
	ValidFlows int     `json:"valid_flows"`
	TrainFlows int     `json:"train_flows,omitempty"` // flows the class means and covariance came from
	// Mahalanobis: class means (Classes x C, row-major) and the shared
	// precision matrix (C x C), float32.
	Means     []float32 `json:"means,omitempty"`
	Precision []float32 `json:"precision,omitempty"`

	// energy: the head's weights (Classes x C) and bias, from the model.
	headW, headB []float32
	muPmu        []float64 // mahalanobis: mu_k' P mu_k per class
	pf           []float64
}

// Known reports whether a score passes the rule.
func (o *OpenSet) Known(score float64) bool { return score >= o.Threshold }

// Score is the open-set score of one flow from its class probabilities and
// <cls> features (Batcher's emit arguments).
func (o *OpenSet) Score(probs, feats []float32) float64 {
	switch o.Method {
	case OpenEnergy:
		return energy(o.headW, o.headB, feats)
	case OpenMahalanobis:
		return o.mahalanobis(feats)
	}
	best := float32(0)
	for _, p := range probs {
		best = max(best, p)
	}
	return float64(best)
}

func energy(w, b, f []float32) float64 {
	K, C := len(b), len(f)
	logits := make([]float64, K)
	m := math.Inf(-1)
	for k := 0; k < K; k++ {
		s := float64(b[k])
		row := w[k*C : (k+1)*C]
		for i, x := range f {
			s += float64(row[i]) * float64(x)
		}
		logits[k] = s
		m = max(m, s)
	}
	sum := 0.0
	for _, l := range logits {
		sum += math.Exp(l - m)
	}
	return m + math.Log(sum)
}

// mahalanobis is -min_k (f-mu_k)' P (f-mu_k), computed as
// f'Pf - 2 mu_k'Pf + mu_k'P mu_k with Pf once per flow.
func (o *OpenSet) mahalanobis(f []float32) float64 {
	C := len(f)
	K := len(o.Means) / C
	if cap(o.pf) < C {
		o.pf = make([]float64, C)
	}
	pf := o.pf[:C]
	for i := 0; i < C; i++ {
		row := o.Precision[i*C : (i+1)*C]
		s := 0.0
		for j, x := range f {
			s += float64(row[j]) * float64(x)
		}
		pf[i] = s
	}
	best := math.Inf(1)
	for k := 0; k < K; k++ {
		mu := o.Means[k*C : (k+1)*C]
		d := 0.0
		for i := 0; i < C; i++ {
			d += (float64(f[i]) - 2*float64(mu[i])) * pf[i]
		}
		best = min(best, d+o.muPmu[k])
	}
	return -best
}

// bind gives the rule what it takes from the model (the head, for energy)
// and checks its shapes.
func (o *OpenSet) bind(m *model.Model) error {
	K, C := m.Config.Classes, m.Config.Width
	switch o.Method {
	case OpenMSP:
	case OpenEnergy:
		for _, pi := range m.ParamInfos() {
			switch pi.Name {
			case "cls.weight":
				o.headW = m.Params()[pi.Offset : pi.Offset+pi.Size]
			case "cls.bias":
				o.headB = m.Params()[pi.Offset : pi.Offset+pi.Size]
			}
		}
		if len(o.headW) != K*C || len(o.headB) != K {
			return fmt.Errorf("%w: energy needs the head's weights", ErrOpenSet)
		}
	case OpenMahalanobis:
		if len(o.Means) != K*C || len(o.Precision) != C*C {
			return fmt.Errorf("%w: mahalanobis: %d means and %d precision values for %d classes of width %d", ErrOpenSet, len(o.Means), len(o.Precision), K, C)
		}
		o.muPmu = make([]float64, K)
		for k := 0; k < K; k++ {
			mu := o.Means[k*C : (k+1)*C]
			for i := 0; i < C; i++ {
				row := o.Precision[i*C : (i+1)*C]
				s := 0.0
				for j := 0; j < C; j++ {
					s += float64(row[j]) * float64(mu[j])
				}
				o.muPmu[k] += float64(mu[i]) * s
			}
		}
	default:
		return fmt.Errorf("%w: unknown method %q (want %v)", ErrOpenSet, o.Method, OpenSetMethods)
	}
	if math.IsNaN(o.Threshold) || o.FRR < 0 || o.FRR >= 1 {
		return fmt.Errorf("%w: threshold %v at false-rejection rate %v", ErrOpenSet, o.Threshold, o.FRR)
	}
	return nil
}

// loadOpenSet reads dir's openset.json; a missing file is no rule (nil).
func loadOpenSet(dir string, m *model.Model) (*OpenSet, error) {
	b, err := os.ReadFile(filepath.Join(dir, OpenSetFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var o OpenSet
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrOpenSet, filepath.Join(dir, OpenSetFile), err)
	}
	if err := o.bind(m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, OpenSetFile), err)
	}
	return &o, nil
}

// SaveOpenSet writes the rule into the classifier directory dir.
func SaveOpenSet(dir string, o *OpenSet) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, OpenSetFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, OpenSetFile))
}

// SplitScores are the classifier's outputs on every flow of a split.
type SplitScores struct {
	Labels []int     // classifier class ids (-1: a label the classifier does not know)
	Probs  []float32 // (N, Classes)
	Feats  []float32 // (N, C)
}

// ScoreSplit runs the classifier over a split and keeps probabilities and
// <cls> features. mapping maps the dataset's labels to the classifier's
// (nil: the same ids); labels it does not know become -1.
func (c *Classifier) ScoreSplit(ctx context.Context, s *dataset.Split, mapping []int, batch int) (*SplitScores, error) {
	T := c.Context
	ld, err := dataset.NewClsLoader(s, dataset.ClsOptions{Batch: 1, Context: T})
	if err != nil {
		return nil, err
	}
	out := &SplitScores{}
	bt := NewBatcher(c, batch, func(y int, probs, feats []float32) error {
		out.Labels = append(out.Labels, y)
		out.Probs = append(out.Probs, probs...)
		out.Feats = append(out.Feats, feats...)
		return nil
	})
	tok, pos, lab, flows := make([]int32, T), make([]int32, 1), make([]int32, 1), make([]int, 1)
	row := make([]uint16, T)
	for n := 0; ; n++ {
		if n%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		k, err := ld.Next(tok, pos, lab, flows)
		if k == 0 || err != nil {
			break
		}
		for i := 0; i < int(pos[0]); i++ {
			row[i] = uint16(tok[i])
		}
		y := int(lab[0])
		if y >= 0 && mapping != nil {
			y = mapping[y]
		}
		if err := bt.Add(row[:pos[0]], y); err != nil {
			return nil, err
		}
	}
	if err := bt.Flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// Scores are the open-set scores of every flow under rule o (Threshold
// unused).
func (o *OpenSet) Scores(s *SplitScores) []float64 {
	N := len(s.Labels)
	if N == 0 {
		return nil
	}
	K, C := len(s.Probs)/N, len(s.Feats)/N
	out := make([]float64, N)
	for i := range out {
		out[i] = o.Score(s.Probs[i*K:(i+1)*K], s.Feats[i*C:(i+1)*C])
	}
	return out
}

// FitOpenSet builds the rule of one method: Mahalanobis class means and
// shared covariance from the train split's features (class labels >= 0),
// then the threshold at the frr quantile of the valid split's scores.
func (c *Classifier) FitOpenSet(method string, train, valid *SplitScores, frr float64) (*OpenSet, error) {
	o := &OpenSet{Method: method, FRR: frr, ValidFlows: len(valid.Labels)}
	if method == OpenMahalanobis {
		if err := o.fitGaussian(train, c.Model.Config.Classes, c.Model.Config.Width); err != nil {
			return nil, err
		}
	}
	if err := o.bind(c.Model); err != nil {
		return nil, err
	}
	sc := o.Scores(valid)
	if len(sc) == 0 {
		return nil, fmt.Errorf("%w: no valid flows to calibrate on", ErrOpenSet)
	}
	sort.Float64s(sc)
	o.Threshold = sc[min(int(math.Floor(frr*float64(len(sc)))), len(sc)-1)]
	return o, nil
}

// fitGaussian sets Means and Precision: per-class means, the pooled
// within-class covariance shrunk 10% toward its mean variance (stable with
// fewer flows than dimensions), inverted by Cholesky.
func (o *OpenSet) fitGaussian(s *SplitScores, K, C int) error {
	mean := make([]float64, K*C)
	count := make([]int, K)
	for i, y := range s.Labels {
		if y < 0 || y >= K {
			continue
		}
		count[y]++
		for j := 0; j < C; j++ {
			mean[y*C+j] += float64(s.Feats[i*C+j])
		}
	}
	used := 0
	for k := 0; k < K; k++ {
		if count[k] == 0 {
			return fmt.Errorf("%w: class %d has no train flows", ErrOpenSet, k)
		}
		for j := 0; j < C; j++ {
			mean[k*C+j] /= float64(count[k])
		}
		used += count[k]
	}
	cov := make([]float64, C*C)
	d := make([]float64, C)
	for i, y := range s.Labels {
		if y < 0 || y >= K {
			continue
		}
		for j := 0; j < C; j++ {
			d[j] = float64(s.Feats[i*C+j]) - mean[y*C+j]
		}
		for a := 0; a < C; a++ {
			for b := 0; b <= a; b++ {
				cov[a*C+b] += d[a] * d[b]
			}
		}
	}
	tr := 0.0
	for a := 0; a < C; a++ {
		for b := 0; b <= a; b++ {
			cov[a*C+b] /= float64(used)
			cov[b*C+a] = cov[a*C+b]
		}
		tr += cov[a*C+a]
	}
	const shrink = 0.1
	avg := tr/float64(C) + 1e-8
	for a := 0; a < C; a++ {
		for b := 0; b < C; b++ {
			cov[a*C+b] *= 1 - shrink
		}
		cov[a*C+a] += shrink * avg
	}
	prec, err := invertSPD(cov, C)
	if err != nil {
		return err
	}
	o.Means, o.Precision = make([]float32, K*C), make([]float32, C*C)
	for i, v := range mean {
		o.Means[i] = float32(v)
	}
	for i, v := range prec {
		o.Precision[i] = float32(v)
	}
	o.TrainFlows = used
	return nil
}

// invertSPD inverts a symmetric positive definite n x n matrix (Cholesky).
func invertSPD(a []float64, n int) ([]float64, error) {
	l := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			s := a[i*n+j]
			for k := 0; k < j; k++ {
				s -= l[i*n+k] * l[j*n+k]
			}
			if i == j {
				if s <= 0 {
					return nil, fmt.Errorf("%w: covariance not positive definite", ErrOpenSet)
				}
				l[i*n+i] = math.Sqrt(s)
			} else {
				l[i*n+j] = s / l[j*n+j]
			}
		}
	}
	// inv(L) by forward substitution, then inv(A) = inv(L)' inv(L).
	li := make([]float64, n*n)
	for c := 0; c < n; c++ {
		for i := c; i < n; i++ {
			s := 0.0
			if i == c {
				s = 1
			}
			for k := c; k < i; k++ {
				s -= l[i*n+k] * li[k*n+c]
			}
			li[i*n+c] = s / l[i*n+i]
		}
	}
	inv := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			s := 0.0
			for k := i; k < n; k++ {
				s += li[k*n+i] * li[k*n+j]
			}
			inv[i*n+j], inv[j*n+i] = s, s
		}
	}
	return inv, nil
}

// AUROC is the area under the ROC curve of telling known flows (scores
// known, higher is more known) from unknown ones: the probability that a
// random known flow scores above a random unknown one (ties count half).
func AUROC(known, unknown []float64) float64 {
	if len(known) == 0 || len(unknown) == 0 {
		return math.NaN()
	}
	type item struct {
		s     float64
		known bool
	}
	all := make([]item, 0, len(known)+len(unknown))
	for _, s := range known {
		all = append(all, item{s, true})
	}
	for _, s := range unknown {
		all = append(all, item{s, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].s < all[j].s })
	// Mann-Whitney U with mid-ranks.
	rankSum := 0.0
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			j++
		}
		mid := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if all[k].known {
				rankSum += mid
			}
		}
		i = j
	}
	nk, nu := float64(len(known)), float64(len(unknown))
	return (rankSum - nk*(nk+1)/2) / (nk * nu)
}

// Calibrate fits the open-set rule of one method on ds (the classifier's
// view; train split for the Mahalanobis statistics, valid split for the
// threshold at false-rejection rate frr).
func (c *Classifier) Calibrate(ctx context.Context, ds *dataset.Dataset, method string, frr float64, batch int) (*OpenSet, error) {
	mapping, err := c.CheckDataset(ds)
	if err != nil {
		return nil, err
	}
	if frr < 0 || frr >= 1 {
		return nil, fmt.Errorf("%w: false-rejection rate %v outside [0, 1)", ErrOpenSet, frr)
	}
	var sc [2]*SplitScores
	for i, name := range []string{"train", "valid"} {
		s, err := ds.Split(name)
		if err != nil {
			return nil, err
		}
		if sc[i], err = c.ScoreSplit(ctx, s, mapping, batch); err != nil {
			return nil, err
		}
	}
	return c.FitOpenSet(method, sc[0], sc[1], frr)
}

// Dir is the classifier's directory (where openset.json goes).
func (c *Classifier) Dir() string { return c.dir }
