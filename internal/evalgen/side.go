package evalgen

import (
	"encoding/binary"
	"hash"
	"net/netip"

	"github.com/trafficgpt/trafficgpt/internal/metric"
	"github.com/trafficgpt/trafficgpt/internal/packet"
)

// HeaderFields are the header fields compared, in report order; the first
// PaperHeaderFields are the paper's.
var HeaderFields = []string{"sport", "dport", "src_addr", "dst_addr", "length", "ttl",
	"tcp_flags", "tcp_window", "ip_proto", "iat"}

// PaperHeaderFields is how many of HeaderFields the paper's mean covers.
const PaperHeaderFields = 6

// The published bins of the binned header fields (read per packet: kept
// here once).
var lengthBins, windowBins, timeBins = metric.LengthBins(), metric.WindowBins(), metric.TimeBins()

// headerHist holds one side's header-field histograms.
type headerHist struct {
	cat    map[string]map[uint16]float64 // sport, dport, ttl, tcp_flags, ip_proto
	addr   map[string]map[netip.Addr]float64
	length []float64
	window []float64
	iat    []float64
}

func newHeaderHist() *headerHist {
	h := &headerHist{cat: map[string]map[uint16]float64{}, addr: map[string]map[netip.Addr]float64{},
		length: make([]float64, lengthBins.Cells()), window: make([]float64, windowBins.Cells()),
		iat: make([]float64, timeBins.Cells())}
	for _, f := range []string{"sport", "dport", "ttl", "tcp_flags", "ip_proto"} {
		h.cat[f] = map[uint16]float64{}
	}
	for _, f := range []string{"src_addr", "dst_addr"} {
		h.addr[f] = map[netip.Addr]float64{}
	}
	return h
}

func (h *headerHist) merge(o *headerHist) {
	for f, m := range o.cat {
		for k, v := range m {
			h.cat[f][k] += v
		}
	}
	for f, m := range o.addr {
		for k, v := range m {
			h.addr[f][k] += v
		}
	}
	for i := range h.length {
		h.length[i] += o.length[i]
	}
	for i := range h.window {
		h.window[i] += o.window[i]
	}
	for i := range h.iat {
		h.iat[i] += o.iat[i]
	}
}

// side is everything kept of one side: histograms, per-flow features
// and payload hashes, counters. Memory is O(flows + distinct values).
type side struct {
	hdr    *headerHist
	feats  []float64  // flows x NumFlowFeatures
	hashes [][16]byte // payload hash of each flow with payload
	val    Validity
}

func newSide() *side { return &side{hdr: newHeaderHist()} }

func (s *side) merge(o *side) {
	s.hdr.merge(o.hdr)
	s.feats = append(s.feats, o.feats...)
	s.hashes = append(s.hashes, o.hashes...)
	s.val.merge(&o.val)
}
func (s *side) flows() int { return len(s.feats) / metric.NumFlowFeatures }

func (s *side) row(i int) []float64 {
	n := metric.NumFlowFeatures
	return s.feats[i*n : (i+1)*n : (i+1)*n]
}

// flowState is what is kept of an active flow while its packets stream by:
// O(1) per flow, no packet bytes.
type flowState struct {
	acc        metric.FlowAcc
	lastTs     int64
	clean      bool // every packet decoded
	isTCP      bool
	tcp        tcpCheck
	hash       hash.Hash // payload sequence (nil without training captures)
	hasPayload bool
	half       *side // the half of the real side the flow is in (nil: no halves)
}

// addPacket folds one decoded packet of flow st into s, and into the
// flow's half when it has one.
func (s *side) addPacket(st *flowState, l *packet.Layers, data []byte, ts int64, origLen uint32, c2s, first, decoded bool) {
	if st.half != nil {
		st.half.foldPacket(st, l, data, ts, origLen, c2s, first, decoded, false)
	}
	s.foldPacket(st, l, data, ts, origLen, c2s, first, decoded, true)
}

