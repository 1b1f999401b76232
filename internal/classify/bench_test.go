package classify

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkCapture classifies every flow of the shipped demo captures (6
// classes, 653 flows) from the bytes: tokenizing, flow assembly, the model
// and the open-set score, as `classify` runs them. Sub-benchmarks: model
// preset, --len, --early, batch. Metrics: flows/s and tokens/s (wall), and
// flows per CPU-second (user+system of the whole process: on a machine
// shared with other jobs the wall rate says little, the CPU rate says what
// a core buys).
func BenchmarkCapture(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "demo", "*.pcap"))
	var caps [][]byte
	size := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		caps = append(caps, data)
		size += len(data)
	}
	for _, tc := range []struct {
		preset          string
		T, early, batch int
	}{
		{"tiny", 256, 3, 64},
		{"tiny", 256, 8, 64},
		{"tiny", 256, 0, 64},
		{"tiny", 256, 3, 1},
		{"small", 256, 3, 64},
		{"small", 256, 0, 64},
	} {
		b.Run(fmt.Sprintf("%s/len=%d/early=%d/batch=%d", tc.preset, tc.T, tc.early, tc.batch), func(b *testing.B) {
			c, err := RandomClassifier(tc.preset, tc.T, 7)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			flows, tokens := 0, 0
			cpu0 := CPUTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, data := range caps {
					n, err := c.Capture(context.Background(), bytes.NewReader(data), CaptureOptions{Early: tc.early, Batch: tc.batch},
						func(r *FlowResult) error { tokens += r.Tokens + 1; return nil })
					if err != nil {
						b.Fatal(err)
					}
					flows += n
				}
			}
			cpu := (CPUTime() - cpu0).Seconds()
			b.ReportMetric(float64(flows)/b.Elapsed().Seconds(), "flows/s")
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(flows)/cpu, "flows/cpu-s")
		})
	}
}
