package dataset

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
)

// group is a set of flows that must share a split.
type group struct {
	root   int
	size   int
	labels map[int32]int
	order  float64
}

// unionFind groups units (files or flows) that must share a split.
type unionFind []int

func (u unionFind) find(x int) int {
	for u[x] != x {
		u[x] = u[u[x]]
		x = u[x]
	}
	return x
}

func (u unionFind) union(a, b int) {
	if ra, rb := u.find(a), u.find(b); ra != rb {
		if ra < rb {
			u[rb] = ra
		} else {
			u[ra] = rb
		}
	}
}

// assignSplits sets p.split for every flow and returns the split names.
//
// Units are capture files (--group file) or flows (--group flow). Units
// that hold the same traffic are merged into one group so that it never
// straddles splits: flows of one connection (the same TCP/UDP 5-tuple with
// overlapping time), and with o.MergePayloads also flows that share a
// payload of at least MinAuditPayload bytes. Constant messages (a device's
// DHCP, DNS or SSDP requests) repeat across unrelated captures of one class:
// they are signal, not leakage, so by default they are only counted in the
// audit. Groups go to splits in two phases: first every class with at least
// as many groups as there are splits gets one of its smallest groups in each
// split (so no split lacks a class it could hold), then the rest greedily,
// largest first (ties in a seeded random order), each to the split whose
// per-label deficit against its target fraction is largest. checkSplits
// then compares the result with the targets.
func assignSplits(all []pending, m *Manifest, o BuildOptions) ([]string, error) {
	if o.Presplit {
		idx := map[string]int{}
		var names []string
		for i := range all {
			name := m.Inputs[all[i].file].Split
			if _, ok := idx[name]; !ok {
				idx[name] = len(names)
				names = append(names, name)
			}
			all[i].split = idx[name]
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("dataset: --presplit: no flows under INPUT/<split>/<label>/")
		}
		return names, nil
	}
	n := len(all)
	unit := make([]int, n)
	for i := range all {
		if o.Group == "flow" {
			unit[i] = i
		} else {
			unit[i] = all[i].file
		}
	}
	uf := make(unionFind, n)
	for i := range uf {
		uf[i] = i
	}
	firstOfUnit := map[int]int{}
	byPayload := map[uint64]int{}
	for i, p := range all {
		if f, ok := firstOfUnit[unit[i]]; ok {
			uf.union(i, f)
		} else {
			firstOfUnit[unit[i]] = i
		}
		if o.MergePayloads && p.payLen >= MinAuditPayload {
			if j, ok := byPayload[p.payHash]; ok {
				uf.union(i, j)
			} else {
				byPayload[p.payHash] = i
			}
		}
	}
	for _, conn := range connections(all) {
		for _, i := range conn[1:] {
			uf.union(i, conn[0])
		}
	}
	groups := map[int]*group{}
	var list []*group
	totals := map[int32]int{}
	for i, p := range all {
		r := uf.find(i)
		g := groups[r]
		if g == nil {
			g = &group{root: r, labels: map[int32]int{}}
			groups[r] = g
			list = append(list, g)
		}
		g.size++
		g.labels[p.label]++
		totals[p.label]++
	}
	m.Groups = len(list)
	m.groupsPerLabel = map[int32]int{}
	for _, g := range list {
		m.groupsPerLabel[g.major()]++
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	for _, g := range list {
		g.order = rng.Float64()
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].size != list[j].size {
			return list[i].size > list[j].size
		}
		return list[i].order < list[j].order
	})
	names := make([]string, len(o.Split))
	var active []int // splits with a positive fraction, smallest fraction first
	for s, sf := range o.Split {
		names[s] = sf.Name
		if sf.Frac > 0 {
			active = append(active, s)
		}
	}
	if len(active) == 0 {
		return nil, fmt.Errorf("dataset: every split fraction is zero")
	}
	sort.SliceStable(active, func(a, b int) bool { return o.Split[active[a]].Frac < o.Split[active[b]].Frac })
	assigned := make([]map[int32]int, len(o.Split))
	for s := range assigned {
		assigned[s] = map[int32]int{}
	}
	sizes := make([]int, len(o.Split))
	groupSplit := map[int]int{}
	put := func(g *group, s int) {
		groupSplit[g.root] = s
		for l, c := range g.labels {
			assigned[s][l] += c
		}
		sizes[s] += g.size
	}
	// Phase 1: coverage. A group counts for its majority label.
	byLabel := map[int32][]*group{}
	for _, g := range list {
		byLabel[g.major()] = append(byLabel[g.major()], g)
	}
	labels := make([]int32, 0, len(byLabel))
	for l := range byLabel {
		labels = append(labels, l)
	}
	sort.Slice(labels, func(a, b int) bool { return labels[a] < labels[b] })
	for _, l := range labels {
		gs := byLabel[l] // largest first
		if len(gs) < len(active) {
			continue
		}
		for k, s := range active {
			g := gs[len(gs)-1-k] // the smallest groups
			if o.Split[s].Frac*float64(totals[l]) < 0.5 {
				continue // a share under half a flow: nothing to cover
			}
			put(g, s)
		}
	}
	// Phase 2: the rest by deficit.
	for _, g := range list {
		if _, done := groupSplit[g.root]; done {
			continue
		}
		best, bestScore := -1, 0.0
		for _, s := range active {
			sf := o.Split[s]
			score := 0.0
			for l, c := range g.labels {
				target := sf.Frac * float64(totals[l])
				score += float64(c) * (target - float64(assigned[s][l])) / float64(totals[l])
			}
			// Among equal deficits prefer the split furthest below its share overall.
			score += 1e-9 * (sf.Frac*float64(n) - float64(sizes[s]))
			if best < 0 || score > bestScore {
				best, bestScore = s, score
			}
		}
		put(g, best)
	}
	for i := range all {
		all[i].split = groupSplit[uf.find(i)]
	}
	return names, nil
}

