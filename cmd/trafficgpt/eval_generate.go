package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"hash"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/metric"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
	"github.com/trafficgpt/trafficgpt/internal/plot"
)

func init() {
	register(command{
		name:    "eval generate",
		summary: "compare generated captures with real ones: JSD, discriminator, validity, memorisation",
		run:     cmdEvalGenerate,
	})
}

// evalGenerateOptions are the inputs of runEvalGenerate.
type evalGenerateOptions struct {
	Real, Generated, Train []string // files or folders (searched recursively for captures)
	JSON                   string   // write the JSON report here ("" = none, "-" = stdout)
	Plots                  string   // write one PNG per field and feature into this folder
	Seeds                  int      // discriminator runs (seeds 1..Seeds)
	MaxFlows               int      // flows per side for the discriminator and the NN distances
	Trees                  int      // random forest size
	Tshark                 string   // "auto" (when on PATH), "on", "off"
	Workers                int      // capture files read in parallel
}

const evalGenerateUsage = "eval generate --real REAL... --generated GEN... [--train TRAIN...] [--json OUT] [--plots DIR]"

func cmdEvalGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts := evalGenerateOptions{}
	fs := newFlagSet("eval generate", evalGenerateUsage,
		"trafficgpt eval generate --real data/test --generated gen/*.pcap --train data/train --json report.json --plots plots/",
		stderr)
	fs.Func("real", "real capture `files or folders` (repeatable; several paths may follow one flag)", func(s string) error {
		opts.Real = append(opts.Real, s)
		return nil
	})
	fs.Func("generated", "generated capture `files or folders`", func(s string) error {
		opts.Generated = append(opts.Generated, s)
		return nil
	})
	fs.Func("train", "the generator's training captures: enables the memorisation report", func(s string) error {
		opts.Train = append(opts.Train, s)
		return nil
	})
	fs.StringVar(&opts.JSON, "json", "", "write the JSON report to `file` (- for stdout)")
	fs.StringVar(&opts.Plots, "plots", "", "write a PNG per header field and flow feature into `dir`")
	fs.IntVar(&opts.Seeds, "seeds", 5, "discriminator runs with different seeds")
	fs.IntVar(&opts.MaxFlows, "max-flows", 5000, "flows per side sampled for the discriminator and nearest-neighbour distances")
	fs.IntVar(&opts.Trees, "trees", 100, "trees of the discriminator's random forest")
	fs.StringVar(&opts.Tshark, "tshark", "auto", "expert-info check of both sides with tshark: auto (if on PATH), on, off")
	fs.IntVar(&opts.Workers, "workers", 2, "capture files read in parallel")
	pos, err := parseFlags(fs, spreadMultiFlags(args, "real", "generated", "train"))
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("unexpected argument %q (paths follow --real, --generated or --train)", pos[0])
	}
	if len(opts.Real) == 0 || len(opts.Generated) == 0 {
		return usageError("need --real and --generated")
	}
	if opts.Seeds < 1 || opts.MaxFlows < 10 || opts.Trees < 1 || opts.Workers < 1 {
		return usageError("--seeds, --trees and --workers must be positive, --max-flows at least 10")
	}
	switch opts.Tshark {
	case "auto", "on", "off":
	default:
		return usageError("--tshark must be auto, on or off, not %q", opts.Tshark)
	}
	return runEvalGenerate(ctx, opts, stdout, stderr)
}

// spreadMultiFlags rewrites "--real a b --generated c" into "--real a
// --real b --generated c", so that a shell glob can follow a flag.
func spreadMultiFlags(args []string, names ...string) []string {
	isMulti := func(a string) (string, bool) {
		n := strings.TrimLeft(a, "-")
		if n == a || strings.Contains(n, "=") {
			return "", false
		}
		for _, m := range names {
			if n == m {
				return a, true
			}
		}
		return "", false
	}
	var out []string
	for i := 0; i < len(args); i++ {
		flagArg, ok := isMulti(args[i])
		if !ok {
			out = append(out, args[i])
			continue
		}
		n := 0
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			out = append(out, flagArg, args[i])
			n++
		}
		if n == 0 {
			out = append(out, flagArg) // let the flag package report the missing value
		}
	}
	return out
}

// Header fields, in report order; the first six are the paper's.
var headerFields = []string{"sport", "dport", "src_addr", "dst_addr", "length", "ttl",
	"tcp_flags", "tcp_window", "ip_proto", "iat"}

const paperHeaderFields = 6

// jnum is a float64 that encodes NaN (undefined, e.g. an empty side) as null.
type jnum float64

func (v jnum) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 6, 64), nil
}

// orderedJSD is an object of divergences whose keys keep report order.
type orderedJSD struct {
	keys []string
	vals []float64
}

