package dataset

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// BuildOptions configure Build; they are recorded in the manifest.
type BuildOptions struct {
	Inputs      []string    `json:"inputs"`
	Labels      string      `json:"labels"`       // "", "dir", "file" or "csv:FILE"
	LabelColumn string      `json:"label_column"` // csv labels: the column to use
	Split       []SplitFrac `json:"split"`
	Group       string      `json:"group"` // "file" or "flow"
	Presplit    bool        `json:"presplit"`
	Seed        uint64      `json:"seed"`
	MinPackets  int         `json:"min_packets"`
	MaxPerClass int         `json:"max_per_class"`
	Dedup       bool        `json:"dedup"`
	View        codec.View  `json:"view"`
	Flow        flow.Config `json:"flow"`
	LabelTokens bool        `json:"label_tokens"` // put a label token after <flow> (conditioning)
	// MergePayloads also keeps flows that share a payload of at least
	// MinAuditPayload bytes in one split (by default they are only counted
	// in the audit: constant messages are not copies of one connection).
	MergePayloads bool `json:"merge_payloads,omitempty"`
	// KeepTrailing reads captures cut mid-record up to their last complete
	// record; without it they are skipped (and named) as unreadable.
	KeepTrailing bool `json:"keep_trailing,omitempty"`
	// SpillTokens bounds the tokens a flow holds in memory while it is read
	// (longer flows go to a temporary file; 0: DefaultSpillTokens) and
	// SpillDir is where (default: the system's temporary folder).
	SpillTokens int    `json:"-"`
	SpillDir    string `json:"-"`
	// AcceptSplitWarnings builds even when a split misses its target or a
	// class (Manifest.Warnings); otherwise such a build fails.
	AcceptSplitWarnings bool           `json:"accept_split_warnings,omitempty"`
	Jobs                int            `json:"-"`
	Progress            func(int64)    `json:"-"` // called with bytes of input processed
	Warn                func(string)   `json:"-"` // skipped files and other warnings
	Files               []string       `json:"-"` // the expanded input files (set by the caller)
	Extra               map[string]any `json:"extra,omitempty"`
}

// SplitFrac is one named split and its share of the flows.
type SplitFrac struct {
	Name string  `json:"name"`
	Frac float64 `json:"frac"`
}

// ParseSplit reads "train=0.8,valid=0.1,test=0.1".
func ParseSplit(s string) ([]SplitFrac, error) {
	var out []SplitFrac
	sum := 0.0
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || f < 0 || name == "" || seen[name] {
			return nil, fmt.Errorf("dataset: bad split %q: want name=fraction,... e.g. train=0.8,valid=0.1,test=0.1", part)
		}
		seen[name] = true
		out = append(out, SplitFrac{name, f})
		sum += f
	}
	if sum < 0.999 || sum > 1.001 {
		return nil, fmt.Errorf("dataset: split fractions sum to %g, not 1", sum)
	}
	return out, nil
}

// pending is a flow kept by the first pass, its tokens in a temp file.
type pending struct {
	file     int
	flowID   uint64
	label    int32
	packets  uint32
	worker   int
	off, n   int64 // token offset and count in the worker's temp file
	keyHash  uint64
	hasKey   bool
	payHash  uint64
	payLen   int64
	fullHash uint64
	split    int
	// first and last packet times (ns since the epoch): a connection is a
	// 5-tuple with overlapping times
	firstNs, lastNs int64
}

type fileResult struct {
	drops   map[string]int
	flows   []pending
	packets int
	sha     string
	bytes   int64
	err     error
	label   string
}

type labeler struct {
	mode   string
	names  map[string]int32
	csvMap map[csvKey]string
}

type csvKey struct {
	pcap  string
	proto uint8
	a, b  netip.AddrPort
}

func normKey(pcap string, proto uint8, x, y netip.AddrPort) csvKey {
	if y.Addr().Less(x.Addr()) || (y.Addr() == x.Addr() && y.Port() < x.Port()) {
		x, y = y, x
	}
	return csvKey{pcap, proto, x, y}
}

