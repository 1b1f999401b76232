package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/trafficgpt/trafficgpt/internal/codec"
)

// Subset writes into dir (which must not exist, or be empty) a dataset that
// holds, of each split of src named in keep, only the flows at the given
// indices (in split order; they are written sorted, duplicates once), and
// every other split whole. The manifest is src's with the splits' and
// inputs' flow counts recomputed and Options.Extra["subset_of"] set to src's
// manifest hash; inputs (so the baseline can re-read the captures) and the
// audit are src's (a subset of splits that do not leak does not leak). As in
// Build, labels without flows left are dropped (ids renumbered, name order
// kept) unless src has label tokens. It is how label budgets are made: a smaller train split, the same
// valid and test splits. Like Build, it writes into a temporary sibling and
// renames it into place only when everything succeeded.
func Subset(dir string, src *Dataset, keep map[string][]int) (*Manifest, error) {
	sm := src.Manifest()
	for name := range keep {
		if _, ok := sm.Splits[name]; !ok {
			return nil, fmt.Errorf("%w: %s has no split %q to take a subset of", ErrDataset, src.Dir(), name)
		}
	}
	m := *sm
	m.Options.Extra = map[string]any{}
	for k, v := range sm.Options.Extra {
		m.Options.Extra[k] = v
	}
	m.Options.Extra["subset_of"] = sm.Hash()
	m.Inputs = append([]InputFile(nil), sm.Inputs...)
	for i := range m.Inputs {
		m.Inputs[i].Flows = 0
	}
	m.Splits = map[string]SplitInfo{}
	// The flows of each split, sorted; then the labels they use.
	chosen := map[string][]int{}
	present := make([]bool, len(sm.Labels))
	for _, name := range sm.SplitNames() {
		s, err := src.Split(name)
		if err != nil {
			return nil, err
		}
		idx, ok := keep[name]
		if !ok {
			idx = make([]int, s.Len())
			for i := range idx {
				idx[i] = i
			}
		} else {
			idx = slices.Compact(slices.Sorted(slices.Values(idx)))
		}
		for _, i := range idx {
			if i < 0 || i >= s.Len() {
				return nil, fmt.Errorf("%w: %s: split %s has %d flows, no flow %d", ErrDataset, src.Dir(), name, s.Len(), i)
			}
			if l := s.Meta(i).Label; l >= 0 && int(l) < len(present) {
				present[l] = true
			}
		}
		chosen[name] = idx
	}
	remap := make([]int32, len(sm.Labels))
	if !sm.Options.LabelTokens {
		m.Labels = nil
		for i, n := range sm.Labels {
			remap[i] = -1
			if present[i] {
				remap[i] = int32(len(m.Labels))
				m.Labels = append(m.Labels, n)
			}
		}
	} else {
		for i := range remap {
			remap[i] = int32(i)
		}
	}
	err := writeDir(dir, func(tmp string) error {
		for _, name := range sm.SplitNames() {
			s, _ := src.Split(name)
			idx := chosen[name]
			info := SplitInfo{Shard: name + ".tgs", PerClass: map[string]int{}}
			w, err := createShard(filepath.Join(tmp, info.Shard), codec.Version)
			if err != nil {
				return err
			}
			var toks []uint16
			for _, i := range idx {
				if toks, err = s.Flow(i, toks[:0]); err != nil {
					w.f.Close()
					return err
				}
				meta := s.Meta(i)
				if meta.Label >= 0 && int(meta.Label) < len(remap) {
					meta.Label = remap[meta.Label]
				}
				if err := w.add(toks, meta); err != nil {
					w.f.Close()
					return err
				}
				info.Flows++
				info.Packets += int64(meta.Packets)
				info.Tokens += int64(len(toks))
				if meta.Label >= 0 && int(meta.Label) < len(m.Labels) {
					info.PerClass[m.Labels[meta.Label]]++
				}
				if int(meta.File) < len(m.Inputs) {
					m.Inputs[meta.File].Flows++
				}
			}
			if err := w.close(); err != nil {
				return err
			}
			m.Splits[name] = info
		}
		mb, err := json.MarshalIndent(&m, "", "  ")
		if err != nil {
			return err
		}
		mb = append(mb, '\n')
		if err := os.WriteFile(filepath.Join(tmp, "manifest.json"), mb, 0o644); err != nil {
			return err
		}
		sum := sha256.Sum256(mb)
		m.hash = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}