// foldPacket folds a packet into s's histograms and counters, and (own)
// into the flow's state.
func (s *side) foldPacket(st *flowState, l *packet.Layers, data []byte, ts int64, origLen uint32, c2s, first, decoded, own bool) {
	v := &s.val
	h := s.hdr
	if !first {
		h.iat[timeBins.Index(float64(ts-st.lastTs)/1e9)]++
	}
	if own {
		st.lastTs = ts
		st.acc.Add(metric.Pkt{TsNanos: ts, Out: c2s, Size: int(origLen)})
		if !decoded {
			st.clean = false
		}
	}
	v.Packets++
	if decoded {
		v.PacketsClean++
	}
	if l.IPVersion == 0 {
		return
	}
	h.addr["src_addr"][l.Src]++
	h.addr["dst_addr"][l.Dst]++
	if l.TTLOff >= 0 && l.TTLOff < len(data) {
		h.cat["ttl"][uint16(data[l.TTLOff])]++
	}
	if l.IPTotalLen > 0 {
		h.length[lengthBins.Index(float64(l.IPTotalLen))]++
	}
	h.cat["ip_proto"][uint16(l.Proto)]++
	if l.IPVersion == 4 && l.IPCsumOff >= 0 && l.NetOff >= 0 && l.NetOff+l.IPHdrLen <= len(data) {
		v.IPv4Checked++
		if binary.BigEndian.Uint16(data[l.IPCsumOff:]) == packet.IPv4HeaderChecksum(data[l.NetOff:l.NetOff+l.IPHdrLen]) {
			v.IPv4OK++
		}
	}
	if l.SrcPortOff < 0 || (l.Proto != packet.ProtoTCP && l.Proto != packet.ProtoUDP) {
		return
	}
	if decoded && !l.Fragment && l.PayloadOff >= 0 && l.NetOff >= 0 && l.NetOff+l.IPTotalLen <= len(data) {
		v.PacketsIP++
	}
	h.cat["sport"][l.SrcPort]++
	h.cat["dport"][l.DstPort]++
	if want, ok := packet.L4Checksum(l, data); ok && l.L4CsumOff >= 0 && l.L4CsumOff+2 <= len(data) {
		got := binary.BigEndian.Uint16(data[l.L4CsumOff:])
		if !(l.Proto == packet.ProtoUDP && l.IPVersion == 4 && got == 0) {
			v.L4Checked++
			if got == want {
				v.L4OK++
			}
		}
	}
	if own && st.hash != nil && l.PayloadOff >= 0 {
		end := min(len(data), l.NetOff+l.IPTotalLen)
		if l.PayloadOff < end {
			var hdr [5]byte
			if c2s {
				hdr[0] = 1
			}
			binary.BigEndian.PutUint32(hdr[1:], uint32(end-l.PayloadOff))
			st.hash.Write(hdr[:])
			st.hash.Write(data[l.PayloadOff:end])
			st.hasPayload = true
		}
	}
	if l.Proto == packet.ProtoTCP && l.TCPHdrLen >= 20 && l.L4Off >= 0 && l.L4Off+20 <= len(data) {
		h.cat["tcp_flags"][uint16(l.TCPFlags)]++
		h.window[windowBins.Index(float64(binary.BigEndian.Uint16(data[l.L4Off+14:])))]++
		if own && st.isTCP {
			st.tcp.add(l, data, c2s, first)
		}
	}
}

// endFlow folds a finished flow into s, and into its half.
func (s *side) endFlow(st *flowState) {
	if st.half != nil {
		st.half.foldFlow(st)
	}
	s.foldFlow(st)
}

func (s *side) foldFlow(st *flowState) {
	v := &s.val
	v.Flows++
	if st.clean {
		v.FlowsClean++
	}
	if st.isTCP {
		v.TCPFlows++
		if st.tcp.synFirst {
			v.TCPSynStart++
			if !st.tcp.dataBeforeHandshake {
				v.TCPHandshake++
			}
		}
		v.TCPAcks += st.tcp.acks
		v.TCPAcksOK += st.tcp.acksOK
	}
	s.feats = st.acc.Features(s.feats)
	if st.hasPayload {
		var hv [16]byte
		copy(hv[:], st.hash.Sum(nil))
		s.hashes = append(s.hashes, hv)
	}
}

// tcpCheck follows one TCP flow: handshake order and whether each ACK
// acknowledges no more than the peer has sent (sequence space, mod 2^32).
type tcpCheck struct {
	synFirst            bool
	syn, synAck         bool
	dataBeforeHandshake bool
	seen                [2]bool
	next                [2]uint32 // highest seq + length (+1 for SYN, FIN) sent per direction (0 = C2S)
	acks, acksOK        int
}

func (t *tcpCheck) add(l *packet.Layers, data []byte, c2s, first bool) {
	d := 1
	if c2s {
		d = 0
	}
	flags := l.TCPFlags
	seq := binary.BigEndian.Uint32(data[l.L4Off+4:])
	ack := binary.BigEndian.Uint32(data[l.L4Off+8:])
	payload := max(0, l.IPTotalLen-l.IPHdrLen-l.TCPHdrLen)
	syn := flags&packet.TCPSyn != 0
	if first && c2s && syn && flags&packet.TCPAck == 0 {
		t.synFirst = true
	}
	if syn && flags&packet.TCPAck == 0 && c2s {
		t.syn = true
	}
	if syn && flags&packet.TCPAck != 0 && !c2s && t.syn {
		t.synAck = true
	}
	if payload > 0 && !(t.syn && t.synAck) {
		t.dataBeforeHandshake = true
	}
	if flags&packet.TCPAck != 0 && t.seen[1-d] {
		t.acks++
		if int32(ack-t.next[1-d]) <= 0 {
			t.acksOK++
		}
	}
	end := seq + uint32(payload)
	if syn {
		end++
	}
	if flags&packet.TCPFin != 0 {
		end++
	}
	if !t.seen[d] || int32(end-t.next[d]) > 0 {
		t.next[d] = end
	}
	t.seen[d] = true
}
