package flow

import (
	"context"
	"io"

	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// Scope is the packet.Key scope of a pcapng section and interface (classic
// pcap: 0): flows of different interfaces never merge. It is the one
// definition of a flow's scope; Scan, the codec and the evaluation use it.
func Scope(section int, iface uint32) uint64 { return uint64(section)<<32 | uint64(iface) }

// Scanned is one packet record as Scan hands it over. Its pointers are
// valid during the callback only.
type Scanned struct {
	Record    *pcap.Record
	Layers    *packet.Layers // packet.Decode of the record (partial when DecodeErr is set)
	DecodeErr error
	// TsNanos is the timestamp in ns since the epoch; a record without
	// one (pcapng SPB) takes the previous packet's (0 at the start).
	TsNanos int64
	Flow    Assignment
}

// Visitor receives what Scan finds; nil functions are skipped.
type Visitor struct {
	Record func(rec *pcap.Record) error // every record, packet or not, before Packet
	Packet func(p *Scanned) error       // every packet record, after it joined its flow
	Ended  func(e Ended) error          // a flow ended: after its last packet, at EOF in id order
}

// Scan is the one loop from a capture to flows: it reads every record of r,
// decodes each packet record once (packet.Decode), assigns it to a flow
// (Assembler.AddLayers with Scope(section, interface), so IP fragments
// follow their datagram) and reports flows as they end, streaming: memory
// is the Assembler's, O(active flows). A reader error is returned as it is
// (the flows still active are not ended: the caller knows they are cut),
// as is an error of a visitor or of ctx (checked every 4096 records).
func Scan(ctx context.Context, r *pcap.Reader, cfg Config, v Visitor) error {
	a := NewAssembler(cfg)
	var (
		lay   packet.Layers
		ended []Ended
		p     Scanned
	)
	endAll := func(list []Ended) error {
		if v.Ended == nil {
			return nil
		}
		for _, e := range list {
			if err := v.Ended(e); err != nil {
				return err
			}
		}
		return nil
	}
	for n := 0; ; n++ {
		if n&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := r.Next()
		if err == io.EOF {
			return endAll(a.Finish(ended[:0]))
		}
		if err != nil {
			return err
		}
		if v.Record != nil {
			if err := v.Record(rec); err != nil {
				return err
			}
		}
		if rec.Kind != pcap.KindPacket {
			continue
		}
		if rec.HasTime {
			p.TsNanos = rec.Resolution.TicksToNanos(rec.Timestamp)
		}
		p.Record, p.Layers = rec, &lay
		p.DecodeErr = packet.Decode(rec.LinkType, rec.Data, &lay) // on error lay holds what decoded: still a key
		p.Flow = a.AddLayers(p.TsNanos, &lay, rec.Data, Scope(rec.Section, rec.Interface))
		if v.Packet != nil {
			if err := v.Packet(&p); err != nil {
				return err
			}
		}
		if err := endAll(a.Ended(ended[:0])); err != nil {
			return err
		}
	}
}