func loadCSVLabels(path, column string) (map[csvKey]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"pcap", "l4", "client", "server", column} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s: no column %q (columns: %s)", path, need, strings.Join(head, ","))
		}
	}
	out := map[csvKey]string{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, line, err)
		}
		get := func(c string) string {
			if i := col[c]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		var proto uint8
		switch strings.ToUpper(get("l4")) {
		case "TCP":
			proto = 6
		case "UDP":
			proto = 17
		default:
			continue
		}
		c, err1 := netip.ParseAddrPort(get("client"))
		s, err2 := netip.ParseAddrPort(get("server"))
		if err1 != nil || err2 != nil || get(column) == "" {
			continue
		}
		out[normKey(get("pcap"), proto, c, s)] = get(column)
	}
	return out, nil
}

// FileLabel is the label of every flow of a file in modes "file" (the file
// name without its extensions), "dir" (the first folder under root) and
// "presplit" (the second folder under root); "" for other modes or when the
// path is too shallow. The generation evaluation labels its inputs alike.
func FileLabel(mode, root, path string) string {
	switch mode {
	case "file":
		base := filepath.Base(path)
		for {
			ext := filepath.Ext(base)
			if ext == "" || len(ext) > 8 {
				break
			}
			base = strings.TrimSuffix(base, ext)
		}
		return base
	case "dir", "presplit":
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return ""
		}
		parts := strings.Split(rel, string(filepath.Separator))
		if mode == "presplit" {
			if len(parts) < 3 {
				return ""
			}
			return parts[1]
		}
		if len(parts) < 2 {
			return ""
		}
		return parts[0]
	}
	return ""
}

// presplitName is the split of a file under INPUT/<split>/<label>/...
func presplitName(root, path string) string {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return ""
	}
	return strings.Split(rel, string(filepath.Separator))[0]
}

// InputFileRoot pairs an expanded file with the input argument it came from
// (pcap.FindAll finds them).
type InputFileRoot = pcap.Input

// part is the output of pass 1 over some of the input files: per-file
// results, the kept flows, and the token files holding their tokens. A build
// is one part; a sharded build writes one part per shard and Merge joins them.
type part struct {
	Format     string       `json:"format"`
	Codec      int          `json:"codec_version"`
	Shard      int          `json:"shard"`
	Shards     int          `json:"shards"`
	Options    BuildOptions `json:"options"`
	Labels     []string     `json:"labels"` // the label universe over all input files
	Files      []partFile   `json:"files"`
	Flows      []partFlow   `json:"flows"`
	TokenFiles []string     `json:"token_files"`
	dir        string
}

const partFormat = "trafficgpt-dataset-part-2"

type partFile struct {
	Global     int    `json:"global"` // index among all input files
	Path       string `json:"path"`
	SHA256     string `json:"sha256,omitempty"`
	Bytes      int64  `json:"bytes"`
	Packets    int    `json:"packets"`
	Label      string `json:"label,omitempty"`
	Presplit   string `json:"presplit,omitempty"` // split named by the path (--presplit)
	Err        string `json:"error,omitempty"`
	Unlabelled int    `json:"unlabelled"`
	Short      int    `json:"too_short"`
}

type partFlow struct {
	File     int    `json:"f"` // global file index
	FlowID   uint64 `json:"id"`
	Label    int32  `json:"l"`
	Packets  uint32 `json:"p"`
	Tok      int    `json:"t"` // token file
	Off      int64  `json:"o"`
	N        int64  `json:"n"`
	KeyHash  uint64 `json:"k,omitempty"`
	PayHash  uint64 `json:"h"`
	PayLen   int64  `json:"hl"`
	FullHash uint64 `json:"fh"`
	FirstNs  int64  `json:"t0"`
	LastNs   int64  `json:"t1"`
}

func (o *BuildOptions) normalize() (*labeler, error) {
	if o.Group == "" {
		o.Group = "file"
	}
	if o.Group != "file" && o.Group != "flow" {
		return nil, fmt.Errorf("dataset: --group %q: want file or flow", o.Group)
	}
	if len(o.Split) == 0 && !o.Presplit {
		o.Split = []SplitFrac{{"train", 0.8}, {"valid", 0.1}, {"test", 0.1}}
	}
	if o.Jobs <= 0 {
		o.Jobs = 2
	}
	lab := &labeler{mode: o.Labels}
	if strings.HasPrefix(o.Labels, "csv:") {
		if o.LabelColumn == "" {
			o.LabelColumn = "app"
		}
		m, err := loadCSVLabels(strings.TrimPrefix(o.Labels, "csv:"), o.LabelColumn)
		if err != nil {
			return nil, fmt.Errorf("dataset: labels: %w", err)
		}
		lab.mode, lab.csvMap = "csv", m
	} else if o.Labels != "" && o.Labels != "dir" && o.Labels != "file" {
		return nil, fmt.Errorf("dataset: --labels %q: want dir, file or csv:FILE", o.Labels)
	}
	if o.Presplit && (lab.mode == "" || lab.mode == "dir") {
		lab.mode = "presplit"
	}
	return lab, nil
}