func (o *orderedJSD) add(k string, v float64) { o.keys = append(o.keys, k); o.vals = append(o.vals, v) }

func (o orderedJSD) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := jnum(o.vals[i]).MarshalJSON()
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// evalGenerateReport is the JSON report; its top-level keys are fixed by
// the issue that defines the command.
type evalGenerateReport struct {
	HeaderJSD          orderedJSD           `json:"header_jsd"`
	FlowJSD            orderedJSD           `json:"flow_jsd"`
	DiscriminatorF1    jnum                 `json:"discriminator_f1"`
	DiscriminatorF1Std jnum                 `json:"discriminator_f1_std"`
	Validity           map[string]*validity `json:"validity"`
	Memorization       *memorization        `json:"memorization"`
}

// validity counts what decodes and what is consistent on one side.
type validity struct {
	Files        int           `json:"files"`
	FileErrors   int           `json:"file_errors"` // files whose reading stopped at an error (what came before counts)
	Bytes        int64         `json:"bytes"`
	Packets      int           `json:"packets"`
	PacketsClean int           `json:"packets_decoded"` // internal/packet.Decode returned no error
	PacketShare  jnum          `json:"packet_decode_share"`
	Flows        int           `json:"flows"`
	FlowsClean   int           `json:"flows_decoded"` // every packet decoded
	FlowShare    jnum          `json:"flow_decode_share"`
	IPv4Checked  int           `json:"ipv4_checksums"`
	IPv4OK       int           `json:"ipv4_checksums_ok"`
	IPv4Share    jnum          `json:"ipv4_checksum_share"`
	L4Checked    int           `json:"l4_checksums"` // TCP/UDP segments captured whole (UDP without checksum skipped)
	L4OK         int           `json:"l4_checksums_ok"`
	L4Share      jnum          `json:"l4_checksum_share"`
	TCPFlows     int           `json:"tcp_flows"`
	TCPSynStart  int           `json:"tcp_flows_syn_first"`       // first packet a client SYN without ACK
	TCPHandshake int           `json:"tcp_handshake_before_data"` // of those: SYN and SYN/ACK before any payload
	HandshakeShr jnum          `json:"tcp_handshake_share"`       // TCPHandshake / TCPSynStart
	TCPAcks      int           `json:"tcp_acks_checked"`          // ACKs whose peer has sent something before
	TCPAcksOK    int           `json:"tcp_acks_consistent"`       // acknowledging no more than the peer sent
	AckShare     jnum          `json:"tcp_ack_share"`
	Tshark       *tsharkCounts `json:"tshark"` // nil when not run
}

type tsharkCounts struct {
	Packets   int    `json:"packets"`
	Errors    int    `json:"packets_with_errors"`     // any expert info of severity error
	Malformed int    `json:"packets_malformed"`       // expert group malformed
	Checksum  int    `json:"packets_checksum_errors"` // expert group checksum (checks enabled)
	CleanShr  jnum   `json:"clean_share"`             // 1 - Errors/Packets
	Err       string `json:"error,omitempty"`
}

type memorization struct {
	TrainFlows        int  `json:"train_flows"`
	GeneratedPayload  int  `json:"generated_flows_with_payload"`
	GeneratedDup      int  `json:"generated_exact_duplicates"`
	GeneratedDupShare jnum `json:"generated_duplicate_share"`
	RealPayload       int  `json:"real_flows_with_payload"`
	RealDup           int  `json:"real_exact_duplicates"`
	RealDupShare      jnum `json:"real_duplicate_share"`
	GeneratedNNMedian jnum `json:"generated_nn_median"`
	GeneratedNNMean   jnum `json:"generated_nn_mean"`
	GeneratedNNZero   jnum `json:"generated_nn_zero_share"`
	RealNNMedian      jnum `json:"real_nn_median"`
	RealNNMean        jnum `json:"real_nn_mean"`
	RealNNZero        jnum `json:"real_nn_zero_share"`
	NNMedianRatio     jnum `json:"nn_median_ratio"` // generated / real: well below 1 suggests copying
}

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
		length: make([]float64, metric.LengthBins.Cells()), window: make([]float64, metric.WindowBins.Cells()),
		iat: make([]float64, metric.TimeBins.Cells())}
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

// sideData is everything kept of one side: histograms, per-flow features
// and payload hashes, counters. Memory is O(flows + distinct values).
type sideData struct {
	hdr    *headerHist
	feats  []float64  // flows x NumFlowFeatures
	hashes [][16]byte // payload hash of each flow with payload
	val    validity
}

func newSideData() *sideData { return &sideData{hdr: newHeaderHist()} }

