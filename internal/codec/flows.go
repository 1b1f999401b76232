package codec

import (
	"context"
	"io"

	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// EncodedFlow is one flow of a capture with its tokens under some view.
type EncodedFlow struct {
	ID        uint64
	Key       packet.Key
	FirstAToB bool // direction of the first packet relative to Key (see Key.ClientServer)
	Reason    flow.EndReason
	LinkType  uint32
	Start     uint64 // timestamp of the first packet, in Resolution ticks
	Res       pcap.Resolution
	FirstNs   int64
	LastNs    int64
	Packets   int // packets of the flow (also those a view dropped)
	Bytes     int64
	// Counts: per-direction packets, wire and captured bytes (all packets).
	Counts flow.Counts
	Tokens []Token // FLOW ... END/CUT; valid during the callback only
	// CommunityID is the flow's Community ID v1 with seed 0
	// (flow.PacketCommunityID of its first packet), "" for non-IP flows.
	CommunityID string
	// PayloadHash (FNV-1a) and PayloadLen cover the transport payload bytes
	// of every packet the view kept, both directions in order.
	PayloadHash uint64
	PayloadLen  int64
	// PacketInfo: per-packet summary (up to MaxPacketInfo packets) for flow
	// features: direction, captured length, original length, time (ns).
	Info []PacketInfo
}

// PacketInfo is the shape of one packet, for flow features.
type PacketInfo struct {
	C2S     bool
	OrigLen uint32
	CapLen  uint32
	Nanos   int64
}

// EncodeOptions configure EncodeFlows.
type EncodeOptions struct {
	Flow          flow.Config
	View          View
	KeepTrailing  bool
	Label         func(*EncodedFlow) int // label token to put after <flow> (-1: none); called at the flow's start
	MaxPacketInfo int                    // per-packet summaries to keep per flow (0: none)
}

type activeFlow struct {
	ef  EncodedFlow
	enc *FlowEncoder
}

// EncodeFlows reads a capture and calls fn with each flow as it ends, with its
// tokens under opts.View. Memory is bounded by the active flows and their
// tokens (bound them with View.MaxTokens or MaxPackets).
func EncodeFlows(ctx context.Context, src io.Reader, opts EncodeOptions, fn func(*EncodedFlow) error) (Stats, error) {
	var st Stats
	r, err := pcap.NewReader(src, pcap.ReaderOptions{KeepTrailing: opts.KeepTrailing})
	if err != nil {
		return st, err
	}
	active := map[uint64]*activeFlow{}
	var free []*activeFlow
	err = scanCapture(ctx, r, opts.Flow, &st, scanVisitor{
		packet: func(rec *pcap.Record, lay *packet.Layers, as flow.Assignment, nanos int64) error {
			a := active[as.Flow]
			if as.New {
				if k := len(free); k > 0 {
					a, free = free[k-1], free[:k-1]
					toks, info := a.ef.Tokens[:0], a.ef.Info[:0]
					a.ef = EncodedFlow{Tokens: toks, Info: info}
					a.enc.Stats = EncodeStats{}
				} else {
					a = &activeFlow{enc: NewFlowEncoder(opts.View)}
					a.enc.HashPayload = true
				}
				a.ef.ID, a.ef.LinkType, a.ef.Start, a.ef.Res = as.Flow, rec.LinkType, rec.Timestamp, rec.Resolution
				a.ef.Key, a.ef.FirstAToB = packet.KeyOf(lay, rec.Data)
				a.ef.Key.Scope = flow.Scope(rec.Section, rec.Interface)
				a.ef.CommunityID = flow.PacketCommunityID(lay, rec.Data, 0)
				label := -1
				if opts.Label != nil {
					label = opts.Label(&a.ef)
				}
				a.ef.Tokens = a.enc.Begin(a.ef.Tokens, Header{LinkType: rec.LinkType, Resolution: rec.Resolution, Label: label}, rec.Timestamp)
				active[as.Flow] = a
			}
			if a == nil {
				return nil
			}
			a.ef.Packets++
			a.ef.Bytes += int64(rec.OrigLen)
			a.ef.Counts.Add(as.C2S, int(rec.OrigLen), len(rec.Data))
			if len(a.ef.Info) < opts.MaxPacketInfo {
				a.ef.Info = append(a.ef.Info, PacketInfo{C2S: as.C2S, OrigLen: rec.OrigLen, CapLen: uint32(len(rec.Data)), Nanos: nanos})
			}
			a.ef.Tokens = a.enc.Packet(a.ef.Tokens, as.C2S, rec.Timestamp, rec.HasTime, rec.OrigLen, rec.Data)
			return nil
		},
		ended: func(en flow.Ended) error {
			a := active[en.Flow]
			if a == nil {
				return nil
			}
			a.ef.Key, a.ef.FirstAToB, a.ef.Reason = en.Key, en.FirstAToB, en.Reason
			a.ef.FirstNs, a.ef.LastNs = en.First, en.Last
			a.ef.Tokens = a.enc.End(a.ef.Tokens)
			a.ef.PayloadHash, a.ef.PayloadLen = a.enc.PayloadHash, a.enc.PayloadLen
			st.Tokens += int64(len(a.ef.Tokens))
			st.Encode.add(a.enc.Stats)
			delete(active, en.Flow)
			if err := fn(&a.ef); err != nil {
				return err
			}
			free = append(free, a)
			return nil
		},
	})
	return st, err
}