// universe is the sorted set of every label the inputs can produce, known
// before tokenizing so label tokens carry final ids.
func (lab *labeler) universe(files []InputFileRoot) []string {
	set := map[string]bool{}
	switch lab.mode {
	case "dir", "file", "presplit":
		for _, f := range files {
			if l := FileLabel(lab.mode, f.Root, f.Path); l != "" {
				set[l] = true
			}
		}
	case "csv":
		for _, l := range lab.csvMap {
			set[l] = true
		}
	}
	var names []string
	for l := range set {
		names = append(names, l)
	}
	sort.Strings(names)
	return names
}

// writeDir runs fill on a temporary sibling of dir (atomicfile.TempDir:
// hidden, locked, removed by the next build if this one dies) and renames
// it to dir only when fill succeeds; otherwise it removes it, so nothing
// half-written ever sits at dir.
func writeDir(dir string, fill func(tmp string) error) error {
	if err := checkTarget(dir); err != nil {
		return err
	}
	d, err := atomicfile.TempDir(dir)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer d.Abort()
	if err := fill(d.Path()); err != nil {
		return err
	}
	return d.Commit()
}

// Build builds a dataset into dir from files (each with the input root it
// was found under). It writes into a temporary sibling directory and renames
// it into place only when everything succeeded, so a failed build leaves
// nothing that looks complete. dir must not exist or be empty.
func Build(ctx context.Context, dir string, files []InputFileRoot, o BuildOptions) (*Manifest, error) {
	lab, err := o.normalize()
	if err != nil {
		return nil, err
	}
	var m *Manifest
	err = writeDir(dir, func(tmp string) error {
		p, err := buildPart(ctx, tmp, files, 0, 1, o, lab)
		if err != nil {
			return err
		}
		if m, err = assemble(tmp, []*part{p}, o); err != nil {
			return err
		}
		for _, tf := range p.TokenFiles {
			os.Remove(filepath.Join(tmp, tf))
		}
		return nil
	})
	return m, err
}

// BuildShard runs pass 1 over the shard-th of shards disjoint parts of the
// input files (file i goes to part i mod shards) and writes the part into
// dir, for Merge. Every shard must be given the same inputs and options.
func BuildShard(ctx context.Context, dir string, files []InputFileRoot, o BuildOptions, shard, shards int) (*part, error) {
	if shards < 1 || shard < 0 || shard >= shards {
		return nil, fmt.Errorf("dataset: --shard %d/%d: want I/N with 0 <= I < N", shard, shards)
	}
	lab, err := o.normalize()
	if err != nil {
		return nil, err
	}
	var p *part
	err = writeDir(dir, func(tmp string) error {
		if p, err = buildPart(ctx, tmp, files, shard, shards, o, lab); err != nil {
			return err
		}
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(tmp, "part.json"), b, 0o644)
	})
	if err != nil {
		return nil, err
	}
	p.dir = dir
	return p, nil
}

// Merge joins the parts written by BuildShard into one dataset in dir, with
// splits assigned over all parts together: the result equals one Build.
func Merge(ctx context.Context, dir string, partDirs []string) (*Manifest, error) {
	var parts []*part
	for _, pd := range partDirs {
		b, err := os.ReadFile(filepath.Join(pd, "part.json"))
		if err != nil {
			return nil, fmt.Errorf("%w: %s is not a dataset part (no part.json): %v", ErrDataset, pd, err)
		}
		p := &part{dir: pd}
		if err := json.Unmarshal(b, p); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrDataset, pd, err)
		}
		if p.Format != partFormat || p.Codec != codec.Version {
			return nil, fmt.Errorf("%w: %s: part format %q codec %d, want %q codec %d", ErrDataset, pd, p.Format, p.Codec, partFormat, codec.Version)
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("dataset: merge needs parts")
	}
	o := parts[0].Options
	seen := map[int]bool{}
	for _, p := range parts {
		a, _ := json.Marshal(p.Options)
		b, _ := json.Marshal(o)
		if !bytes.Equal(a, b) || p.Shards != parts[0].Shards {
			return nil, fmt.Errorf("%w: part %s was built with other options than %s", ErrDataset, p.dir, parts[0].dir)
		}
		if seen[p.Shard] {
			return nil, fmt.Errorf("%w: shard %d given twice", ErrDataset, p.Shard)
		}
		seen[p.Shard] = true
	}
	if len(seen) != parts[0].Shards {
		return nil, fmt.Errorf("%w: %d of %d shards given", ErrDataset, len(seen), parts[0].Shards)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var m *Manifest
	err := writeDir(dir, func(tmp string) error {
		var err error
		m, err = assemble(tmp, parts, o)
		return err
	})
	return m, err
}

