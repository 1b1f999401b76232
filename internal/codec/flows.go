package codec

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"

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
	Tokens []Token // FLOW ... END/CUT; valid during the callback only (see NumTokens, EachTokens)
	// NumTokens is the flow's token count. It equals len(Tokens) unless
	// EncodeOptions.SpillTokens moved the first ones to disk (read them all
	// with EachTokens) or CountOnly kept none.
	NumTokens int
	spill     *spillFile
	chunks    []spillChunk
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
	// SpillTokens > 0 bounds the tokens a flow holds in memory: beyond that
	// many they go to an unlinked temporary file (in SpillDir, default the
	// system's), so memory is bounded by the active flows times SpillTokens
	// whatever the longest flow; fn reads them with EncodedFlow.EachTokens.
	SpillTokens int
	SpillDir    string
	// CountOnly keeps no tokens, only NumTokens (listings).
	CountOnly bool
}

// spillFile holds the tokens that long flows moved out of memory, as
// little-endian uint16 chunks.
type spillFile struct {
	f   *os.File
	off int64
	buf []byte
}

type spillChunk struct{ off, n int64 } // byte offset, tokens

func (s *spillFile) write(toks []Token) (spillChunk, error) {
	s.buf = s.buf[:0]
	for _, t := range toks {
		s.buf = binary.LittleEndian.AppendUint16(s.buf, t)
	}
	if _, err := s.f.WriteAt(s.buf, s.off); err != nil {
		return spillChunk{}, fmt.Errorf("codec: spilling a long flow's tokens: %w", err)
	}
	c := spillChunk{s.off, int64(len(toks))}
	s.off += int64(len(s.buf))
	return c, nil
}

// EachTokens calls fn with the flow's tokens in order, in pieces of at most
// 64k tokens read back from the spill file, then the ones in memory.
// Slices are valid during the call only.
func (ef *EncodedFlow) EachTokens(fn func([]Token) error) error {
	var raw []byte
	var toks []Token
	for _, c := range ef.chunks {
		for done := int64(0); done < c.n; {
			k := min(c.n-done, 1<<16)
			raw = slices.Grow(raw[:0], int(2*k))[:2*k]
			if _, err := ef.spill.f.ReadAt(raw, c.off+2*done); err != nil {
				return fmt.Errorf("codec: reading a spilled flow back: %w", err)
			}
			toks = slices.Grow(toks[:0], int(k))[:k]
			for i := range toks {
				toks[i] = binary.LittleEndian.Uint16(raw[2*i:])
			}
			if err := fn(toks); err != nil {
				return err
			}
			done += k
		}
	}
	if len(ef.Tokens) == 0 {
		return nil
	}
	return fn(ef.Tokens)
}

type activeFlow struct {
	ef  EncodedFlow
	enc *FlowEncoder
}

// EncodeFlows reads a capture and calls fn with each flow as it ends, with its
// tokens under opts.View. Memory is bounded by the active flows and their
// tokens: bound those with View.MaxTokens or MaxPackets, with SpillTokens
// (long flows wait on disk) or CountOnly.
func EncodeFlows(ctx context.Context, src io.Reader, opts EncodeOptions, fn func(*EncodedFlow) error) (Stats, error) {
	var st Stats
	r, err := pcap.NewReader(src, pcap.ReaderOptions{KeepTrailing: opts.KeepTrailing})
	if err != nil {
		return st, err
	}
	active := map[uint64]*activeFlow{}
	var free []*activeFlow
	var spill *spillFile
	defer func() {
		if spill != nil {
			spill.f.Close()
		}
	}()
	// bound moves a flow's tokens to disk (or drops them, CountOnly) once
	// it holds more than the options allow.
	bound := func(a *activeFlow, final bool) error {
		switch {
		case opts.CountOnly:
			a.ef.NumTokens += len(a.ef.Tokens)
			a.ef.Tokens = a.ef.Tokens[:0]
		case opts.SpillTokens > 0 && len(a.ef.Tokens) > opts.SpillTokens:
			if spill == nil {
				f, err := os.CreateTemp(opts.SpillDir, "trafficgpt-spill-*")
				if err != nil {
					return fmt.Errorf("codec: spilling a long flow: %w", err)
				}
				os.Remove(f.Name()) // unlinked: nothing is left behind, even by kill -9
				spill = &spillFile{f: f}
			}
			c, err := spill.write(a.ef.Tokens)
			if err != nil {
				return err
			}
			a.ef.chunks = append(a.ef.chunks, c)
			a.ef.spill = spill
			a.ef.NumTokens += len(a.ef.Tokens)
			a.ef.Tokens = a.ef.Tokens[:0]
		}
		if final {
			a.ef.NumTokens += len(a.ef.Tokens)
		}
		return nil
	}
	err = scanCapture(ctx, r, opts.Flow, &st, scanVisitor{
		packet: func(rec *pcap.Record, lay *packet.Layers, as flow.Assignment, nanos int64) error {
			a := active[as.Flow]
			if as.New {
				if k := len(free); k > 0 {
					a, free = free[k-1], free[:k-1]
					toks, info, chunks := a.ef.Tokens[:0], a.ef.Info[:0], a.ef.chunks[:0]
					a.ef = EncodedFlow{Tokens: toks, Info: info, chunks: chunks}
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
			return bound(a, false)
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
			if err := bound(a, true); err != nil {
				return err
			}
			st.Tokens += int64(a.ef.NumTokens)
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

// Record is the flow's row in a listing of file's flows (flow.Record: the
// columns of trafficgpt flows).
func (ef *EncodedFlow) Record(file string) flow.Record {
	return flow.Record{
		FlowID: ef.ID, File: file, StartNs: ef.FirstNs, EndNs: ef.LastNs, Res: ef.Res,
		Key: ef.Key, FirstAToB: ef.FirstAToB, Counts: ef.Counts, Tokens: ef.NumTokens,
		EndReason: ef.Reason, CommunityID: ef.CommunityID,
	}
}
