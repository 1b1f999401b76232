package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/trafficgpt/trafficgpt/internal/codec"
)

// ManifestFormat names the manifest layout.
const ManifestFormat = "trafficgpt-dataset-1"

// Manifest describes a dataset: where it came from, how it was built, what it
// holds and whether its splits leak.
type Manifest struct {
	Format       string               `json:"format"`
	CodecVersion int                  `json:"codec_version"`
	Tool         string               `json:"tool"`
	Options      BuildOptions         `json:"options"`
	Labels       []string             `json:"labels"` // label id -> name; empty when unlabelled
	Inputs       []InputFile          `json:"inputs"`
	Skipped      []SkippedFile        `json:"skipped"`
	Splits       map[string]SplitInfo `json:"splits"`
	Dropped      Dropped              `json:"dropped"`
	Groups       int                  `json:"groups"`
	Audit        Audit                `json:"audit"`
	// Warnings are the problems of the splits (see SplitTolerance): a
	// build with warnings fails unless BuildOptions.AcceptSplitWarnings.
	Warnings       []string `json:"warnings,omitempty"`
	hash           string
	groupsPerLabel map[int32]int // set by assignSplits for checkSplits
}

// InputFile is one capture that went into the dataset.
type InputFile struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Bytes   int64  `json:"bytes"`
	Flows   int    `json:"flows"`   // flows kept
	Packets int    `json:"packets"` // packets read
	Label   string `json:"label,omitempty"`
	Split   string `json:"split,omitempty"` // when all its flows went to one split
}

// SkippedFile is a capture that could not be used.
type SkippedFile struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// SplitInfo counts one split.
type SplitInfo struct {
	Shard    string         `json:"shard"`
	Flows    int            `json:"flows"`
	Packets  int64          `json:"packets"`
	Tokens   int64          `json:"tokens"`
	PerClass map[string]int `json:"per_class,omitempty"`
	Target   float64        `json:"target,omitempty"` // the asked fraction of the flows
	Frac     float64        `json:"frac,omitempty"`   // the fraction it got
}

// Dropped counts flows left out, by reason.
type Dropped struct {
	Unlabelled int `json:"unlabelled"`
	TooShort   int `json:"too_short"`
	Duplicates int `json:"duplicates"`
	OverCap    int `json:"over_class_cap"`
}

// Audit is the leakage audit: things that appear in more than one split.
type Audit struct {
	FilesAcrossSplits int `json:"files_across_splits"`
	// KeysAcrossSplits counts connections (a 5-tuple with overlapping
	// time) in more than one split; KeysReused 5-tuples seen in more than
	// one split at disjoint times (ports reused, constant exchanges).
	KeysAcrossSplits     int            `json:"connections_across_splits"`
	KeysReused           int            `json:"five_tuples_reused_across_splits"`
	PayloadsAcrossSplits int            `json:"payloads_across_splits"` // payloads of at least MinAuditPayload bytes
	PayloadsPerClass     map[string]int `json:"payloads_across_splits_per_class,omitempty"`
	Clean                bool           `json:"clean"`
}

// MinAuditPayload is the smallest flow payload (bytes) that the duplicate
// audit and the grouping consider: short payloads (greetings, empty ACK
// flows) repeat legitimately across unrelated flows.
const MinAuditPayload = 32

// Hash is the SHA-256 of manifest.json as written: models record it.
func (m *Manifest) Hash() string { return m.hash }

// SplitNames returns the split names in a stable order (train, valid, test, others).
func (m *Manifest) SplitNames() []string {
	var names []string
	for n := range m.Splits {
		names = append(names, n)
	}
	rank := map[string]int{"train": 0, "valid": 1, "test": 2}
	sort.Slice(names, func(i, j int) bool {
		ri, oki := rank[names[i]]
		rj, okj := rank[names[j]]
		if oki != okj {
			return oki
		}
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

func readManifest(dir string) (*Manifest, error) {
	p := filepath.Join(dir, "manifest.json")
	b, err := os.ReadFile(p)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%w: %s has no manifest.json (not a dataset, or its build did not finish)", ErrDataset, dir)
		}
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDataset, p, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("%w: %s: format %q, this build reads %q", ErrDataset, p, m.Format, ManifestFormat)
	}
	if m.CodecVersion != codec.Version {
		return nil, fmt.Errorf("%w: %s: built with codec version %d, this build is codec version %d: rebuild the dataset",
			ErrDataset, dir, m.CodecVersion, codec.Version)
	}
	sum := sha256.Sum256(b)
	m.hash = hex.EncodeToString(sum[:])
	return &m, nil
}

// Dataset is an opened dataset directory.
type Dataset struct {
	dir    string
	m      *Manifest
	splits map[string]*Split
}

// Open opens a dataset directory and checks its manifest.
func Open(dir string) (*Dataset, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDataset, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrDataset, dir)
	}
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	return &Dataset{dir: dir, m: m, splits: map[string]*Split{}}, nil
}

