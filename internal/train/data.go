package train

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/trafficgpt/trafficgpt/internal/dataset"
)

// lmLoader adapts dataset.LMLoader to Loader (JSON state).
type lmLoader struct{ l *dataset.LMLoader }

func (a lmLoader) Next(tokens, targets []int32, kinds []uint8) error {
	return a.l.Next(tokens, targets, kinds)
}

func (a lmLoader) State() ([]byte, error) { return json.Marshal(a.l.State()) }

func (a lmLoader) Restore(b []byte) error {
	var st dataset.LoaderState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("loader state: %w", err)
	}
	return a.l.Restore(st)
}

// OpenData opens the dataset at dir and makes packed loaders of (Batch,
// Context) over its "train" split (shuffled with o.Seed) and, when present,
// its "valid" split. Close the returned dataset when done.
func OpenData(dir string, o Options) (Data, *dataset.Dataset, error) {
	ds, err := dataset.Open(dir)
	if err != nil {
		return Data{}, nil, err
	}
	m := ds.Manifest()
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	d := Data{Path: abs, Hash: m.Hash()}
	tr, err := ds.Split("train")
	if err != nil {
		ds.Close()
		return Data{}, nil, err
	}
	ld, err := dataset.NewLMLoader(tr, dataset.LMOptions{Batch: o.Batch, Context: o.Context, Packed: true, Seed: o.Seed})
	if err != nil {
		ds.Close()
		return Data{}, nil, err
	}
	d.Train = lmLoader{ld}
	if _, ok := m.Splits["valid"]; ok {
		va, err := ds.Split("valid")
		if err != nil {
			ds.Close()
			return Data{}, nil, err
		}
		// The valid order is fixed (seed 0) and rewound before each
		// evaluation, so every evaluation scores the same tokens.
		vl, err := dataset.NewLMLoader(va, dataset.LMOptions{Batch: o.Batch, Context: o.Context, Packed: true, Seed: 0})
		if err != nil {
			ds.Close()
			return Data{}, nil, err
		}
		d.Valid = lmLoader{vl}
	}
	return d, ds, nil
}
