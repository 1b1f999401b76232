package evalgen

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// WriteText writes the report as the tables eval generate prints: o are
// the options it was run with, total the time the whole run took.
func (rep *Report) WriteText(w io.Writer, o Options, total time.Duration) {
	rv, gv := rep.Validity["real"], rep.Validity["generated"]
	f := func(v Num) string {
		if math.IsNaN(float64(v)) {
			return "-"
		}
		return strconv.FormatFloat(float64(v), 'f', 4, 64)
	}
	fmt.Fprintf(w, "%-34s %20s %20s\n", "", "real", "generated")
	fmt.Fprintf(w, "%-34s %20d %20d\n", "files", rv.Files, gv.Files)
	fmt.Fprintf(w, "%-34s %20.1f %20.1f\n", "MB", float64(rv.Bytes)/1e6, float64(gv.Bytes)/1e6)
	fmt.Fprintf(w, "%-34s %20d %20d\n", "packets", rv.Packets, gv.Packets)
	fmt.Fprintf(w, "%-34s %20d %20d\n", "flows", rv.Flows, gv.Flows)
	fl := rep.Floor
	fmt.Fprintf(w, "\nthe floor: real flows split by flow (seed %d) into halves A (%d flows) and B (%d flows); A vs B is what\n"+
		"two samples of the same real traffic score, gen vs B puts the generated flows on the same reference\n", fl.Seed, fl.RealFlowsA, fl.RealFlowsB)
	scores := func(title, meanLabel string, all, floor, vsB, ratio Scores) {
		fmt.Fprintf(w, "\n%-34s %12s %12s %12s %10s\n", title, "gen vs real", "floor A|B", "gen vs B", "x floor")
		for i, k := range all.Names {
			label := k
			if k == "mean" {
				label = meanLabel
			}
			fmt.Fprintf(w, "  %-32s %12s %12s %12s %10s\n", label, f(Num(all.Values[i])), f(Num(floor.Get(k))),
				f(Num(vsB.Get(k))), ratioString(ratio.Get(k)))
		}
	}
	scores("header JSD (bits, 0 = same)", "mean (paper's six: sport..ttl)", rep.HeaderJSD, fl.HeaderJSD, fl.GeneratedVsB.HeaderJSD, fl.Ratio.HeaderJSD)
	scores("flow JSD (k-fingerprinting)", "mean (the paper's six)", rep.FlowJSD, fl.FlowJSD, fl.GeneratedVsB.FlowJSD, fl.Ratio.FlowJSD)
	fmt.Fprintf(w, "\ndiscriminator F1 (0.5 = indistinguishable): %s ± %s; floor %s ± %s, gen vs B %s (%s the floor)\n"+
		"  (random forest, %d trees, %d seeds, %d flows per side, 30%% held out)\n",
		f(rep.DiscriminatorF1), f(rep.DiscriminatorF1Std), f(fl.DiscriminatorF1), f(fl.DiscriminatorF1Std),
		f(fl.GeneratedVsB.DiscriminatorF1), ratioString(float64(fl.Ratio.DiscriminatorF1)), o.Trees, o.Seeds, rep.DiscriminatorFlows)
	if rep.DiscriminatorFlows < MinDiscriminatorFlows {
		fmt.Fprintf(w, "  (not run: %d flows per side, too few; it needs %d)\n", rep.DiscriminatorFlows, MinDiscriminatorFlows)
	}
	if len(rep.Classes) > 0 {
		fmt.Fprintf(w, "\nper class (x floor: gen vs B over A vs B)%14s %14s %16s %10s %10s\n", "flows r/g", "header JSD", "flow JSD", "disc. F1", "handshake")
		for _, c := range rep.Classes {
			fmt.Fprintf(w, "  %-38s %6d/%-7d %6s %6s %7s %7s %5s %5s %5s/%s\n", c.Label, c.RealFlows, c.GeneratedFlows,
				f(Num(c.HeaderJSD.Get("mean"))), ratioString(c.Floor.Ratio.HeaderJSD.Get("mean")),
				f(Num(c.FlowJSD.Get("mean"))), ratioString(c.Floor.Ratio.FlowJSD.Get("mean")),
				f(c.DiscriminatorF1), ratioString(float64(c.Floor.Ratio.DiscriminatorF1)),
				f(c.TCPHandshakeReal), f(c.TCPHandshakeGenerated))
		}
		if rep.Classes[0].TsharkGenerated != nil {
			fmt.Fprintf(w, "\nper class, tshark%22s %22s %22s\n", "packets r/g", "no expert error r/g", "malformed r/g")
			for _, c := range rep.Classes {
				r, g := c.TsharkReal, c.TsharkGenerated
				if r == nil || g == nil {
					continue
				}
				fmt.Fprintf(w, "  %-32s %7d/%-7d %10s/%-10s %9d/%-9d\n", c.Label, r.Packets, g.Packets,
					pct(r.CleanShr), pct(g.CleanShr), r.Malformed, g.Malformed)
			}
		}
	}
	fmt.Fprintf(w, "\nvalidity%27s %20s %20s\n", "", "real (n)", "generated (n)")
	row := func(name string, a, b Num, na, nb int) {
		fmt.Fprintf(w, "  %-32s %20s %20s\n", name, f(a)+fmt.Sprintf(" (%d)", na), f(b)+fmt.Sprintf(" (%d)", nb))
	}
	row("packets decoded", rv.PacketShare, gv.PacketShare, rv.Packets, gv.Packets)
	row("packets IP with TCP/UDP whole", rv.IPShare, gv.IPShare, rv.Packets, gv.Packets)
	row("flows decoded", rv.FlowShare, gv.FlowShare, rv.Flows, gv.Flows)
	row("IPv4 header checksum ok", rv.IPv4Share, gv.IPv4Share, rv.IPv4Checked, gv.IPv4Checked)
	row("TCP/UDP checksum ok", rv.L4Share, gv.L4Share, rv.L4Checked, gv.L4Checked)
	row("TCP: SYN first", Share(rv.TCPSynStart, rv.TCPFlows), Share(gv.TCPSynStart, gv.TCPFlows), rv.TCPFlows, gv.TCPFlows)
	row("TCP: handshake before data", rv.HandshakeShr, gv.HandshakeShr, rv.TCPSynStart, gv.TCPSynStart)
	row("TCP: ACKs consistent", rv.AckShare, gv.AckShare, rv.TCPAcks, gv.TCPAcks)
	fmt.Fprintf(w, "  %-32s %20d %20d\n", "files with read errors", rv.FileErrors, gv.FileErrors)
	if rv.Tshark != nil && gv.Tshark != nil {
		row("tshark: no expert error", rv.Tshark.CleanShr, gv.Tshark.CleanShr, rv.Tshark.Packets, gv.Tshark.Packets)
		fmt.Fprintf(w, "  %-32s %20d %20d\n", "tshark: malformed packets", rv.Tshark.Malformed, gv.Tshark.Malformed)
		fmt.Fprintf(w, "  %-32s %20d %20d\n", "tshark: checksum errors", rv.Tshark.Checksum, gv.Tshark.Checksum)
		for _, t := range []*TsharkCounts{rv.Tshark, gv.Tshark} {
			if t.Err != "" {
				fmt.Fprintf(w, "  tshark: %s\n", t.Err)
			}
		}
	}
	if m := rep.Memorization; m != nil {
		fmt.Fprintf(w, "\nmemorisation (against %d training flows)\n%34s %20s %20s\n", m.TrainFlows, "", "real (n)", "generated (n)")
		fmt.Fprintf(w, "  %-32s %20s %20s\n", "exact payload duplicates",
			fmt.Sprintf("%s (%d/%d)", f(m.RealDupShare), m.RealDup, m.RealPayload),
			fmt.Sprintf("%s (%d/%d)", f(m.GeneratedDupShare), m.GeneratedDup, m.GeneratedPayload))
		fmt.Fprintf(w, "  %-32s %20s %20s\n", "NN distance median", f(m.RealNNMedian), f(m.GeneratedNNMedian))
		fmt.Fprintf(w, "  %-32s %20s %20s\n", "NN distance mean", f(m.RealNNMean), f(m.GeneratedNNMean))
		fmt.Fprintf(w, "  %-32s %20s %20s\n", "NN distance 0", f(m.RealNNZero), f(m.GeneratedNNZero))
		fmt.Fprintf(w, "  %-32s %20s\n", "NN median ratio (gen/real)", f(m.NNMedianRatio))
		fmt.Fprintf(w, "  membership (%d training vs as many held-out real flows, distance to the nearest generated flow):\n"+
			"    median train %s, held-out %s; P(train closer) %s (0.5 = no sign of memorisation)\n",
			m.MembershipFlows, f(m.MembershipTrainNN), f(m.MembershipHeldoutNN), f(m.MembershipAUC))
	} else if len(o.Train) == 0 {
		fmt.Fprintf(w, "\nmemorisation: not measured (no --train)\n")
	}
	fmt.Fprintf(w, "\n%.1fs (reading %.1fs)\n", total.Seconds(), rep.ReadTime.Seconds())
}

// ratioString prints a ratio to the floor ("2.1x"; "-" when undefined).
func ratioString(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "-"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "x"
}

// pct prints a share as a percentage ("-" when undefined).
func pct(v Num) string {
	if math.IsNaN(float64(v)) {
		return "-"
	}
	return strconv.FormatFloat(100*float64(v), 'f', 1, 64) + "%"
}
