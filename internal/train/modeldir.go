package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trafficgpt/trafficgpt/internal/dataset"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

// LoadModel reads a model directory written by Run (its ModelFile) or a
// checkpoint file, with the checkpoint's metadata.
func LoadModel(path string) (*model.Model, map[string]string, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, ModelFile)
	}
	return model.Load(path)
}

// ModelLabels returns the class labels of the dataset a model was trained
// on (from its metadata), when that dataset put label tokens after <flow>:
// label i is token codec.Label0+i. It is an error when the metadata names
// no dataset, the dataset changed since training (manifest hash) or has no
// label tokens.
func ModelLabels(meta map[string]string) ([]string, error) {
	dir := meta[MetaDatasetPath]
	if dir == "" {
		return nil, fmt.Errorf("the model's metadata names no dataset, so it has no class labels")
	}
	ds, err := dataset.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("the model's dataset: %w", err)
	}
	defer ds.Close()
	man := ds.Manifest()
	if h := meta[MetaDatasetHash]; h != "" && h != man.Hash() {
		return nil, fmt.Errorf("the model's dataset %s changed since training (manifest sha256 %.12s, trained on %.12s)", dir, man.Hash(), h)
	}
	if !man.Options.LabelTokens || len(man.Labels) == 0 {
		return nil, fmt.Errorf("the model was trained on dataset %s, built without --label-tokens: it has no class labels", dir)
	}
	return man.Labels, nil
}

// TrainedContext is the context length a model was trained with, from its
// metadata (0 when the metadata does not say).
func TrainedContext(meta map[string]string) int {
	var to struct {
		Context int `json:"context"`
	}
	if json.Unmarshal([]byte(meta[MetaTrainOptions]), &to) != nil {
		return 0
	}
	return max(to.Context, 0)
}

// LoadGenerator loads a pre-trained model to sample from (LoadModel, not
// in training mode). A classifier (a head over classes, from finetune) is
// refused; name is the model as the user named it, for the message.
func LoadGenerator(path, name string) (*model.Model, map[string]string, error) {
	m, meta, err := LoadModel(path)
	if err != nil {
		return nil, nil, err
	}
	if m.Config.Classes > 0 {
		return nil, nil, fmt.Errorf("--model %s is a classifier (a head over %d classes, from trafficgpt finetune): generate needs a pre-trained model (trafficgpt pretrain -o DIR)", name, m.Config.Classes)
	}
	m.Train = false
	return m, meta, nil
}
