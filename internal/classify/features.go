package classify

import (
	"context"

	"github.com/trafficgpt/trafficgpt/internal/dataset"
)

// SplitFeatures returns, for each named split of ds, every flow's baseline
// feature vector in split order (BaselineFeatureNames(o.Packets)), read
// from the dataset's input captures as Baseline reads them. Callers that
// score many train subsets (label budgets) compute the features once.
func SplitFeatures(ctx context.Context, ds *dataset.Dataset, splits []string, o BaselineOptions) ([][][]float64, error) {
	if o.Packets <= 0 {
		o.Packets = 20
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	ss := make([]*dataset.Split, len(splits))
	for i, name := range splits {
		s, err := ds.Split(name)
		if err != nil {
			return nil, err
		}
		ss[i] = s
	}
	return flowFeatures(ctx, ds, ss, o)
}
