package dataset

import (
	"fmt"
	"math/rand/v2"
	"sort"
)

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
// that share a TCP/UDP 5-tuple or a payload of at least MinAuditPayload
// bytes are merged into one group, so such near-copies never straddle
// splits. Groups go to splits greedily, largest first (ties in a seeded
// random order), each to the split whose per-label deficit against its
// target fraction is largest: a grouped, stratified split.
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
	// Link each flow to the first flow of its unit, and to earlier flows
	// with the same key or payload.
	firstOfUnit := map[int]int{}
	byKey := map[uint64]int{}
	byPayload := map[uint64]int{}
	for i, p := range all {
		if f, ok := firstOfUnit[unit[i]]; ok {
			uf.union(i, f)
		} else {
			firstOfUnit[unit[i]] = i
		}
		if p.hasKey {
			if j, ok := byKey[p.keyHash]; ok {
				uf.union(i, j)
			} else {
				byKey[p.keyHash] = i
			}
		}
		if p.payLen >= MinAuditPayload {
			if j, ok := byPayload[p.payHash]; ok {
				uf.union(i, j)
			} else {
				byPayload[p.payHash] = i
			}
		}
	}
	type group struct {
		root   int
		size   int
		labels map[int32]int
		order  float64
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
	for s, sf := range o.Split {
		names[s] = sf.Name
	}
	assigned := make([]map[int32]int, len(o.Split))
	for s := range assigned {
		assigned[s] = map[int32]int{}
	}
	sizes := make([]int, len(o.Split))
	groupSplit := map[int]int{}
	for _, g := range list {
		best, bestScore := -1, 0.0
		for s, sf := range o.Split {
			if sf.Frac <= 0 {
				continue
			}
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
		if best < 0 {
			return nil, fmt.Errorf("dataset: every split fraction is zero")
		}
		groupSplit[g.root] = best
		for l, c := range g.labels {
			assigned[best][l] += c
		}
		sizes[best] += g.size
	}
	for i := range all {
		all[i].split = groupSplit[uf.find(i)]
	}
	return names, nil
}

// audit counts files, 5-tuples and payloads found in more than one split.
func audit(all []pending, nsplits int) Audit {
	var a Audit
	files := map[int]map[int]bool{}
	keys := map[uint64]map[int]bool{}
	pays := map[uint64]map[int]bool{}
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
		}
	}
	for _, s := range files {
		if len(s) > 1 {
			a.FilesAcrossSplits++
		}
	}
	for _, s := range keys {
		if len(s) > 1 {
			a.KeysAcrossSplits++
		}
	}
	for _, s := range pays {
		if len(s) > 1 {
			a.PayloadsAcrossSplits++
		}
	}
	a.Clean = a.KeysAcrossSplits == 0 && a.PayloadsAcrossSplits == 0
	return a
}