// major is the label with the most flows in the group (lowest id on ties).
func (g *group) major() int32 {
	best, bestN := int32(0), -1
	for l, c := range g.labels {
		if c > bestN || (c == bestN && l < best) {
			best, bestN = l, c
		}
	}
	return best
}

// connections lists the flows that are one connection seen more than once
// (in two captures of the same traffic, or split by a timeout): the same
// 5-tuple with overlapping [first, last] packet times. Each list has at
// least two flows; the same 5-tuple at disjoint times (a port reused, a
// device repeating a DHCP exchange in every capture) is not one connection.
func connections(all []pending) [][]int {
	byKey := map[uint64][]int{}
	for i, p := range all {
		if p.hasKey {
			byKey[p.keyHash] = append(byKey[p.keyHash], i)
		}
	}
	var out [][]int
	for _, idx := range byKey {
		if len(idx) < 2 {
			continue
		}
		sort.Slice(idx, func(a, b int) bool {
			if all[idx[a]].firstNs != all[idx[b]].firstNs {
				return all[idx[a]].firstNs < all[idx[b]].firstNs
			}
			return idx[a] < idx[b]
		})
		cur := []int{idx[0]}
		end := all[idx[0]].lastNs
		for _, i := range idx[1:] {
			if all[i].firstNs <= end {
				cur = append(cur, i)
				end = max(end, all[i].lastNs)
				continue
			}
			if len(cur) > 1 {
				out = append(out, cur)
			}
			cur, end = []int{i}, all[i].lastNs
		}
		if len(cur) > 1 {
			out = append(out, cur)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a][0] < out[b][0] })
	return out
}

