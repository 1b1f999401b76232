package flow

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// SplitCapture copies the capture r into len(parts) captures by flow, with
// Scan: every packet record goes, verbatim, to the part part(flow id) its
// flow was given at its first packet; every other record (file header,
// SHB, IDB, ...) goes to every part, so each part is a valid capture of the
// same framing holding whole flows. It returns how many flows and packets
// went to each part. Memory is Scan's; parts must be flushed by the caller.
func SplitCapture(ctx context.Context, r *pcap.Reader, cfg Config, parts []*pcap.Writer, part func(flow uint64) int) (flows, packets []int, err error) {
	flows, packets = make([]int, len(parts)), make([]int, len(parts))
	of := map[uint64]int{} // active flow -> part
	err = Scan(ctx, r, cfg, Visitor{
		Record: func(rec *pcap.Record) error {
			if rec.Kind == pcap.KindPacket {
				return nil
			}
			for _, w := range parts {
				if err := w.WriteRaw(rec.Raw); err != nil {
					return err
				}
			}
			return nil
		},
		Packet: func(p *Scanned) error {
			k, ok := of[p.Flow.Flow]
			if !ok {
				k = part(p.Flow.Flow)
				if k < 0 || k >= len(parts) {
					return fmt.Errorf("flow: split: flow %d sent to part %d of %d", p.Flow.Flow, k, len(parts))
				}
				of[p.Flow.Flow] = k
				flows[k]++
			}
			packets[k]++
			return parts[k].WriteRaw(p.Record.Raw)
		},
		Ended: func(e Ended) error {
			delete(of, e.Flow)
			return nil
		},
	})
	return flows, packets, err
}

// HashPart is a seeded choice of part for flows of one capture: flow id of
// the capture named salt goes to part 0 with probability frac, else to
// part 1. The same (seed, salt, id) always gives the same part.
func HashPart(seed uint64, salt string, frac float64) func(id uint64) int {
	h := fnv.New64a()
	h.Write([]byte(salt))
	s := h.Sum64() ^ seed*0x9e3779b97f4a7c15
	return func(id uint64) int {
		x := s ^ (id+1)*0xbf58476d1ce4e5b9
		x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
		x = (x ^ x>>27) * 0x94d049bb133111eb
		x ^= x >> 31
		if float64(x>>11)/(1<<53) < frac {
			return 0
		}
		return 1
	}
}