// Manifest returns the dataset's manifest.
func (d *Dataset) Manifest() *Manifest { return d.m }

// Dir is the dataset directory.
func (d *Dataset) Dir() string { return d.dir }

// Split opens a split ("train", "valid", "test", ...).
func (d *Dataset) Split(name string) (*Split, error) {
	if s := d.splits[name]; s != nil {
		return s, nil
	}
	info, ok := d.m.Splits[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s has no split %q (it has %v)", ErrDataset, d.dir, name, d.m.SplitNames())
	}
	sh, err := openShard(filepath.Join(d.dir, info.Shard))
	if err != nil {
		return nil, err
	}
	if sh.codec != codec.Version {
		sh.close()
		return nil, fmt.Errorf("%w: %s: codec version %d, this build is %d", ErrDataset, info.Shard, sh.codec, codec.Version)
	}
	s := &Split{Name: name, sh: sh, labels: d.m.Labels, Unchecked: sh.version < 2}
	d.splits[name] = s
	return s, nil
}

// Warnings lists what a user should know about the splits opened so far:
// version-1 shards, which have no checksums.
func (d *Dataset) Warnings() []string {
	var out []string
	for _, name := range d.m.SplitNames() {
		if s := d.splits[name]; s != nil && s.Unchecked {
			out = append(out, fmt.Sprintf("%s: shard %s is format version 1, without checksums: corruption cannot be detected (rebuild the dataset to get them)",
				d.dir, d.m.Splits[name].Shard))
		}
	}
	return out
}

// Close closes the split files.
func (d *Dataset) Close() error {
	for _, s := range d.splits {
		s.sh.close()
	}
	return nil
}

// Split is one split of a dataset: flows with their tokens and labels.
type Split struct {
	Name string
	// Unchecked is set for a version-1 shard: it has no checksums, so
	// corruption cannot be detected; callers warn (see Dataset.Warnings).
	Unchecked bool
	sh        *shard
	labels    []string
	buf       []byte
}

// Len is the number of flows.
func (s *Split) Len() int { return len(s.sh.index) }

// Tokens is the number of tokens of all flows.
func (s *Split) Tokens() int64 { return int64(s.sh.tokens) }

// Meta returns flow i's index entry.
func (s *Split) Meta(i int) FlowMeta { return s.sh.index[i] }

// Lengths summarises the token lengths of a split's flows.
type Lengths struct {
	P50, P90, P99, Max int
	Mean               float64
}

// Lengths reads the flows' token lengths from the shard index (no flow is
// read); ok is false for an empty split. Pq is the length at rank
// floor(q*n) of the n sorted lengths.
func (s *Split) Lengths() (l Lengths, ok bool) {
	lens := make([]int, s.Len())
	sum := 0
	for i := range lens {
		lens[i] = int(s.Meta(i).Len)
		sum += lens[i]
	}
	if len(lens) == 0 {
		return l, false
	}
	sort.Ints(lens)
	q := func(p float64) int { return lens[min(len(lens)-1, int(p*float64(len(lens))))] }
	return Lengths{P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: lens[len(lens)-1], Mean: float64(sum) / float64(len(lens))}, true
}

// Labels names the label ids.
func (s *Split) Labels() []string { return s.labels }

// Flow appends flow i's tokens to dst. Not safe for concurrent use.
func (s *Split) Flow(i int, dst []uint16) ([]uint16, error) {
	if i < 0 || i >= len(s.sh.index) {
		return dst, fmt.Errorf("dataset: split %s: flow %d out of range [0, %d)", s.Name, i, len(s.sh.index))
	}
	return s.sh.read(i, dst, &s.buf)
}