// audit counts what is found in more than one split: capture files, one
// connection (see connections), a 5-tuple reused at disjoint times, and
// payloads of at least MinAuditPayload bytes (also per class: the distinct
// payloads of each class found in more than one split). Clean means no
// copy of the same traffic straddles splits: no connection, no file when
// grouping by file, and no shared payload when o.MergePayloads asked for it.
func audit(all []pending, labels []string, o BuildOptions) Audit {
	a := Audit{PayloadsPerClass: map[string]int{}}
	files := map[int]map[int]bool{}
	keys := map[uint64]map[int]bool{}
	pays := map[uint64]map[int]bool{}
	payClasses := map[uint64]map[int32]bool{}
	add := func(m map[uint64]map[int]bool, k uint64, s int) {
		if m[k] == nil {
			m[k] = map[int]bool{}
		}
		m[k][s] = true
	}
	for _, p := range all {
		if files[p.file] == nil {
			files[p.file] = map[int]bool{}
		}
		files[p.file][p.split] = true
		if p.hasKey {
			add(keys, p.keyHash, p.split)
		}
		if p.payLen >= MinAuditPayload {
			add(pays, p.payHash, p.split)
			if payClasses[p.payHash] == nil {
				payClasses[p.payHash] = map[int32]bool{}
			}
			payClasses[p.payHash][p.label] = true
		}
	}
	for _, s := range files {
		if len(s) > 1 {
			a.FilesAcrossSplits++
		}
	}
	for _, conn := range connections(all) {
		for _, i := range conn[1:] {
			if all[i].split != all[conn[0]].split {
				a.KeysAcrossSplits++
				break
			}
		}
	}
	for _, s := range keys {
		if len(s) > 1 {
			a.KeysReused++
		}
	}
	a.KeysReused -= a.KeysAcrossSplits
	if a.KeysReused < 0 {
		a.KeysReused = 0
	}
	for h, s := range pays {
		if len(s) < 2 {
			continue
		}
		a.PayloadsAcrossSplits++
		for l := range payClasses[h] {
			name := "(unlabelled)"
			if l >= 0 && int(l) < len(labels) {
				name = labels[l]
			}
			a.PayloadsPerClass[name]++
		}
	}
	if len(a.PayloadsPerClass) == 0 {
		a.PayloadsPerClass = nil
	}
	a.Clean = a.KeysAcrossSplits == 0 && (o.Group != "file" || a.FilesAcrossSplits == 0) &&
		(!o.MergePayloads || a.PayloadsAcrossSplits == 0)
	return a
}

// SplitTolerance is how far (absolute fraction of the flows) a split may be
// from its target before the build warns.
const SplitTolerance = 0.05

// checkSplits records each split's share and target in m.Splits and lists
// what is wrong with the result: a split more than SplitTolerance from its
// target fraction, or without a class that has enough groups (at least one
// per split) and a share of at least half a flow in it.
func checkSplits(all []pending, names []string, m *Manifest, o BuildOptions) []string {
	if o.Presplit || len(all) == 0 {
		return nil
	}
	sizes := make([]int, len(names))
	perLabel := make([]map[int32]int, len(names))
	for s := range perLabel {
		perLabel[s] = map[int32]int{}
	}
	totals := map[int32]int{}
	for _, p := range all {
		sizes[p.split]++
		perLabel[p.split][p.label]++
		totals[p.label]++
	}
	// Groups per label, as assignSplits counted them.
	groupsOf := m.groupsPerLabel
	active := 0
	for _, sf := range o.Split {
		if sf.Frac > 0 {
			active++
		}
	}
	var warns []string
	for s, sf := range o.Split {
		got := float64(sizes[s]) / float64(len(all))
		si := m.Splits[sf.Name]
		si.Target, si.Frac = sf.Frac, got
		m.Splits[sf.Name] = si
		if d := got - sf.Frac; d > SplitTolerance || d < -SplitTolerance {
			warns = append(warns, fmt.Sprintf("split %s holds %.1f%% of the flows (%d of %d), target %.1f%%",
				sf.Name, 100*got, sizes[s], len(all), 100*sf.Frac))
		}
		if len(m.Labels) == 0 || sf.Frac <= 0 {
			continue
		}
		var missing []string
		for l, tot := range totals {
			if perLabel[s][l] == 0 && groupsOf[l] >= active && sf.Frac*float64(tot) >= 0.5 && l >= 0 && int(l) < len(m.Labels) {
				missing = append(missing, m.Labels[l])
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			warns = append(warns, fmt.Sprintf("split %s has no flow of %d classes that have enough flows and groups for it: %s",
				sf.Name, len(missing), strings.Join(missing, ", ")))
		}
	}
	return warns
}