// buildPart is pass 1: tokenize the part's files in parallel into
// per-worker token files in dir.
func buildPart(ctx context.Context, dir string, files []InputFileRoot, shard, shards int, o BuildOptions, lab *labeler) (*part, error) {
	names := lab.universe(files)
	if o.LabelTokens && len(names) > codec.MaxLabels {
		return nil, fmt.Errorf("dataset: %d labels, but label tokens exist for %d", len(names), codec.MaxLabels)
	}
	labelIDs := map[string]int32{}
	for i, n := range names {
		labelIDs[n] = int32(i)
	}
	nameID := func(s string) int32 { return labelIDs[s] }
	var mine []int
	for i := range files {
		if i%shards == shard {
			mine = append(mine, i)
		}
	}
	p := &part{Format: partFormat, Codec: codec.Version, Shard: shard, Shards: shards, Options: o, Labels: names, dir: dir}
	type tmpOut struct {
		f   *os.File
		off int64
		buf []byte
	}
	outs := make([]*tmpOut, o.Jobs)
	for w := range outs {
		name := fmt.Sprintf("tokens-%d.tmp", w)
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		outs[w] = &tmpOut{f: f}
		p.TokenFiles = append(p.TokenFiles, name)
	}
	results := make([]fileResult, len(mine))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < o.Jobs; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			out := outs[w]
			for k := range next {
				results[k] = buildFile(ctx, files[mine[k]], w, o, lab, nameID, func(each func(func([]uint16) error) error) (int64, error) {
					off := out.off
					err := each(func(toks []uint16) error {
						out.buf = slices.Grow(out.buf[:0], 2*len(toks))[:2*len(toks)]
						for j, t := range toks {
							out.buf[2*j], out.buf[2*j+1] = byte(t), byte(t>>8)
						}
						if _, err := out.f.Write(out.buf); err != nil {
							return err
						}
						out.off += int64(len(toks))
						return nil
					})
					return off, err
				})
				if o.Progress != nil {
					o.Progress(results[k].bytes)
				}
			}
		}(w)
	}
	for k := range mine {
		if ctx.Err() != nil {
			break
		}
		next <- k
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for k, r := range results {
		g := mine[k]
		pf := partFile{Global: g, Path: files[g].Path, Bytes: r.bytes}
		if o.Presplit {
			pf.Presplit = presplitName(files[g].Root, files[g].Path)
		}
		if r.err != nil {
			pf.Err = r.err.Error()
		} else {
			pf.SHA256, pf.Packets, pf.Label = r.sha, r.packets, r.label
			pf.Unlabelled, pf.Short = r.drops["unlabelled"], r.drops["short"]
			for _, fl := range r.flows {
				p.Flows = append(p.Flows, partFlow{File: g, FlowID: fl.flowID, Label: fl.label, Packets: fl.packets,
					Tok: fl.worker, Off: fl.off, N: fl.n, KeyHash: fl.keyHash, PayHash: fl.payHash, PayLen: fl.payLen,
					FullHash: fl.fullHash, FirstNs: fl.firstNs, LastNs: fl.lastNs})
				if !fl.hasKey {
					p.Flows[len(p.Flows)-1].KeyHash = 0
				}
			}
		}
		p.Files = append(p.Files, pf)
	}
	return p, nil
}

