package evalgen

import (
	"math"
	"sort"

	"github.com/trafficgpt/trafficgpt/internal/metric"
)

// Comparison is one side compared with another: the divergences and the
// discriminator of the report's top level.
type Comparison struct {
	HeaderJSD          Scores `json:"header_jsd"`
	FlowJSD            Scores `json:"flow_jsd"`
	DiscriminatorF1    Num    `json:"discriminator_f1"`
	DiscriminatorF1Std Num    `json:"discriminator_f1_std"`
	DiscriminatorFlows int    `json:"discriminator_flows"` // flows per side the discriminator sampled (0: too few to run)
}

// Ratio is a comparison divided by the floor, metric by metric: 1 = as
// close as two halves of real traffic are, 2 = twice as far (a 0 floor
// gives null).
type Ratio struct {
	HeaderJSD       Scores `json:"header_jsd"`
	FlowJSD         Scores `json:"flow_jsd"`
	DiscriminatorF1 Num    `json:"discriminator_f1"`
}

// Floor is what two halves of the real traffic score against each other:
// the best a generator can be expected to reach on these measures with
// this much data. The real flows are split into halves A and B by flow
// (a seeded hash of the file's index and the flow's id); the floor
// compares A with B, and the generated flows are compared with B too, so
// that the ratio puts both on the same reference and sample size.
type Floor struct {
	Seed         uint64     `json:"seed"`
	RealFlowsA   int        `json:"real_flows_a"`
	RealFlowsB   int        `json:"real_flows_b"`
	Comparison              // A against B
	GeneratedVsB Comparison `json:"generated_vs_b"`
	Ratio        Ratio      `json:"ratio"` // GeneratedVsB / floor
}

// ClassRow is the report of one class label present on both sides.
type ClassRow struct {
	Label          string `json:"label"`
	RealFlows      int    `json:"real_flows"`
	GeneratedFlows int    `json:"generated_flows"`
	Comparison            // generated against real, this class only
	Floor          *Floor `json:"floor"`
	// TCP flows that start with a client SYN and complete the handshake
	// before data, real and generated.
	TCPHandshakeReal      Num `json:"tcp_handshake_share_real"`
	TCPHandshakeGenerated Num `json:"tcp_handshake_share_generated"`
	// tshark's verdicts on this class's packets (nil when tshark did not
	// run; added in version 3).
	TsharkReal      *TsharkCounts `json:"tshark_real,omitempty"`
	TsharkGenerated *TsharkCounts `json:"tshark_generated,omitempty"`
}

// compare scores b against a (a plays "real" for the discriminator).
func compare(a, b *side, opts Options, stage string) (Comparison, error) {
	var c Comparison
	hj := headerJSD(a.hdr, b.hdr)
	var sum float64
	for i, f := range HeaderFields {
		c.HeaderJSD.add(f, hj[i])
		if i < PaperHeaderFields {
			sum += hj[i]
		}
	}
	c.HeaderJSD.add("mean", sum/PaperHeaderFields)
	fj := flowJSD(a, b)
	sum = 0
	for i, f := range metric.FlowFeatureNames {
		c.FlowJSD.add(f, fj[i])
		if i < metric.PaperFlowFeatures {
			sum += fj[i]
		}
	}
	c.FlowJSD.add("mean", sum/metric.PaperFlowFeatures)
	f1s, n, err := discriminate(a, b, opts, stage)
	if err != nil {
		return c, err
	}
	c.DiscriminatorFlows = n
	mean, std := meanStd(f1s)
	c.DiscriminatorF1, c.DiscriminatorF1Std = Num(mean), Num(std)
	return c, nil
}

func ratioOf(x, floor float64) float64 {
	if floor == 0 || math.IsNaN(floor) {
		return math.NaN()
	}
	return x / floor
}

func ratioScores(x, floor Scores) Scores {
	var r Scores
	for i, k := range x.Names {
		r.add(k, ratioOf(x.Values[i], floor.Get(k)))
	}
	return r
}

// floor compares the halves of real with each other and gen with half B;
// stage prefixes the progress stages ("" for the whole report).
func floor(real *sideSet, gen *side, opts Options, stage string) (*Floor, error) {
	a, b := real.half[0], real.half[1]
	f := &Floor{Seed: opts.FloorSeed, RealFlowsA: a.flows(), RealFlowsB: b.flows()}
	var err error
	if f.Comparison, err = compare(a, b, opts, stage+"floor discriminator"); err != nil {
		return nil, err
	}
	if f.GeneratedVsB, err = compare(b, gen, opts, stage+"discriminator vs B"); err != nil {
		return nil, err
	}
	f.Ratio = Ratio{
		HeaderJSD:       ratioScores(f.GeneratedVsB.HeaderJSD, f.HeaderJSD),
		FlowJSD:         ratioScores(f.GeneratedVsB.FlowJSD, f.FlowJSD),
		DiscriminatorF1: Num(ratioOf(float64(f.GeneratedVsB.DiscriminatorF1), float64(f.DiscriminatorF1))),
	}
	return f, nil
}

// classRows compares each class present on both sides, in label order;
// nil when the inputs are not labelled.
func classRows(real, gen *sideSet, opts Options) ([]ClassRow, error) {
	var labels []string
	for l := range real.class {
		if gen.class[l] != nil {
			labels = append(labels, l)
		}
	}
	sort.Strings(labels)
	var rows []ClassRow
	for _, l := range labels {
		r, g := real.class[l], gen.class[l]
		row := ClassRow{Label: l, RealFlows: r.all.flows(), GeneratedFlows: g.all.flows()}
		var err error
		if row.Comparison, err = compare(r.all, g.all, opts, l+": discriminator"); err != nil {
			return nil, err
		}
		if row.Floor, err = floor(r, g.all, opts, l+": "); err != nil {
			return nil, err
		}
		rv, gv := r.all.val, g.all.val
		row.TCPHandshakeReal = Share(rv.TCPHandshake, rv.TCPSynStart)
		row.TCPHandshakeGenerated = Share(gv.TCPHandshake, gv.TCPSynStart)
		rows = append(rows, row)
	}
	return rows, nil
}
