package classify

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/devdata"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

// BenchmarkCapture classifies the flows of mqtt.pcap (tokenize + tiny model
// at T=256, batches of 16): flows/s and capture MB/s.
func BenchmarkCapture(b *testing.B) {
	data, err := os.ReadFile(devdata.Path(b, "generated", "mqtt.pcap"))
	if err != nil {
		b.Fatal(err)
	}
	cfg, _ := model.Preset("tiny")
	m, _ := model.New(cfg, 1)
	m.AddClassifier(4, 1)
	c := &Classifier{Model: m, Labels: []string{"a", "b", "c", "d"}, Context: 256,
		View: codec.View{Mask: codec.MaskAddr | codec.MaskPorts}}
	b.SetBytes(int64(len(data)))
	flows := 0
	for i := 0; i < b.N; i++ {
		n, err := c.Capture(context.Background(), bytes.NewReader(data), CaptureOptions{}, func(*FlowResult) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		flows += n
	}
	b.ReportMetric(float64(flows)/b.Elapsed().Seconds(), "flows/s")
}
