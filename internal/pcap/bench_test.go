package pcap

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReader reads the largest generated capture from memory; MB/s is
// input bytes per second.
func BenchmarkReader(b *testing.B) {
	for _, name := range []string{"ssh.pcap", "http.pcap"} {
		b.Run(name, func(b *testing.B) {
			in, err := os.ReadFile(filepath.Join(devDir, "generated", name))
			if err != nil {
				b.Skip(err)
			}
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			var packets int
			for i := 0; i < b.N; i++ {
				r, err := NewReader(bytes.NewReader(in), ReaderOptions{})
				if err != nil {
					b.Fatal(err)
				}
				packets = 0
				for {
					rec, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if rec.Kind == KindPacket {
						packets++
					}
				}
			}
			b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// BenchmarkAppendPacketRecord measures building canonical EPB framing.
func BenchmarkAppendPacketRecord(b *testing.B) {
	data := make([]byte, 1500)
	f := Framing{Format: FormatPcapng, BlockType: BlockEPB}
	var dst []byte
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		dst = AppendPacketRecord(dst[:0], f, uint64(i), 0, 1500, data)
	}
}
