package evalgen

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/trafficgpt/trafficgpt/internal/metric"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/plot"
)

// WritePlots writes header_<field>.png and flow_<feature>.png into dir
// (created if missing): real and generated histograms side by side.
func (r *Report) WritePlots(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	real, gen := r.real, r.gen
	for _, f := range HeaderFields {
		var h plot.Hist2
		switch f {
		case "src_addr", "dst_addr":
			h = catHist2(real.hdr.addr[f], gen.hdr.addr[f], netip.Addr.String, func(a, b netip.Addr) bool { return a.Less(b) })
		case "length":
			h = binHist2(lengthBins, real.hdr.length, gen.hdr.length)
		case "tcp_window":
			h = binHist2(windowBins, real.hdr.window, gen.hdr.window)
		case "iat":
			h = binHist2(timeBins, real.hdr.iat, gen.hdr.iat)
		default:
			label := func(v uint16) string { return strconv.Itoa(int(v)) }
			if f == "tcp_flags" {
				label = tcpFlagString
			}
			h = catHist2(real.hdr.cat[f], gen.hdr.cat[f], label, func(a, b uint16) bool { return a < b })
		}
		h.Title, h.XLabel, h.Of = "header field "+f, headerAxis[f], "packets"
		h.Value = fmt.Sprintf("JSD %.4f bits", r.HeaderJSD.Get(f))
		if err := plotIfAny(filepath.Join(dir, "header_"+f+".png"), h); err != nil {
			return err
		}
	}
	for j, name := range metric.FlowFeatureNames {
		h := binHist2(metric.FlowFeatureBin(j), featureHist(real, j), featureHist(gen, j))
		h.Title, h.XLabel, h.Of = "flow feature "+name, metric.FlowFeatureBin(j).Name, "flows"
		h.Value = fmt.Sprintf("JSD %.4f bits", r.FlowJSD.Get(name))
		if err := plotIfAny(filepath.Join(dir, "flow_"+name+".png"), h); err != nil {
			return err
		}
	}
	return nil
}

// headerAxis names each header field's histogram axis with its unit.
var headerAxis = map[string]string{
	"sport": "source port (number)", "dport": "destination port (number)",
	"src_addr": "source address", "dst_addr": "destination address",
	"length": lengthBins.Name, "ttl": "TTL / hop limit (hops)",
	"tcp_flags": "TCP flags", "tcp_window": windowBins.Name,
	"ip_proto": "IP protocol (number)", "iat": "inter-arrival time (s)",
}

func plotIfAny(path string, h plot.Hist2) error {
	if len(h.Cells) == 0 {
		h.Cells, h.A, h.B = []string{"(none)"}, []float64{0}, []float64{0}
	}
	h.NameA, h.NameB = "real", "generated"
	return plot.Histograms(path, h)
}

// binHist2 keeps the cells from the first to the last non-empty one.
func binHist2(b metric.Bins, a, g []float64) plot.Hist2 {
	lo, hi := len(a), -1
	for i := range a {
		if a[i] > 0 || g[i] > 0 {
			lo, hi = min(lo, i), max(hi, i)
		}
	}
	var h plot.Hist2
	for i := lo; i <= hi; i++ {
		h.Cells = append(h.Cells, b.Label(i))
		h.A, h.B = append(h.A, a[i]), append(h.B, g[i])
	}
	return h
}

// catHist2 shows the 30 values with the largest combined share, in value
// order, and the rest as "other".
func catHist2[K comparable](a, g map[K]float64, label func(K) string, less func(K, K) bool) plot.Hist2 {
	const top = 30
	sa, sg := 0.0, 0.0
	for _, v := range a {
		sa += v
	}
	for _, v := range g {
		sg += v
	}
	weight := map[K]float64{}
	for k, v := range a {
		weight[k] += v / sa
	}
	for k, v := range g {
		weight[k] += v / sg
	}
	keys := make([]K, 0, len(weight))
	for k := range weight {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if weight[keys[i]] != weight[keys[j]] {
			return weight[keys[i]] > weight[keys[j]]
		}
		return less(keys[i], keys[j])
	})
	rest := keys[min(top, len(keys)):]
	keys = keys[:min(top, len(keys))]
	sort.Slice(keys, func(i, j int) bool { return less(keys[i], keys[j]) })
	var h plot.Hist2
	for _, k := range keys {
		h.Cells = append(h.Cells, label(k))
		h.A, h.B = append(h.A, a[k]), append(h.B, g[k])
	}
	if len(rest) > 0 {
		var oa, og float64
		for _, k := range rest {
			oa, og = oa+a[k], og+g[k]
		}
		h.Cells = append(h.Cells, fmt.Sprintf("other (%d)", len(rest)))
		h.A, h.B = append(h.A, oa), append(h.B, og)
	}
	return h
}

// tcpFlagString names a flags byte like tcpdump: "S", "S.", "P.", "F.", ...
// with the hex value for unusual combinations.
func tcpFlagString(v uint16) string {
	var b strings.Builder
	for _, f := range []struct {
		bit uint16
		c   byte
	}{{packet.TCPFin, 'F'}, {packet.TCPSyn, 'S'}, {packet.TCPRst, 'R'}, {packet.TCPPsh, 'P'}, {packet.TCPUrg, 'U'}, {packet.TCPEce, 'E'}, {packet.TCPCwr, 'W'}, {packet.TCPAck, '.'}} {
		if v&f.bit != 0 {
			b.WriteByte(f.c)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}
