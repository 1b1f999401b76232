package codec

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/devdata"
)

// benchFiles are the largest dev captures of different kinds.
var benchFiles = []string{"generated/ssh.pcap", "generated/http.pcap", "generated/dns.pcap"}

func loadBench(b *testing.B, name string) []byte {
	data, err := os.ReadFile(devdata.Path(b, name))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkTokenize measures capture -> archive throughput (MB/s of capture)
// with the lockstep lossless check on, and tokens/s.
func BenchmarkTokenize(b *testing.B) {
	for _, name := range benchFiles {
		data := loadBench(b, name)
		for _, check := range []bool{true, false} {
			label := filepath.Base(name)
			if !check {
				label += "/nocheck"
			}
			b.Run(label, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				var st Stats
				for i := 0; i < b.N; i++ {
					var err error
					st, err = Tokenize(context.Background(), bytes.NewReader(data), io.Discard, TokenizeOptions{NoCheck: !check})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(st.Tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

// BenchmarkDetokenize measures archive -> capture throughput (MB/s of capture).
func BenchmarkDetokenize(b *testing.B) {
	for _, name := range benchFiles {
		data := loadBench(b, name)
		var arc bytes.Buffer
		if _, err := Tokenize(context.Background(), bytes.NewReader(data), &arc, TokenizeOptions{}); err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(name), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := Detokenize(context.Background(), bytes.NewReader(arc.Bytes()), io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
