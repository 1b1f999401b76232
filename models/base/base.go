package base

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
)

// Name is the model name that Resolve turns into the base model's file.
const Name = "base"

//go:embed model.safetensors
var weights []byte

//go:embed info.json
var infoJSON []byte

// ErrDigest means the embedded weights do not match info.json (a broken
// build).
var ErrDigest = errors.New("base: embedded weights do not match their recorded SHA-256")

// Info is the identity of the shipped model (info.json).
type Info struct {
	Name      string             `json:"name"`
	SHA256    string             `json:"sha256"` // of model.safetensors
	Bytes     int64              `json:"bytes"`
	Preset    string             `json:"preset"`
	Params    int                `json:"params"`
	Command   string             `json:"command"` // how it was trained
	Corpus    string             `json:"corpus"`
	DataHash  string             `json:"data_sha256"` // SHA-256 of data.sha256
	Steps     int                `json:"steps"`
	Tokens    int64              `json:"tokens"`
	Hours     float64            `json:"hours"`
	ValidLoss float64            `json:"valid_loss"`
	ByKind    map[string]float64 `json:"valid_loss_by_kind"`
	Trained   string             `json:"trained"` // date
}

// Identity returns the shipped model's Info.
func Identity() (Info, error) {
	var in Info
	if err := json.Unmarshal(infoJSON, &in); err != nil {
		return in, fmt.Errorf("base: info.json: %w", err)
	}
	return in, nil
}

// String is a one-line identity, e.g. for `trafficgpt version`.
func (in Info) String() string {
	sha := in.SHA256
	if len(sha) > 12 {
		sha = sha[:12]
	}
	return fmt.Sprintf("%s (%s, %.1f M parameters, sha256 %s, %d steps / %.1f M tokens, valid loss %.3f, trained %s)",
		in.Name, in.Preset, float64(in.Params)/1e6, sha, in.Steps, float64(in.Tokens)/1e6, in.ValidLoss, in.Trained)
}

// Resolve returns path, or for Name the path of the base model's file in
// the user's cache directory, written there from the embedded copy if it is
// missing or differs.
func Resolve(path string) (string, error) {
	if path != Name {
		return path, nil
	}
	in, err := Identity()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(weights)
	digest := hex.EncodeToString(sum[:])
	if digest != in.SHA256 {
		return "", fmt.Errorf("%w: %s, recorded %s", ErrDigest, digest, in.SHA256)
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "trafficgpt")
	p := filepath.Join(dir, "base-"+digest[:12]+".safetensors")
	if have, err := os.ReadFile(p); err == nil && bytes.Equal(have, weights) {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("base: %w", err)
	}
	if err := atomicfile.WriteFile(p, weights); err != nil {
		return "", fmt.Errorf("base: %w", err)
	}
	return p, nil
}