// assemble is pass 2: filter, group, split and write the shards and the
// manifest into tmp, reading tokens from the parts' token files.
func assemble(tmp string, parts []*part, o BuildOptions) (*Manifest, error) {
	m := &Manifest{Format: ManifestFormat, CodecVersion: codec.Version, Tool: "trafficgpt dataset build", Options: o,
		Splits: map[string]SplitInfo{}}
	var files []partFile
	var tokFiles []*os.File
	var all []pending
	for _, p := range parts {
		base := len(tokFiles)
		for _, tf := range p.TokenFiles {
			f, err := os.Open(filepath.Join(p.dir, tf))
			if err != nil {
				return nil, err
			}
			defer f.Close()
			tokFiles = append(tokFiles, f)
		}
		files = append(files, p.Files...)
		for _, fl := range p.Flows {
			all = append(all, pending{file: fl.File, flowID: fl.FlowID, label: fl.Label, packets: fl.Packets,
				worker: base + fl.Tok, off: fl.Off, n: fl.N, keyHash: fl.KeyHash, hasKey: fl.KeyHash != 0,
				payHash: fl.PayHash, payLen: fl.PayLen, fullHash: fl.FullHash, firstNs: fl.FirstNs, lastNs: fl.LastNs})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Global < files[j].Global })
	inputIdx := map[int]int{}
	for _, f := range files {
		if f.Err != "" {
			m.Skipped = append(m.Skipped, SkippedFile{f.Path, f.Err})
			if o.Warn != nil {
				o.Warn(fmt.Sprintf("skipping %s: %s", f.Path, f.Err))
			}
			continue
		}
		inputIdx[f.Global] = len(m.Inputs)
		m.Inputs = append(m.Inputs, InputFile{Path: f.Path, SHA256: f.SHA256, Bytes: f.Bytes, Packets: f.Packets, Label: f.Label, Split: f.Presplit})
		m.Dropped.Unlabelled += f.Unlabelled
		m.Dropped.TooShort += f.Short
	}
	for i := range all {
		all[i].file = inputIdx[all[i].file]
	}
	names := parts[0].Labels
	// Without label tokens, keep only labels that have flows (ids stay in
	// name order).
	if o.Labels != "" || o.Presplit {
		m.Labels = names
		if !o.LabelTokens {
			present := map[int32]bool{}
			for _, p := range all {
				present[p.label] = true
			}
			remap := map[int32]int32{}
			m.Labels = nil
			for i, n := range names {
				if present[int32(i)] {
					remap[int32(i)] = int32(len(m.Labels))
					m.Labels = append(m.Labels, n)
				}
			}
			for i := range all {
				all[i].label = remap[all[i].label]
			}
		}
	}
	if len(m.Labels) == 0 {
		m.Labels = nil
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].file != all[j].file {
			return all[i].file < all[j].file
		}
		return all[i].flowID < all[j].flowID
	})
	if o.Dedup {
		seen := map[uint64]bool{}
		kept := all[:0]
		for _, p := range all {
			if seen[p.fullHash] {
				m.Dropped.Duplicates++
				continue
			}
			seen[p.fullHash] = true
			kept = append(kept, p)
		}
		all = kept
	}
	if o.MaxPerClass > 0 {
		all = capClasses(all, o.MaxPerClass, o.Seed, &m.Dropped.OverCap)
	}
	if err := checkNotEmpty(all, m, o); err != nil {
		return nil, err
	}
	splitNames, err := assignSplits(all, m, o)
	if err != nil {
		return nil, err
	}
	m.Audit = audit(all, m.Labels, o)
	// Pass 2: write one shard per split, flows in (file, flow) order.
	writers := make([]*shardWriter, len(splitNames))
	for s, name := range splitNames {
		w, err := createShard(filepath.Join(tmp, name+".tgs"), codec.Version)
		if err != nil {
			return nil, err
		}
		writers[s] = w
		m.Splits[name] = SplitInfo{Shard: name + ".tgs", PerClass: map[string]int{}}
	}
	var toks []uint16
	var raw []byte
	fileSplits := make([]map[int]bool, len(m.Inputs))
	for _, p := range all {
		// Copy in pieces: a long flow never sits in memory whole.
		w := writers[p.split]
		w.begin()
		for done := int64(0); done < p.n; {
			k := min(p.n-done, 1<<16)
			raw = slices.Grow(raw[:0], int(2*k))[:2*k]
			if _, err := tokFiles[p.worker].ReadAt(raw, 2*(p.off+done)); err != nil {
				return nil, fmt.Errorf("dataset: reading pass-1 tokens: %w", err)
			}
			toks = slices.Grow(toks[:0], int(k))[:k]
			for j := range toks {
				toks[j] = uint16(raw[2*j]) | uint16(raw[2*j+1])<<8
			}
			if err := w.write(toks); err != nil {
				return nil, err
			}
			done += k
		}
		meta := FlowMeta{Label: p.label, File: uint32(p.file), Packets: p.packets, FlowID: p.flowID, PayloadHash: p.payHash}
		w.end(meta)
		si := m.Splits[splitNames[p.split]]
		si.Flows++
		si.Packets += int64(p.packets)
		si.Tokens += p.n
		if p.label >= 0 && int(p.label) < len(m.Labels) {
			si.PerClass[m.Labels[p.label]]++
		}
		m.Splits[splitNames[p.split]] = si
		m.Inputs[p.file].Flows++
		if fileSplits[p.file] == nil {
			fileSplits[p.file] = map[int]bool{}
		}
		fileSplits[p.file][p.split] = true
	}
	for i, fs := range fileSplits {
		if len(fs) == 1 {
			for s := range fs {
				m.Inputs[i].Split = splitNames[s]
			}
		}
	}
	m.Warnings = checkSplits(all, splitNames, m, o)
	for _, w := range m.Warnings {
		if o.Warn != nil {
			o.Warn(w)
		}
	}
	if len(m.Warnings) > 0 && !o.AcceptSplitWarnings {
		return nil, fmt.Errorf("%w: the splits miss their targets:\n  %s\n(change --split, --group or --max-per-class, or pass --accept-split-warnings to build anyway; the warnings are then kept in manifest.json)",
			ErrSplits, strings.Join(m.Warnings, "\n  "))
	}
	for _, w := range writers {
		if err := w.close(); err != nil {
			return nil, err
		}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	mb = append(mb, '\n')
	if err := os.WriteFile(filepath.Join(tmp, "manifest.json"), mb, 0o644); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(mb)
	m.hash = hex.EncodeToString(sum[:])
	return m, nil
}

