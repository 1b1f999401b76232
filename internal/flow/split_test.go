package flow

import (
	"bytes"
	"context"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// TestSplitCapture: the demo capture split in two by flow gives two valid
// captures whose flows are whole (each reads back as the flows it got),
// together every packet once, in the proportion asked.
func TestSplitCapture(t *testing.T) {
	data := demoCapture(t, "mqtt.pcap")
	var whole []*Flow
	if err := ReadFlows(reader(t, data), Config{}, func(f *Flow) error { whole = append(whole, f); return nil }); err != nil {
		t.Fatal(err)
	}
	var bufs [2]bytes.Buffer
	ws := []*pcap.Writer{pcap.NewWriter(&bufs[0]), pcap.NewWriter(&bufs[1])}
	part := HashPart(7, "mqtt.pcap", 0.5)
	flows, packets, err := SplitCapture(context.Background(), reader(t, data), Config{}, ws, part)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		w.Flush()
	}
	wantPackets := [2]int{}
	wantFlows := [2]int{}
	for _, f := range whole {
		k := part(f.ID)
		wantFlows[k]++
		wantPackets[k] += len(f.Packets)
	}
	for k := range 2 {
		if flows[k] != wantFlows[k] || packets[k] != wantPackets[k] {
			t.Errorf("part %d: %d flows %d packets, want %d and %d", k, flows[k], packets[k], wantFlows[k], wantPackets[k])
		}
		n, pk := 0, 0
		if err := ReadFlows(reader(t, bufs[k].Bytes()), Config{}, func(f *Flow) error { n++; pk += len(f.Packets); return nil }); err != nil {
			t.Fatalf("part %d reads back: %v", k, err)
		}
		if n != flows[k] || pk != packets[k] {
			t.Errorf("part %d reads back as %d flows %d packets, wrote %d and %d", k, n, pk, flows[k], packets[k])
		}
	}
	if flows[0] < len(whole)/3 || flows[1] < len(whole)/3 {
		t.Errorf("halves of %d flows: %v", len(whole), flows)
	}
	// The same seed and name always split alike; another seed differently.
	other := HashPart(8, "mqtt.pcap", 0.5)
	same, differ := 0, 0
	for id := uint64(0); id < 200; id++ {
		if part(id) == HashPart(7, "mqtt.pcap", 0.5)(id) {
			same++
		}
		if part(id) != other(id) {
			differ++
		}
	}
	if same != 200 || differ == 0 {
		t.Errorf("HashPart: %d of 200 equal under the same seed, %d differ under another", same, differ)
	}
}
