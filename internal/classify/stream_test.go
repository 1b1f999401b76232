package classify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// randomClassifier is a tiny model with a random head: decisions exist,
// their labels mean nothing (enough for when and what is reported).
func randomClassifier(t testing.TB, T int) *Classifier {
	t.Helper()
	cfg, _ := model.Preset("tiny")
	m, err := model.New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddClassifier(3, 1); err != nil {
		t.Fatal(err)
	}
	m.Train = false
	return &Classifier{Model: m, Labels: []string{"a", "b", "c"}, Context: T,
		View: codec.View{Mask: codec.MaskAddr | codec.MaskPorts}, Flow: flow.DefaultConfig()}
}

// records reads a capture's records (raw bytes) and the record indices of
// its first flow's packets.
func records(t *testing.T, path string) (raws [][]byte, first []int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcap.NewReader(bytes.NewReader(data), pcap.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, append([]byte(nil), rec.Raw...))
	}
	r, _ = pcap.NewReader(bytes.NewReader(data), pcap.ReaderOptions{})
	err = flow.ReadFlows(r, flow.DefaultConfig(), func(f *flow.Flow) error {
		if f.ID == 0 {
			for _, p := range f.Packets {
				first = append(first, p.Index)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return raws, first
}

// TestEarlyDecisionBeforeFlowEnds: a capture arrives through a pipe whose
// writer stops after the first flow's third packet and goes on only once
// that flow was reported. With --early 3 the report must come while the
// flow's later packets are still held back, at packet 3, with the time since
// its first packet.
func TestEarlyDecisionBeforeFlowEnds(t *testing.T) {
	raws, first := records(t, filepath.Join("..", "..", "testdata", "demo", "http.pcap"))
	if len(first) < 6 {
		t.Fatalf("first flow of http.pcap has %d packets, want a longer one", len(first))
	}
	third := first[2]
	c := randomClassifier(t, 512)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	decided := make(chan FlowResult, 1)
	held := make(chan bool, 1) // true: the decision came while the writer waited
	go func() {
		defer pw.Close()
		for i, raw := range raws {
			if _, err := pw.Write(raw); err != nil {
				return
			}
			if i == third {
				select {
				case <-decided:
					held <- true
				case <-time.After(20 * time.Second):
					held <- false
				}
			}
		}
	}()
	var got *FlowResult
	n, err := c.Capture(context.Background(), pr, CaptureOptions{Early: 3, Batch: 8}, func(r *FlowResult) error {
		if r.ID == 0 && got == nil {
			cp := *r
			got = &cp
			decided <- cp
		}
		if r.AtPacket > 3 || (r.AtPacket < 3 && r.Why != DecidedEnd) {
			t.Errorf("flow %d decided at packet %d (%v) with --early 3", r.ID, r.AtPacket, r.Why)
		}
		return nil
	})
	pr.Close()
	if err != nil || n == 0 {
		t.Fatalf("capture: %d flows, %v", n, err)
	}
	if !<-held {
		t.Fatal("flow 0 was not reported while its 4th and later packets were held back")
	}
	if got.AtPacket != 3 || got.Why != DecidedEarly || got.After <= 0 || got.Tokens == 0 {
		t.Errorf("flow 0: %+v, want a decision at packet 3 after a positive time", *got)
	}
	if got.CommunityID == "" || got.Key == "" {
		t.Errorf("flow 0: no key or Community ID: %+v", *got)
	}
}

// TestStreamingMatchesWholeFlows: deciding as flows go (rows full or flows
// ended) gives the same probabilities as classifying each finished flow's
// tokens on its own (the non-streaming definition), on a whole capture.
func TestStreamingMatchesWholeFlows(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "demo", "mqtt.pcap")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		T, early int
	}{{"len 64", 64, 0}, {"len 512", 512, 0}, {"early 2", 512, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			c := randomClassifier(t, tc.T)
			view := c.View
			if tc.early > 0 {
				view.MaxPackets = tc.early
			}
			want := map[uint64][]float32{}
			bt := NewBatcher(c, 1, func(id uint64, p, _ []float32) error {
				want[id] = append([]float32(nil), p...)
				return nil
			})
			_, err := codec.EncodeFlows(context.Background(), bytes.NewReader(data), codec.EncodeOptions{Flow: c.Flow, View: view},
				func(ef *codec.EncodedFlow) error { return bt.Add(ef.Tokens, ef.ID) })
			if err != nil {
				t.Fatal(err)
			}
			n, err := c.Capture(context.Background(), bytes.NewReader(data), CaptureOptions{Early: tc.early, Batch: 7},
				func(r *FlowResult) error {
					w := want[r.ID]
					if tc.early > 0 && r.Why == DecidedEarly {
						return nil // decided before its end: its row ends in <cut>, not the flow's true end
					}
					for k := range w {
						if d := w[k] - r.Probs[k]; d > 1e-4 || d < -1e-4 {
							t.Errorf("flow %d (%v at packet %d) class %d: streaming %v, whole flow %v", r.ID, r.Why, r.AtPacket, k, r.Probs[k], w[k])
							break
						}
					}
					return nil
				})
			if err != nil || n != len(want) {
				t.Fatalf("%d flows decided (%v), %d in the capture", n, err, len(want))
			}
		})
	}
}