// DefaultSpillTokens is how many tokens a flow may hold in memory while a
// build reads it (2 MiB); longer flows spill to a temporary file.
const DefaultSpillTokens = 1 << 20

func (o *BuildOptions) spillTokens() int {
	if o.SpillTokens > 0 {
		return o.SpillTokens
	}
	return DefaultSpillTokens
}

// ErrEmpty marks a build with nothing in it; ErrSplits one whose splits
// miss their targets (see checkSplits).
var (
	ErrEmpty  = errors.New("dataset: empty result")
	ErrSplits = errors.New("dataset: degenerate splits")
)

// checkNotEmpty fails a build that would hold no flows, or no classes when
// labels were asked for, saying why.
func checkNotEmpty(all []pending, m *Manifest, o BuildOptions) error {
	if len(m.Inputs) == 0 {
		return fmt.Errorf("%w: none of the %d input files could be read (see the warnings)", ErrEmpty, len(m.Skipped))
	}
	d := m.Dropped
	if (o.Labels != "" || o.Presplit) && len(m.Labels) == 0 && d.Unlabelled > 0 {
		hint := ""
		if o.Labels == "dir" || o.Presplit {
			hint = " (--labels dir takes the label from the first folder under each input: INPUT/<label>/...)"
		}
		return fmt.Errorf("%w: --labels %s gave no class: %d flows unlabelled%s", ErrEmpty, o.Labels, d.Unlabelled, hint)
	}
	if len(all) == 0 {
		return fmt.Errorf("%w: no flow kept from %d files (%d unlabelled, %d too short, %d duplicates, %d over the class cap)",
			ErrEmpty, len(m.Inputs), d.Unlabelled, d.TooShort, d.Duplicates, d.OverCap)
	}
	return nil
}

func checkTarget(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("dataset: %s exists and is not empty: choose a new directory or remove it", dir)
	}
	return nil
}