func (s *sideData) merge(o *sideData) {
	s.hdr.merge(o.hdr)
	s.feats = append(s.feats, o.feats...)
	s.hashes = append(s.hashes, o.hashes...)
	v, w := &s.val, &o.val
	v.Files += w.Files
	v.FileErrors += w.FileErrors
	v.Bytes += w.Bytes
	v.Packets += w.Packets
	v.PacketsClean += w.PacketsClean
	v.Flows += w.Flows
	v.FlowsClean += w.FlowsClean
	v.IPv4Checked += w.IPv4Checked
	v.IPv4OK += w.IPv4OK
	v.L4Checked += w.L4Checked
	v.L4OK += w.L4OK
	v.TCPFlows += w.TCPFlows
	v.TCPSynStart += w.TCPSynStart
	v.TCPHandshake += w.TCPHandshake
	v.TCPAcks += w.TCPAcks
	v.TCPAcksOK += w.TCPAcksOK
}

func (s *sideData) flows() int { return len(s.feats) / metric.NumFlowFeatures }

func (s *sideData) row(i int) []float64 {
	n := metric.NumFlowFeatures
	return s.feats[i*n : (i+1)*n : (i+1)*n]
}

func share(a, b int) jnum {
	if b == 0 {
		return jnum(math.NaN())
	}
	return jnum(float64(a) / float64(b))
}

func (v *validity) finish() {
	v.PacketShare = share(v.PacketsClean, v.Packets)
	v.FlowShare = share(v.FlowsClean, v.Flows)
	v.IPv4Share = share(v.IPv4OK, v.IPv4Checked)
	v.L4Share = share(v.L4OK, v.L4Checked)
	v.HandshakeShr = share(v.TCPHandshake, v.TCPSynStart)
	v.AckShare = share(v.TCPAcksOK, v.TCPAcks)
}

// flowState is what is kept of an active flow while its packets stream by:
// O(1) per flow, no packet bytes.
type flowState struct {
	acc        metric.FlowAcc
	lastTs     int64
	clean      bool // every packet decoded
	isTCP      bool
	tcp        tcpCheck
	hash       hash.Hash // payload sequence (nil without --train)
	hasPayload bool
}

