package flow

import (
	"context"
	"fmt"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// Packet is one packet of a Flow, with its own copy of the captured bytes.
type Packet struct {
	Index   int    // record index in the capture (pcap.Record.Index)
	TsNanos int64  // timestamp in ns since the epoch (the previous packet's for SPBs)
	Ticks   uint64 // raw timestamp in ticks of the flow's Resolution
	C2S     bool   // client to server (same direction as the flow's first packet)
	OrigLen uint32
	Data    []byte
}

// Flow is a complete flow as delivered by ReadFlows.
type Flow struct {
	ID         uint64 // order of first appearance in the capture
	Key        packet.Key
	FirstAToB  bool   // direction of the first packet relative to Key
	LinkType   uint32 // of the first packet's interface (whole pcap field)
	Resolution pcap.Resolution
	Section    int
	Interface  uint32
	Packets    []Packet
	EndReason  EndReason

	buf []byte // arena the packets' Data point into
}

// appendPacket copies data into the flow's arena. Arena chunks grow from
// 512 bytes to 64 KiB so that short flows stay small; a full chunk is left
// to the packets that point into it.
func (f *Flow) appendPacket(p Packet, data []byte) {
	if cap(f.buf)-len(f.buf) < len(data) {
		n := min(max(2*cap(f.buf), 512), 64<<10)
		f.buf = make([]byte, 0, max(n, len(data)))
	}
	s := len(f.buf)
	f.buf = append(f.buf, data...)
	p.Data = f.buf[s:len(f.buf):len(f.buf)]
	f.Packets = append(f.Packets, p)
}

// ReadFlows reads every record of r with Scan and calls fn with each flow,
// its packets copied, as it ends: in the order flows end, the ones still
// active at EOF last, by id. fn owns the Flow. Memory is bounded by the
// packets of active flows. An error from r or fn stops reading and is
// returned. It is the whole-flow view (tests and tools that need every
// packet of a flow at once); streaming consumers use Scan.
func ReadFlows(r *pcap.Reader, cfg Config, fn func(*Flow) error) error {
	active := make(map[uint64]*Flow)
	var fnErr error // fn's errors come back as they are, the reader's wrapped
	err := Scan(context.Background(), r, cfg, Visitor{
		Packet: func(p *Scanned) error {
			rec, as := p.Record, p.Flow
			f := active[as.Flow]
			if as.New {
				f = &Flow{
					ID: as.Flow, LinkType: rec.LinkType, Resolution: rec.Resolution,
					Section: rec.Section, Interface: rec.Interface,
				}
				f.Key, f.FirstAToB = packet.KeyOf(p.Layers, rec.Data)
				f.Key.Scope = Scope(rec.Section, rec.Interface)
				active[as.Flow] = f
			}
			f.appendPacket(Packet{Index: rec.Index, TsNanos: p.TsNanos, Ticks: rec.Timestamp, C2S: as.C2S, OrigLen: rec.OrigLen}, rec.Data)
			return nil
		},
		Ended: func(e Ended) error {
			f := active[e.Flow]
			delete(active, e.Flow)
			f.EndReason = e.Reason
			fnErr = fn(f)
			return fnErr
		},
	})
	if err != nil && err != fnErr {
		return fmt.Errorf("flow: %w", err)
	}
	return err
}

// Stats summarises a flow; C2S is client to server. Bytes count the
// original (on-the-wire) lengths, Captured the captured ones.
type Stats struct {
	Packets, PacketsC2S, PacketsS2C int
	Bytes, BytesC2S, BytesS2C       uint64
	Captured                        uint64
	First, Last                     int64 // timestamps (ns) of the first and last packet
	Duration                        time.Duration
}

// Stats computes the flow's summary.
func (f *Flow) Stats() Stats {
	var s Stats
	for i, p := range f.Packets {
		if i == 0 {
			s.First, s.Last = p.TsNanos, p.TsNanos
		}
		s.First = min(s.First, p.TsNanos)
		s.Last = max(s.Last, p.TsNanos)
		s.Packets++
		s.Bytes += uint64(p.OrigLen)
		s.Captured += uint64(len(p.Data))
		if p.C2S {
			s.PacketsC2S++
			s.BytesC2S += uint64(p.OrigLen)
		} else {
			s.PacketsS2C++
			s.BytesS2C += uint64(p.OrigLen)
		}
	}
	s.Duration = time.Duration(s.Last - s.First)
	return s
}