// buildFile tokenizes one capture: flows that pass the filters go to the
// worker's temp file through write.
func buildFile(ctx context.Context, in InputFileRoot, worker int, o BuildOptions, lab *labeler,
	nameID func(string) int32, write func(each func(func([]uint16) error) error) (int64, error)) fileResult {
	var res fileResult
	f, err := os.Open(in.Path)
	if err != nil {
		res.err = err
		return res
	}
	defer f.Close()
	fi, _ := f.Stat()
	res.bytes = fi.Size()
	h := sha256.New()
	tee := io.TeeReader(f, h)
	base := filepath.Base(in.Path)
	switch lab.mode {
	case "dir", "file", "presplit":
		res.label = FileLabel(lab.mode, in.Root, in.Path)
	}
	res.drops = map[string]int{}
	opts := codec.EncodeOptions{Flow: o.Flow, View: o.View, KeepTrailing: o.KeepTrailing, SpillTokens: o.spillTokens(), SpillDir: o.SpillDir}
	flowLabel := func(ef *codec.EncodedFlow) string {
		switch lab.mode {
		case "":
			return ""
		case "csv":
			c, s := ef.Key.ClientServer(ef.FirstAToB)
			if ef.Key.Kind != packet.KindPorts {
				return ""
			}
			return lab.csvMap[normKey(base, ef.Key.Proto, c, s)]
		}
		return res.label
	}
	if o.LabelTokens {
		opts.Label = func(ef *codec.EncodedFlow) int {
			if l := flowLabel(ef); l != "" {
				return int(nameID(l))
			}
			return -1
		}
	}
	st, err := codec.EncodeFlows(ctx, tee, opts, func(ef *codec.EncodedFlow) error {
		label := flowLabel(ef)
		if lab.mode != "" && label == "" {
			res.drops["unlabelled"]++
			return nil
		}
		if ef.Packets < o.MinPackets {
			res.drops["short"]++
			return nil
		}
		// The tokens stream through (a long flow's from the spill file) and
		// are hashed on the way, so memory does not grow with the flow.
		hf := fnv.New64a()
		var hb []byte
		off, err := write(func(emit func([]uint16) error) error {
			return ef.EachTokens(func(toks []codec.Token) error {
				hb = hb[:0]
				for _, t := range toks {
					hb = append(hb, byte(t), byte(t>>8))
				}
				hf.Write(hb)
				return emit(toks)
			})
		})
		if err != nil {
			return err
		}
		p := pending{flowID: ef.ID, label: -1, packets: uint32(ef.Packets), worker: worker, off: off, n: int64(ef.NumTokens),
			payHash: ef.PayloadHash, payLen: ef.PayloadLen, firstNs: ef.FirstNs, lastNs: ef.LastNs}
		if label != "" {
			p.label = nameID(label)
		}
		if ef.Key.Kind == packet.KindPorts {
			k := ef.Key
			k.Scope = 0
			hk := fnv.New64a()
			fmt.Fprint(hk, k.String())
			p.keyHash, p.hasKey = hk.Sum64(), true
		}
		p.fullHash = hf.Sum64()
		res.flows = append(res.flows, p)
		return nil
	})
	if err != nil {
		if errors.Is(err, pcap.ErrTruncated) && !o.KeepTrailing && st.Packets > 0 {
			err = fmt.Errorf("%w (cut mid-record: --keep-trailing reads what is complete)", err)
		}
		res.err = err
		return res
	}
	io.Copy(h, f) // hash any bytes the reader did not need
	res.packets = st.Packets
	res.sha = hex.EncodeToString(h.Sum(nil))
	return res
}

// capClasses keeps at most max flows per label, chosen with the seed.
func capClasses(all []pending, limit int, seed uint64, dropped *int) []pending {
	byLabel := map[int32][]int{}
	for i, p := range all {
		byLabel[p.label] = append(byLabel[p.label], i)
	}
	keep := make([]bool, len(all))
	for l, idx := range byLabel {
		r := rand.New(rand.NewPCG(seed, uint64(uint32(l))+7))
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for k, i := range idx {
			keep[i] = k < limit
		}
	}
	out := all[:0]
	for i, p := range all {
		if keep[i] {
			out = append(out, p)
		} else {
			*dropped++
		}
	}
	return out
}

func (r fileResult) dropped(what string) int { return r.drops[what] }

// ParseShard reads "I/N" (the I-th, 0-based, of N parts of a build):
// 0 <= I < N.
func ParseShard(s string) (i, n int, err error) {
	if _, err := fmt.Sscanf(s, "%d/%d", &i, &n); err != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q: want I/N with 0 <= I < N", s)
	}
	return i, n, nil
}
