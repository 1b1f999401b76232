package metric

import (
	"math"
	"strconv"
)

// Pkt is what the flow features need of one packet: its time, direction and
// size. Out means client -> server (the flow's initiator sends it). Size is
// the caller's packet length, the original (wire) length of the frame in
// trafficgpt's reports.
type Pkt struct {
	TsNanos int64
	Out     bool
	Size    int
}

// Flow feature indexes into the vector FlowFeatures returns. The first six
// are the k-fingerprinting features the TrafficGPT paper reports.
const (
	FeatIn          = iota // number of incoming (server -> client) packets
	FeatFracOut            // fraction of packets that are outgoing
	FeatFracIn             // fraction of packets that are incoming
	FeatStdOutOrder        // population std of the positions (0-based) of outgoing packets
	FeatOut                // number of outgoing packets
	FeatAltConc            // alternative concentration: mean outgoing count per chunk of 20 packets
	FeatDuration           // last minus first timestamp, seconds
	FeatBytesOut           // sum of outgoing sizes
	FeatBytesIn            // sum of incoming sizes
	FeatMeanIAT            // mean inter-arrival time in seconds, duration/(packets-1)
	NumFlowFeatures
)

// PaperFlowFeatures is the number of leading features that the paper's flow
// JSD mean covers.
const PaperFlowFeatures = 6

// FlowFeatureNames are the JSON names of the flow features, by index.
var FlowFeatureNames = [NumFlowFeatures]string{
	"incoming_packets", "fraction_outgoing", "fraction_incoming", "std_outgoing_order",
	"outgoing_packets", "alternative_concentration", "duration", "bytes_outgoing",
	"bytes_incoming", "mean_iat",
}

// flowFeatureBins are the shared bins of each flow feature's JSD, by index.
// FlowFeatureBin hands out copies.
var flowFeatureBins = [NumFlowFeatures]Bins{
	withName(countBins, "incoming packets"),
	withName(fractionBins, "fraction of outgoing packets"),
	withName(fractionBins, "fraction of incoming packets"),
	withName(countBins, "std of outgoing packet positions"),
	withName(countBins, "outgoing packets"),
	withName(concentrationBins, "outgoing packets per chunk of 20"),
	withName(timeBins, "flow duration (s)"),
	withName(byteBins, "outgoing bytes"),
	withName(byteBins, "incoming bytes"),
	withName(timeBins, "mean inter-arrival time (s)"),
}

func withName(b Bins, name string) Bins { b.Name = name; return b }

// FlowFeatureBin is (a copy of) the published bins of flow feature j (in
// FlowFeatureNames order).
func FlowFeatureBin(j int) Bins { return flowFeatureBins[j].clone() }

// ConcentrationChunk is k-fingerprinting's chunk length for the
// concentration features.
const ConcentrationChunk = 20

// FlowFeatures appends the NumFlowFeatures features of a flow, in index
// order, to dst. pkts are in capture order. An empty flow gives all zeros.
//
// Alternative concentration: k-fingerprinting counts the outgoing packets in
// each chunk of 20 consecutive packets and sums those counts in groups; the
// total of all sums is the outgoing packet count, already a feature, so the
// scalar used here is the mean count per chunk (0..20): equal to the outgoing
// count for flows of at most 20 packets, the outgoing density for longer ones.
func FlowFeatures(dst []float64, pkts []Pkt) []float64 {
	var a FlowAcc
	for _, p := range pkts {
		a.Add(p)
	}
	return a.Features(dst)
}

// FlowAcc computes the flow features of packets added one at a time in
// constant memory; Features gives what FlowFeatures gives for the same
// packets. The zero value is an empty flow.
type FlowAcc struct {
	n, nOut           int
	sumPos, sumPos2   float64
	bytesOut, bytesIn float64
	first, last       int64
}

// Add appends one packet to the flow.
func (a *FlowAcc) Add(p Pkt) {
	if a.n == 0 {
		a.first = p.TsNanos
	}
	a.last = p.TsNanos
	if p.Out {
		a.nOut++
		a.sumPos += float64(a.n)
		a.sumPos2 += float64(a.n) * float64(a.n)
		a.bytesOut += float64(p.Size)
	} else {
		a.bytesIn += float64(p.Size)
	}
	a.n++
}

// Packets is the number of packets added.
func (a *FlowAcc) Packets() int { return a.n }

// Features appends the NumFlowFeatures features to dst.
func (a *FlowAcc) Features(dst []float64) []float64 {
	var f [NumFlowFeatures]float64
	n := a.n
	if n == 0 {
		return append(dst, f[:]...)
	}
	nOut, nIn := a.nOut, n-a.nOut
	f[FeatIn] = float64(nIn)
	f[FeatOut] = float64(nOut)
	f[FeatFracOut] = float64(nOut) / float64(n)
	f[FeatFracIn] = float64(nIn) / float64(n)
	if nOut > 0 {
		mean := a.sumPos / float64(nOut)
		f[FeatStdOutOrder] = math.Sqrt(max(a.sumPos2/float64(nOut)-mean*mean, 0))
	}
	chunks := (n + ConcentrationChunk - 1) / ConcentrationChunk
	f[FeatAltConc] = float64(nOut) / float64(chunks)
	dur := float64(a.last-a.first) / 1e9
	f[FeatDuration] = dur
	f[FeatBytesOut] = a.bytesOut
	f[FeatBytesIn] = a.bytesIn
	if n > 1 {
		f[FeatMeanIAT] = dur / float64(n-1)
	}
	return append(dst, f[:]...)
}

// FirstN appends 3*n features of the first n packets to dst: n sizes, n
// directions (+1 outgoing, -1 incoming) and n inter-arrival times in seconds
// (0 for the first packet). Flows shorter than n are padded with zeros, so a
// padded slot is distinguishable by its direction 0.
func FirstN(dst []float64, pkts []Pkt, n int) []float64 {
	base := len(dst)
	dst = append(dst, make([]float64, 3*n)...)
	v := dst[base : base+3*n : base+3*n]
	for i := 0; i < n && i < len(pkts); i++ {
		v[i] = float64(pkts[i].Size)
		if pkts[i].Out {
			v[n+i] = 1
		} else {
			v[n+i] = -1
		}
		if i > 0 {
			v[2*n+i] = float64(pkts[i].TsNanos-pkts[i-1].TsNanos) / 1e9
		}
	}
	return dst
}

// FirstNNames are the names of FirstN's features: size_i, dir_i, iat_i.
func FirstNNames(n int) []string {
	names := make([]string, 0, 3*n)
	for _, prefix := range []string{"size_", "dir_", "iat_"} {
		for i := 0; i < n; i++ {
			names = append(names, prefix+itoa(i))
		}
	}
	return names
}

func itoa(i int) string { return strconv.Itoa(i) }