// addPacket folds one decoded packet of flow st into s.
func (s *sideData) addPacket(st *flowState, l *packet.Layers, data []byte, ts int64, origLen uint32, c2s, first, decoded bool) {
	v := &s.val
	h := s.hdr
	if !first {
		h.iat[metric.TimeBins.Index(float64(ts-st.lastTs)/1e9)]++
	}
	st.lastTs = ts
	st.acc.Add(metric.Pkt{TsNanos: ts, Out: c2s, Size: int(origLen)})
	v.Packets++
	if decoded {
		v.PacketsClean++
	} else {
		st.clean = false
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
		h.length[metric.LengthBins.Index(float64(l.IPTotalLen))]++
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
	if st.hash != nil && l.PayloadOff >= 0 {
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
		h.window[metric.WindowBins.Index(float64(binary.BigEndian.Uint16(data[l.L4Off+14:])))]++
		if st.isTCP {
			st.tcp.add(l, data, c2s, first)
		}
	}
}

// endFlow folds a finished flow into s.
func (s *sideData) endFlow(st *flowState) {
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

// readSide reads the captures of one side with opts.Workers files at a time
// and merges the per-file results in file order (deterministic output).
func readSide(ctx context.Context, files []string, workers int, wantHash bool, stderr io.Writer) (*sideData, error) {
	results := make([]*sideData, len(files))
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(files)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = readCapture(ctx, files[i], wantHash)
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	all := newSideData()
	for i, r := range results {
		if errs[i] != nil && r == nil {
			return nil, errs[i]
		}
		if errs[i] != nil {
			fmt.Fprintf(stderr, "trafficgpt eval generate: warning: %v (flows read before the error are kept)\n", errs[i])
		}
		all.merge(r)
		results[i] = nil
	}
	return all, nil
}

// errNotCapture marks a file that is not a capture at all.
var errNotCapture = errors.New("not a capture")

// readCapture reads one file, packet by packet: packets are decoded once,
// assigned to flows by flow.Assembler (the flow package's rules and
// timeouts), folded into the histograms at once and into their flow's
// O(1) state, which becomes one feature row when the flow ends. A file
// that does not start like a capture is an error (nil data); an error later
// in the file ends the active flows there and counts as a file error.
func readCapture(ctx context.Context, path string, wantHash bool) (*sideData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := newSideData()
	s.val.Files = 1
	if st, err := f.Stat(); err == nil {
		s.val.Bytes = st.Size()
	}
	r, err := pcap.NewReader(bufio.NewReaderSize(f, 256<<10), pcap.ReaderOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", path, errNotCapture, err)
	}
	a := flow.NewAssembler(flow.DefaultConfig())
	active := map[uint64]*flowState{}
	var (
		l      packet.Layers
		ended  []flow.Ended
		lastTs int64
		n      int
		rerr   error
	)
	finish := func() {
		for _, e := range ended {
			if st := active[e.Flow]; st != nil {
				s.endFlow(st)
				delete(active, e.Flow)
			}
		}
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
		if rec.Kind != pcap.KindPacket {
			continue
		}
		if n++; n%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		ts := lastTs
		if rec.HasTime {
			ts = rec.Resolution.TicksToNanos(rec.Timestamp)
		}
		lastTs = ts
		decoded := packet.Decode(rec.LinkType, rec.Data, &l) == nil
		as := a.AddLayers(ts, &l, rec.Data, flow.Scope(rec.Section, rec.Interface))
		st := active[as.Flow]
		if st == nil {
			st = &flowState{clean: true}
			key, _ := packet.KeyOf(&l, rec.Data)
			st.isTCP = key.Kind == packet.KindPorts && key.Proto == packet.ProtoTCP
			if wantHash {
				st.hash = sha256.New()
			}
			active[as.Flow] = st
		}
		s.addPacket(st, &l, rec.Data, ts, rec.OrigLen, as.C2S, as.New, decoded)
		ended = a.Ended(ended[:0])
		finish()
	}
	ended = a.Finish(ended[:0])
	finish()
	if rerr != nil {
		s.val.FileErrors = 1
		return s, fmt.Errorf("%s: %w", path, rerr)
	}
	return s, nil
}

func runEvalGenerate(ctx context.Context, opts evalGenerateOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	if opts.Seeds < 1 {
		opts.Seeds = 5
	}
	if opts.MaxFlows < 10 {
		opts.MaxFlows = 5000
	}
	if opts.Trees < 1 {
		opts.Trees = 100
	}
	if opts.Workers < 1 {
		opts.Workers = 2
	}
	realFiles, err := captureInputs(opts.Real)
	if err != nil {
		return fmt.Errorf("--real: %w", err)
	}
	genFiles, err := captureInputs(opts.Generated)
	if err != nil {
		return fmt.Errorf("--generated: %w", err)
	}
	if len(realFiles) == 0 || len(genFiles) == 0 {
		return fmt.Errorf("no capture files: %d real, %d generated", len(realFiles), len(genFiles))
	}
	var trainFiles []string
	if len(opts.Train) > 0 {
		if trainFiles, err = captureInputs(opts.Train); err != nil {
			return fmt.Errorf("--train: %w", err)
		}
		if len(trainFiles) == 0 {
			return fmt.Errorf("--train: no capture files")
		}
	}
	if opts.Plots != "" {
		if err := os.MkdirAll(opts.Plots, 0o755); err != nil {
			return err
		}
	}

	// tshark reads both sides in the background while we do.
	runTshark := opts.Tshark == "on"
	if opts.Tshark == "auto" {
		_, err := exec.LookPath("tshark")
		runTshark = err == nil
	}
	type tsharkResult struct{ real, gen *tsharkCounts }
	tsharkDone := make(chan tsharkResult, 1)
	if runTshark {
		go func() {
			var r tsharkResult
			r.gen = tsharkExpert(ctx, genFiles)
			r.real = tsharkExpert(ctx, realFiles)
			tsharkDone <- r
		}()
	}

	wantHash := len(trainFiles) > 0
	real, err := readSide(ctx, realFiles, opts.Workers, wantHash, stderr)
	if err != nil {
		return err
	}
	gen, err := readSide(ctx, genFiles, opts.Workers, wantHash, stderr)
	if err != nil {
		return err
	}
	var train *sideData
	if wantHash {
		if train, err = readSide(ctx, trainFiles, opts.Workers, true, stderr); err != nil {
			return err
		}
	}
	readTime := time.Since(start)

	rep := evalGenerateReport{Validity: map[string]*validity{"real": &real.val, "generated": &gen.val}}
	hj := headerJSD(real.hdr, gen.hdr)
	var sum float64
	for i, f := range headerFields {
		rep.HeaderJSD.add(f, hj[i])
		if i < paperHeaderFields {
			sum += hj[i]
		}
	}
	rep.HeaderJSD.add("mean", sum/paperHeaderFields)
	fj := flowJSD(real, gen)
	sum = 0
	for i, f := range metric.FlowFeatureNames {
		rep.FlowJSD.add(f, fj[i])
		if i < metric.PaperFlowFeatures {
			sum += fj[i]
		}
	}
	rep.FlowJSD.add("mean", sum/metric.PaperFlowFeatures)

	f1s, nDisc, err := discriminate(real, gen, opts)
	if err != nil {
		return err
	}
	mean, std := meanStd(f1s)
	rep.DiscriminatorF1, rep.DiscriminatorF1Std = jnum(mean), jnum(std)
	if train != nil {
		rep.Memorization = memorize(train, real, gen, opts.MaxFlows)
	}
	real.val.finish()
	gen.val.finish()
	if runTshark {
		select {
		case r := <-tsharkDone:
			real.val.Tshark, gen.val.Tshark = r.real, r.gen
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	if opts.Plots != "" {
		if err := writeEvalPlots(opts.Plots, real, gen); err != nil {
			return err
		}
	}
	table := stdout
	if opts.JSON == "-" {
		table = stderr // stdout carries the JSON alone
	}
	printEvalTable(table, &rep, nDisc, opts, trainFiles != nil, readTime, time.Since(start))
	if opts.JSON != "" {
		b, err := json.MarshalIndent(&rep, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if opts.JSON == "-" {
			_, err = stdout.Write(b)
			return err
		}
		return atomicfile.WriteFile(opts.JSON, b)
	}
	return nil
}

// headerJSD returns the JSD of every header field, in headerFields order.
func headerJSD(a, b *headerHist) []float64 {
	out := make([]float64, len(headerFields))
	for i, f := range headerFields {
		switch f {
		case "src_addr", "dst_addr":
			out[i] = metric.CategoricalJSD(a.addr[f], b.addr[f])
		case "length":
			out[i] = metric.JSD(a.length, b.length)
		case "tcp_window":
			out[i] = metric.JSD(a.window, b.window)
		case "iat":
			out[i] = metric.JSD(a.iat, b.iat)
		default:
			out[i] = metric.CategoricalJSD(a.cat[f], b.cat[f])
		}
	}
	return out
}

// flowJSD bins every flow feature on its published bins.
func flowJSD(a, b *sideData) []float64 {
	out := make([]float64, metric.NumFlowFeatures)
	for j := range out {
		out[j] = metric.JSD(featureHist(a, j), featureHist(b, j))
	}
	return out
}

func featureHist(s *sideData, j int) []float64 {
	bins := metric.FlowFeatureBins[j]
	h := make([]float64, bins.Cells())
	for i := 0; i < s.flows(); i++ {
		h[bins.Index(s.row(i)[j])]++
	}
	return h
}

// discriminate trains a random forest to tell real (class 0) from generated
// (class 1) flows on the flow features, once per seed: each run samples n =
// min(real flows, generated flows, MaxFlows) flows per side, holds out 30% of
// each side, and scores the macro F1 of the two classes on the held-out part
// (0.5 = chance on this balanced split, 1 = always told apart).
func discriminate(real, gen *sideData, opts evalGenerateOptions) (f1s []float64, n int, err error) {
	n = min(real.flows(), gen.flows(), opts.MaxFlows)
	if n < 10 {
		return nil, n, nil
	}
	nTest := max(1, n*3/10)
	for seed := 1; seed <= opts.Seeds; seed++ {
		r := rand.New(rand.NewPCG(uint64(seed), 0x6469736372))
		var Xtr, Xte [][]float64
		var ytr, yte []int
		for c, s := range []*sideData{real, gen} {
			perm := r.Perm(s.flows())[:n]
			for k, i := range perm {
				if k < nTest {
					Xte, yte = append(Xte, s.row(i)), append(yte, c)
				} else {
					Xtr, ytr = append(Xtr, s.row(i)), append(ytr, c)
				}
			}
		}
		forest, err := metric.Fit(Xtr, ytr, 2, metric.ForestOptions{Trees: opts.Trees, Seed: uint64(seed), Workers: opts.Workers})
		if err != nil {
			return nil, n, err
		}
		rep, err := metric.Report(yte, forest.PredictAll(Xte), 2, []string{"real", "generated"})
		if err != nil {
			return nil, n, err
		}
		f1s = append(f1s, rep.MacroF1)
	}
	return f1s, n, nil
}

// meanStd returns the mean and the sample standard deviation (NaN, NaN for
// no values; std 0 for one).
func meanStd(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	var m float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	if len(xs) == 1 {
		return m, 0
	}
	var v float64
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return m, math.Sqrt(v / float64(len(xs)-1))
}

// memorize compares generated and real flows with the training flows:
// exact duplicates of the payload hash, and the Euclidean distance to the
// nearest training flow in feature space (log1p of every feature, then
// z-scored with the training mean and std), for up to maxFlows sampled flows
// per side against up to 4*maxFlows training flows.
func memorize(train, real, gen *sideData, maxFlows int) *memorization {
	m := &memorization{TrainFlows: train.flows()}
	hs := make(map[[16]byte]struct{}, len(train.hashes))
	for _, h := range train.hashes {
		hs[h] = struct{}{}
	}
	dups := func(s *sideData) int {
		d := 0
		for _, h := range s.hashes {
			if _, ok := hs[h]; ok {
				d++
			}
		}
		return d
	}
	m.GeneratedPayload, m.RealPayload = len(gen.hashes), len(real.hashes)
	m.GeneratedDup, m.RealDup = dups(gen), dups(real)
	m.GeneratedDupShare = share(m.GeneratedDup, m.GeneratedPayload)
	m.RealDupShare = share(m.RealDup, m.RealPayload)

	nf := metric.NumFlowFeatures
	r := rand.New(rand.NewPCG(7, 0x6d656d6f))
	sample := func(s *sideData, k int) [][]float64 {
		idx := r.Perm(s.flows())
		idx = idx[:min(len(idx), k)]
		out := make([][]float64, len(idx))
		for j, i := range idx {
			v := make([]float64, nf)
			for c, x := range s.row(i) {
				v[c] = math.Log1p(max(x, 0))
			}
			out[j] = v
		}
		return out
	}
	tr := sample(train, 4*maxFlows)
	mean, sd := make([]float64, nf), make([]float64, nf)
	for _, v := range tr {
		for c, x := range v {
			mean[c] += x
		}
	}
	for c := range mean {
		mean[c] /= float64(max(1, len(tr)))
	}
	for _, v := range tr {
		for c, x := range v {
			sd[c] += (x - mean[c]) * (x - mean[c])
		}
	}
	for c := range sd {
		sd[c] = math.Sqrt(sd[c] / float64(max(1, len(tr))))
		if sd[c] == 0 {
			sd[c] = 1
		}
	}
	norm := func(vs [][]float64) {
		for _, v := range vs {
			for c := range v {
				v[c] = (v[c] - mean[c]) / sd[c]
			}
		}
	}
	norm(tr)
	nn := func(s *sideData) (med, avg, zero float64) {
		q := sample(s, maxFlows)
		norm(q)
		if len(q) == 0 || len(tr) == 0 {
			return math.NaN(), math.NaN(), math.NaN()
		}
		d := make([]float64, len(q))
		var wg sync.WaitGroup
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(q); i += 2 {
					best := math.Inf(1)
					for _, t := range tr {
						var s float64
						for c := range t {
							e := q[i][c] - t[c]
							s += e * e
						}
						best = min(best, s)
					}
					d[i] = math.Sqrt(best)
				}
			}()
		}
		wg.Wait()
		zeros := 0
		for _, x := range d {
			avg += x
			if x == 0 {
				zeros++
			}
		}
		sort.Float64s(d)
		med = d[len(d)/2]
		if len(d)%2 == 0 {
			med = (d[len(d)/2-1] + d[len(d)/2]) / 2
		}
		return med, avg / float64(len(d)), float64(zeros) / float64(len(d))
	}
	gm, ga, gz := nn(gen)
	rm, ra, rz := nn(real)
	m.GeneratedNNMedian, m.GeneratedNNMean, m.GeneratedNNZero = jnum(gm), jnum(ga), jnum(gz)
	m.RealNNMedian, m.RealNNMean, m.RealNNZero = jnum(rm), jnum(ra), jnum(rz)
	m.NNMedianRatio = jnum(math.NaN())
	if rm > 0 {
		m.NNMedianRatio = jnum(gm / rm)
	}
	return m
}

// tsharkExpert streams the packets of files as one multi-section pcapng
// into tshark (one process, so its start-up cost is paid once) with
// checksum validation on, and counts packets by expert info. A file the
// pcap reader cannot finish contributes the packets before the error.
func tsharkExpert(ctx context.Context, files []string) *tsharkCounts {
	res := &tsharkCounts{}
	cmd := exec.CommandContext(ctx, "tshark", "-n", "-r", "-",
		"-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-T", "fields", "-E", "separator=/t", "-e", "_ws.expert.severity", "-e", "_ws.expert.group")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		res.Err = err.Error()
		return res
	}
	go func() {
		w := bufio.NewWriterSize(stdin, 256<<10)
		writePcapngStream(ctx, w, files)
		w.Flush()
		stdin.Close()
	}()
	// Expert severities and groups are Wireshark's PI_* constants.
	const sevError, grpChecksum, grpMalformed = "8388608", "16777216", "117440512"
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		res.Packets++
		sev, grp, _ := strings.Cut(sc.Text(), "\t")
		if hasItem(sev, sevError) {
			res.Errors++
		}
		if hasItem(grp, grpMalformed) {
			res.Malformed++
		}
		if hasItem(grp, grpChecksum) {
			res.Checksum++
		}
	}
	if err := cmd.Wait(); err != nil && ctx.Err() == nil {
		msg := strings.TrimSpace(errBuf.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		res.Err = strings.TrimSpace(err.Error() + ": " + msg)
	}
	res.CleanShr = jnum(math.NaN())
	if res.Packets > 0 {
		res.CleanShr = jnum(1 - float64(res.Errors)/float64(res.Packets))
	}
	return res
}

func hasItem(list, item string) bool {
	for list != "" {
		var it string
		it, list, _ = strings.Cut(list, ",")
		if it == item {
			return true
		}
	}
	return false
}

// writePcapngStream writes every packet of files as pcapng: one section per
// file, one interface per (section, interface) of the source with
// nanosecond timestamps. Errors end the file's section early.
func writePcapngStream(ctx context.Context, w io.Writer, files []string) {
	var b []byte
	for _, path := range files {
		if ctx.Err() != nil {
			return
		}
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		r, err := pcap.NewReader(bufio.NewReaderSize(f, 256<<10), pcap.ReaderOptions{})
		if err != nil {
			f.Close()
			continue
		}
		// SHB: byte-order magic, version 1.0, unknown section length.
		b = appendBlock(b[:0], pcap.BlockSHB, func(b []byte) []byte {
			b = binary.LittleEndian.AppendUint32(b, 0x1A2B3C4D)
			b = binary.LittleEndian.AppendUint16(b, 1)
			b = binary.LittleEndian.AppendUint16(b, 0)
			return binary.LittleEndian.AppendUint64(b, ^uint64(0))
		})
		ifaces := map[[2]uint64]uint32{}
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			if rec.Kind != pcap.KindPacket {
				continue
			}
			key := [2]uint64{uint64(rec.Section), uint64(rec.Interface)}
			id, ok := ifaces[key]
			if !ok {
				id = uint32(len(ifaces))
				ifaces[key] = id
				// IDB: link type, snaplen 0, if_tsresol = 9 (ns).
				b = appendBlock(b, pcap.BlockIDB, func(b []byte) []byte {
					b = binary.LittleEndian.AppendUint16(b, uint16(rec.LinkType))
					b = binary.LittleEndian.AppendUint16(b, 0)
					b = binary.LittleEndian.AppendUint32(b, 0)
					b = append(b, 9, 0, 1, 0, 9, 0, 0, 0)
					return append(b, 0, 0, 0, 0)
				})
			}
			var ts uint64
			if rec.HasTime {
				ts = uint64(rec.Resolution.TicksToNanos(rec.Timestamp))
			}
			b = appendBlock(b, pcap.BlockEPB, func(b []byte) []byte {
				b = binary.LittleEndian.AppendUint32(b, id)
				b = binary.LittleEndian.AppendUint32(b, uint32(ts>>32))
				b = binary.LittleEndian.AppendUint32(b, uint32(ts))
				b = binary.LittleEndian.AppendUint32(b, uint32(len(rec.Data)))
				b = binary.LittleEndian.AppendUint32(b, max(rec.OrigLen, uint32(len(rec.Data))))
				b = append(b, rec.Data...)
				return append(b, make([]byte, -len(rec.Data)&3)...)
			})
			if len(b) >= 128<<10 {
				if _, err := w.Write(b); err != nil {
					f.Close()
					return
				}
				b = b[:0]
			}
		}
		f.Close()
		if _, err := w.Write(b); err != nil {
			return
		}
		b = b[:0]
	}
}

// appendBlock appends a pcapng block (little endian) whose body body writes.
func appendBlock(b []byte, typ uint32, body func([]byte) []byte) []byte {
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, typ)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = body(b)
	n := uint32(len(b) - start + 4)
	binary.LittleEndian.PutUint32(b[start+4:], n)
	return binary.LittleEndian.AppendUint32(b, n)
}

