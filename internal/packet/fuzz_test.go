package packet

import (
	"os"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/devdata"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// FuzzDecode checks that Decode, KeyOf and the checksums never panic, that
// every offset stays inside the packet, and that the key does not depend on
// the packet's direction for decodable IP packets.
func FuzzDecode(f *testing.F) {
	for _, tc := range decodeCases() {
		f.Add(tc.link, tc.data)
	}
	f.Fuzz(func(t *testing.T, link uint32, data []byte) {
		var l Layers
		Decode(link, data, &l)
		checkOffsets(t, &l, data)
		k, _ := KeyOf(&l, data)
		_ = k.String()
		L4Checksum(&l, data)
		if l.IPVersion == 4 && l.IPHdrLen >= 20 && l.NetOff+l.IPHdrLen <= len(data) {
			IPv4HeaderChecksum(data[l.NetOff : l.NetOff+l.IPHdrLen])
		}
	})
}

func loadPackets(b *testing.B, path string) (link []uint32, pkts [][]byte, total int) {
	f, err := os.Open(path)
	if err != nil {
		devdata.Missing(b, path, err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f, pcap.ReaderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.Kind == pcap.KindPacket {
			link = append(link, rec.LinkType)
			pkts = append(pkts, append([]byte(nil), rec.Data...))
			total += len(rec.Data)
		}
	}
	return link, pkts, total
}

// BenchmarkDecodeKeyOf decodes and keys the packets of generated/ssh.pcap
// (and, in BenchmarkL4Checksum, verifies their TCP checksums).
func BenchmarkDecodeKeyOf(b *testing.B) {
	link, pkts, total := loadPackets(b, devData+"/generated/ssh.pcap")
	var l Layers
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i, p := range pkts {
			Decode(link[i], p, &l)
			KeyOf(&l, p)
		}
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(len(pkts)*b.N)/s, "packets/s")
	b.ReportMetric(float64(total*b.N)/s/1e6, "MB/s")
}

func BenchmarkL4Checksum(b *testing.B) {
	link, pkts, total := loadPackets(b, devData+"/generated/ssh.pcap")
	ls := make([]Layers, len(pkts))
	for i, p := range pkts {
		Decode(link[i], p, &ls[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i, p := range pkts {
			L4Checksum(&ls[i], p)
		}
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(total*b.N)/s/1e6, "MB/s")
}
