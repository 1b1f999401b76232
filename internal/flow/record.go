package flow

import (
	"fmt"
	"strconv"

	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// Counts are a flow's per-direction packets and bytes; C2S is client to
// server (the direction of the flow's first packet). Bytes are the
// on-the-wire (original) frame lengths, Captured the captured ones (less
// when the capture had a snap length); both include link-layer headers, as
// tshark's conversation tables count them.
type Counts struct {
	PacketsC2S, PacketsS2C   int64
	BytesC2S, BytesS2C       int64
	CapturedC2S, CapturedS2C int64
}

// Add counts one packet.
func (c *Counts) Add(c2s bool, origLen, capLen int) {
	if c2s {
		c.PacketsC2S++
		c.BytesC2S += int64(origLen)
		c.CapturedC2S += int64(capLen)
		return
	}
	c.PacketsS2C++
	c.BytesS2C += int64(origLen)
	c.CapturedS2C += int64(capLen)
}

// Packets is the flow's packet count, both directions.
func (c Counts) Packets() int64 { return c.PacketsC2S + c.PacketsS2C }

// Record is one flow as the `flows` command writes it, in CSV
// (RecordColumns, then Fields) or JSON lines (AppendJSON): the same columns
// in both, described in docs/formats.md. Absent values (ports of a flow
// without ports, the protocol of a non-IP flow) are empty in CSV and null
// in JSON.
type Record struct {
	FlowID uint64 // order of first appearance in the file (0, 1, ...)
	File   string
	// StartNs and EndNs are the first and last packet's times in ns since
	// the epoch; Res is the capture's timestamp resolution: times are
	// printed as epoch seconds with as many decimals as it has (9 for
	// binary or finer resolutions).
	StartNs, EndNs int64
	Res            pcap.Resolution
	Key            packet.Key
	FirstAToB      bool // direction of the first packet relative to Key
	Counts
	Tokens      int
	EndReason   EndReason
	CommunityID string
}

// RecordColumns are the column names of a Record, in order (the CSV header
// and the JSON keys).
var RecordColumns = []string{
	"flow_id", "file", "start", "end", "duration", "proto", "proto_name",
	"client_addr", "client_port", "server_addr", "server_port",
	"c2s_packets", "s2c_packets", "c2s_bytes", "s2c_bytes", "c2s_captured_bytes", "s2c_captured_bytes",
	"tokens", "end_reason", "community_id",
}

// field is one value of a Record: text, and whether it is a JSON number
// (else a string) or absent.
type field struct {
	s      string
	number bool
	absent bool
}

func num(s string) field { return field{s: s, number: true} }

var absent = field{absent: true}

// decimals is the number of fractional digits of r's ticks (up to ns).
func decimals(r pcap.Resolution) int {
	if r.IsBinary() || r.Exp() > 9 {
		return 9
	}
	return r.Exp()
}

// formatSeconds prints ns as seconds with d decimals, exactly (no float
// rounding: ns epoch times need 19 digits).
func formatSeconds(ns int64, d int) string {
	neg := ns < 0
	if neg {
		ns = -ns
	}
	s := strconv.FormatInt(ns/1e9, 10)
	if d > 0 {
		frac := ns % 1e9
		for i := d; i < 9; i++ {
			frac /= 10
		}
		s += fmt.Sprintf(".%0*d", d, frac)
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ProtoName names a flow key's protocol: tcp, udp, icmp, ..., ip-proto-N
// for other IP protocols, ether-0xXXXX (arp for ARP) for non-IP frames,
// link-N for undecoded ones.
func ProtoName(k packet.Key) string {
	switch k.Kind {
	case packet.KindPorts, packet.KindIP:
		return protoName(k.Proto)
	case packet.KindEther:
		if k.EtherType == packet.EtherTypeARP {
			return "arp"
		}
		return fmt.Sprintf("ether-0x%04x", k.EtherType)
	}
	return fmt.Sprintf("link-%d", k.LinkType)
}

func protoName(p uint8) string {
	switch p {
	case packet.ProtoTCP:
		return "tcp"
	case packet.ProtoUDP:
		return "udp"
	case packet.ProtoICMP:
		return "icmp"
	case packet.ProtoICMPv6:
		return "icmpv6"
	case 2:
		return "igmp"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case ProtoSCTP:
		return "sctp"
	}
	return "ip-proto-" + strconv.Itoa(int(p))
}

func mac(b []byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

// endpoints returns client and server address and port fields.
func (r *Record) endpoints() (ca, cp, sa, sp field) {
	k := r.Key
	switch k.Kind {
	case packet.KindPorts, packet.KindIP:
		c, s := k.ClientServer(r.FirstAToB)
		ca, sa = field{s: c.Addr().String()}, field{s: s.Addr().String()}
		cp, sp = absent, absent
		if k.Kind == packet.KindPorts {
			cp, sp = num(strconv.Itoa(int(c.Port()))), num(strconv.Itoa(int(s.Port())))
		}
		return ca, cp, sa, sp
	case packet.KindEther:
		a, b := mac(k.A[:6]), mac(k.B[:6])
		if !r.FirstAToB {
			a, b = b, a
		}
		return field{s: a}, absent, field{s: b}, absent
	}
	return absent, absent, absent, absent
}

func (r *Record) fields() []field {
	d := decimals(r.Res)
	proto := absent
	if r.Key.Kind >= packet.KindIP {
		proto = num(strconv.Itoa(int(r.Key.Proto)))
	}
	ca, cp, sa, sp := r.endpoints()
	cid := absent
	if r.CommunityID != "" {
		cid = field{s: r.CommunityID}
	}
	i64 := func(v int64) field { return num(strconv.FormatInt(v, 10)) }
	return []field{
		num(strconv.FormatUint(r.FlowID, 10)), {s: r.File},
		num(formatSeconds(r.StartNs, d)), num(formatSeconds(r.EndNs, d)), num(formatSeconds(r.EndNs-r.StartNs, d)),
		proto, {s: ProtoName(r.Key)},
		ca, cp, sa, sp,
		i64(r.PacketsC2S), i64(r.PacketsS2C), i64(r.BytesC2S), i64(r.BytesS2C), i64(r.CapturedC2S), i64(r.CapturedS2C),
		num(strconv.Itoa(r.Tokens)), {s: r.EndReason.String()}, cid,
	}
}

// Fields returns the record's CSV values, in RecordColumns order.
func (r *Record) Fields() []string {
	fs := r.fields()
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.s
	}
	return out
}

// AppendJSON appends the record as one JSON object (no newline) with the
// keys of RecordColumns in order: times and counts are numbers (times with
// the capture's decimals, exactly), absent values null.
func (r *Record) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, f := range r.fields() {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, RecordColumns[i])
		b = append(b, ':')
		switch {
		case f.absent:
			b = append(b, "null"...)
		case f.number:
			b = append(b, f.s...)
		default:
			b = appendJSONString(b, f.s)
		}
	}
	return append(b, '}')
}

// appendJSONString quotes s as JSON: strconv.Quote's escapes are Go's,
// not JSON's, for control and non-UTF-8 bytes.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&15])
		default:
			b = append(b, string(r)...)
		}
	}
	return append(b, '"')
}