// printEvalTable writes the human-readable report.
func printEvalTable(w io.Writer, rep *evalGenerateReport, nDisc int, opts evalGenerateOptions, haveTrain bool, readTime, total time.Duration) {
	rv, gv := rep.Validity["real"], rep.Validity["generated"]
	f := func(v jnum) string {
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
	fmt.Fprintf(w, "\nheader JSD (bits, 0 = same, 1 = disjoint)\n")
	for i, k := range rep.HeaderJSD.keys {
		label := k
		if k == "mean" {
			label = "mean (paper's six: sport..ttl)"
		}
		fmt.Fprintf(w, "  %-32s %20s\n", label, f(jnum(rep.HeaderJSD.vals[i])))
	}
	fmt.Fprintf(w, "\nflow JSD (k-fingerprinting features)\n")
	for i, k := range rep.FlowJSD.keys {
		label := k
		if k == "mean" {
			label = "mean (the paper's six)"
		}
		fmt.Fprintf(w, "  %-32s %20s\n", label, f(jnum(rep.FlowJSD.vals[i])))
	}
	fmt.Fprintf(w, "\ndiscriminator F1 (0.5 = indistinguishable): %s ± %s  (random forest, %d trees, %d seeds, %d flows per side, 30%% held out)\n",
		f(rep.DiscriminatorF1), f(rep.DiscriminatorF1Std), opts.Trees, opts.Seeds, nDisc)
	fmt.Fprintf(w, "\nvalidity%27s %20s %20s\n", "", "real (n)", "generated (n)")
	row := func(name string, a, b jnum, na, nb int) {
		fmt.Fprintf(w, "  %-32s %20s %20s\n", name, f(a)+fmt.Sprintf(" (%d)", na), f(b)+fmt.Sprintf(" (%d)", nb))
	}
	row("packets decoded", rv.PacketShare, gv.PacketShare, rv.Packets, gv.Packets)
	row("flows decoded", rv.FlowShare, gv.FlowShare, rv.Flows, gv.Flows)
	row("IPv4 header checksum ok", rv.IPv4Share, gv.IPv4Share, rv.IPv4Checked, gv.IPv4Checked)
	row("TCP/UDP checksum ok", rv.L4Share, gv.L4Share, rv.L4Checked, gv.L4Checked)
	row("TCP: SYN first", share(rv.TCPSynStart, rv.TCPFlows), share(gv.TCPSynStart, gv.TCPFlows), rv.TCPFlows, gv.TCPFlows)
	row("TCP: handshake before data", rv.HandshakeShr, gv.HandshakeShr, rv.TCPSynStart, gv.TCPSynStart)
	row("TCP: ACKs consistent", rv.AckShare, gv.AckShare, rv.TCPAcks, gv.TCPAcks)
	fmt.Fprintf(w, "  %-32s %20d %20d\n", "files with read errors", rv.FileErrors, gv.FileErrors)
	if rv.Tshark != nil && gv.Tshark != nil {
		row("tshark: no expert error", rv.Tshark.CleanShr, gv.Tshark.CleanShr, rv.Tshark.Packets, gv.Tshark.Packets)
		fmt.Fprintf(w, "  %-32s %20d %20d\n", "tshark: malformed packets", rv.Tshark.Malformed, gv.Tshark.Malformed)
		fmt.Fprintf(w, "  %-32s %20d %20d\n", "tshark: checksum errors", rv.Tshark.Checksum, gv.Tshark.Checksum)
		for _, t := range []*tsharkCounts{rv.Tshark, gv.Tshark} {
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
	} else if !haveTrain {
		fmt.Fprintf(w, "\nmemorisation: not measured (no --train)\n")
	}
	fmt.Fprintf(w, "\n%.1fs (reading %.1fs)\n", total.Seconds(), readTime.Seconds())
}

// writeEvalPlots writes header_<field>.png and flow_<feature>.png.
func writeEvalPlots(dir string, real, gen *sideData) error {
	for _, f := range headerFields {
		var h plot.Hist2
		switch f {
		case "src_addr", "dst_addr":
			h = catHist2(real.hdr.addr[f], gen.hdr.addr[f], netip.Addr.String, func(a, b netip.Addr) bool { return a.Less(b) })
		case "length":
			h = binHist2(metric.LengthBins, real.hdr.length, gen.hdr.length)
		case "tcp_window":
			h = binHist2(metric.WindowBins, real.hdr.window, gen.hdr.window)
		case "iat":
			h = binHist2(metric.TimeBins, real.hdr.iat, gen.hdr.iat)
		default:
			label := func(v uint16) string { return strconv.Itoa(int(v)) }
			if f == "tcp_flags" {
				label = tcpFlagString
			}
			h = catHist2(real.hdr.cat[f], gen.hdr.cat[f], label, func(a, b uint16) bool { return a < b })
		}
		h.Title, h.XLabel = "header field "+f, f
		if err := plotIfAny(filepath.Join(dir, "header_"+f+".png"), h); err != nil {
			return err
		}
	}
	for j, name := range metric.FlowFeatureNames {
		h := binHist2(metric.FlowFeatureBins[j], featureHist(real, j), featureHist(gen, j))
		h.Title, h.XLabel = "flow feature "+name, metric.FlowFeatureBins[j].Name
		if err := plotIfAny(filepath.Join(dir, "flow_"+name+".png"), h); err != nil {
			return err
		}
	}
	return nil
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
