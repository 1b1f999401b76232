package evalgen

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// Num is a float64 that encodes NaN and ±Inf (undefined, e.g. an empty
// side) as JSON null.
type Num float64

// MarshalJSON writes 6 significant digits, or null.
func (v Num) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 6, 64), nil
}

// Scores are named values (divergences) whose JSON object keeps their order.
type Scores struct {
	Names  []string
	Values []float64
}

func (o *Scores) add(k string, v float64) {
	o.Names = append(o.Names, k)
	o.Values = append(o.Values, v)
}

// Get returns the value named k (NaN when absent).
func (o Scores) Get(k string) float64 {
	for i, n := range o.Names {
		if n == k {
			return o.Values[i]
		}
	}
	return math.NaN()
}

// MarshalJSON writes an object in Names order; NaN values are null.
func (o Scores) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.Names {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := Num(o.Values[i]).MarshalJSON()
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Report is the result of Run and its JSON report. The top-level keys of
// the first version (header_jsd ... memorization) are fixed; later
// versions only add keys.
type Report struct {
	HeaderJSD          Scores               `json:"header_jsd"`
	FlowJSD            Scores               `json:"flow_jsd"`
	DiscriminatorF1    Num                  `json:"discriminator_f1"`
	DiscriminatorF1Std Num                  `json:"discriminator_f1_std"`
	Validity           map[string]*Validity `json:"validity"`
	Memorization       *Memorization        `json:"memorization"`
	// Floor: two halves of the real flows against each other, and the
	// generated flows against half B, with their ratio (added in version 2).
	Floor *Floor `json:"floor"`
	// Classes: one row per class label on both sides (inputs labelled by
	// Options.Labels; added in version 2).
	Classes []ClassRow `json:"classes,omitempty"`

	// Not in the JSON: what the printed report also says.
	DiscriminatorFlows int           `json:"-"` // flows per side the discriminator sampled
	ReadTime           time.Duration `json:"-"` // reading and folding the captures

	real, gen *side // for WritePlots
}

// Validity counts what decodes and what is consistent on one side.
type Validity struct {
	Files        int   `json:"files"`
	FileErrors   int   `json:"file_errors"` // files whose reading stopped at an error (what came before counts)
	Bytes        int64 `json:"bytes"`
	Packets      int   `json:"packets"`
	PacketsClean int   `json:"packets_decoded"` // internal/packet.Decode returned no error
	PacketShare  Num   `json:"packet_decode_share"`
	// PacketsIP: IPv4 or IPv6 (not a fragment) carrying a whole TCP or
	// UDP header, the IP length within the captured bytes: a packet that
	// parses as what the codec and generation are about.
	PacketsIP    int           `json:"packets_ip_transport"`
	IPShare      Num           `json:"ip_transport_share"`
	Flows        int           `json:"flows"`
	FlowsClean   int           `json:"flows_decoded"` // every packet decoded
	FlowShare    Num           `json:"flow_decode_share"`
	IPv4Checked  int           `json:"ipv4_checksums"`
	IPv4OK       int           `json:"ipv4_checksums_ok"`
	IPv4Share    Num           `json:"ipv4_checksum_share"`
	L4Checked    int           `json:"l4_checksums"` // TCP/UDP segments captured whole (UDP without checksum skipped)
	L4OK         int           `json:"l4_checksums_ok"`
	L4Share      Num           `json:"l4_checksum_share"`
	TCPFlows     int           `json:"tcp_flows"`
	TCPSynStart  int           `json:"tcp_flows_syn_first"`       // first packet a client SYN without ACK
	TCPHandshake int           `json:"tcp_handshake_before_data"` // of those: SYN and SYN/ACK before any payload
	HandshakeShr Num           `json:"tcp_handshake_share"`       // TCPHandshake / TCPSynStart
	TCPAcks      int           `json:"tcp_acks_checked"`          // ACKs whose peer has sent something before
	TCPAcksOK    int           `json:"tcp_acks_consistent"`       // acknowledging no more than the peer sent
	AckShare     Num           `json:"tcp_ack_share"`
	Tshark       *TsharkCounts `json:"tshark"` // nil when not run
}

// TsharkCounts are tshark's expert-info verdicts on one side's packets.
type TsharkCounts struct {
	Packets   int    `json:"packets"`
	Errors    int    `json:"packets_with_errors"`     // any expert info of severity error
	Malformed int    `json:"packets_malformed"`       // expert group malformed
	Checksum  int    `json:"packets_checksum_errors"` // expert group checksum (checks enabled)
	CleanShr  Num    `json:"clean_share"`             // 1 - Errors/Packets
	Err       string `json:"error,omitempty"`
}

// Memorization compares generated and real flows with the training flows.
type Memorization struct {
	TrainFlows        int `json:"train_flows"`
	GeneratedPayload  int `json:"generated_flows_with_payload"`
	GeneratedDup      int `json:"generated_exact_duplicates"`
	GeneratedDupShare Num `json:"generated_duplicate_share"`
	RealPayload       int `json:"real_flows_with_payload"`
	RealDup           int `json:"real_exact_duplicates"`
	RealDupShare      Num `json:"real_duplicate_share"`
	GeneratedNNMedian Num `json:"generated_nn_median"`
	GeneratedNNMean   Num `json:"generated_nn_mean"`
	GeneratedNNZero   Num `json:"generated_nn_zero_share"`
	RealNNMedian      Num `json:"real_nn_median"`
	RealNNMean        Num `json:"real_nn_mean"`
	RealNNZero        Num `json:"real_nn_zero_share"`
	NNMedianRatio     Num `json:"nn_median_ratio"` // generated / real: well below 1 suggests copying
	// Membership (added in version 2): MembershipFlows training and as many
	// held-out real flows, each with the distance to its nearest generated
	// flow. MembershipAUC is the probability that a training flow is closer
	// to the generated flows than a held-out one: 0.5 = no sign that the
	// generator favours what it was trained on, towards 1 = memorisation.
	MembershipFlows     int `json:"membership_flows"`
	MembershipTrainNN   Num `json:"membership_train_nn_median"`
	MembershipHeldoutNN Num `json:"membership_heldout_nn_median"`
	MembershipAUC       Num `json:"membership_auc"`
}

// Share is a/b, NaN when b is 0.
func Share(a, b int) Num {
	if b == 0 {
		return Num(math.NaN())
	}
	return Num(float64(a) / float64(b))
}

func (v *Validity) finish() {
	v.PacketShare = Share(v.PacketsClean, v.Packets)
	v.FlowShare = Share(v.FlowsClean, v.Flows)
	v.IPShare = Share(v.PacketsIP, v.Packets)
	v.IPv4Share = Share(v.IPv4OK, v.IPv4Checked)
	v.L4Share = Share(v.L4OK, v.L4Checked)
	v.HandshakeShr = Share(v.TCPHandshake, v.TCPSynStart)
	v.AckShare = Share(v.TCPAcksOK, v.TCPAcks)
}

func (v *Validity) merge(w *Validity) {
	v.Files += w.Files
	v.FileErrors += w.FileErrors
	v.Bytes += w.Bytes
	v.Packets += w.Packets
	v.PacketsClean += w.PacketsClean
	v.PacketsIP += w.PacketsIP
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
