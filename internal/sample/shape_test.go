package sample

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/packet"
)

// tcpPacket is what the shape test reads of a generated TCP packet.
type tcpPacket struct {
	c2s     bool
	flags   byte
	payload int
}

// tcpFlows decodes generated flows and returns the TCP ones' packets.
func tcpFlows(t *testing.T, flows []*Flow) [][]tcpPacket {
	t.Helper()
	var out [][]tcpPacket
	for _, f := range flows {
		var pk []tcpPacket
		tcp := true
		_, err := codec.DecodeFlow(f.Tokens, 0, func(p codec.Packet) error {
			var l packet.Layers
			if err := packet.Decode(1, p.Data, &l); err != nil || l.Proto != 6 {
				tcp = false
				return nil
			}
			pk = append(pk, tcpPacket{p.C2S, p.Data[l.L4Off+13], len(p.Data) - l.PayloadOff})
			return nil
		})
		if err != nil {
			t.Fatalf("flow %d: %v", f.Index, err)
		}
		if tcp && len(pk) > 0 {
			out = append(out, pk)
		}
	}
	return out
}

// TestTCPShape: with Handshake and Close at 1, every generated TCP flow of
// a random model opens with SYN, SYN-ACK, ACK without payload and ends
// closed (FIN both ways, the last one acknowledged by the other side, or a
// RST) within MaxPackets, also when MaxTokens cuts it short; at 0 the
// random model's flows rarely do (so the test can fail).
func TestTCPShape(t *testing.T) {
	m := tinyModel(t, 3)
	for _, tc := range []struct {
		name       string
		maxPackets int
		maxTokens  int
		share      float64
	}{
		{"packets", 10, 0, 1},
		{"tokens", 40, 400, 1},
		{"off", 10, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Sampling: Sampling{Temperature: 1}, Seed: 5, Batch: 4, MaxPackets: tc.maxPackets,
				MaxTokens: tc.maxTokens, Label: -1, Handshake: tc.share, Close: tc.share}
			pc, _, flows := generatePcap(t, m, 24, o, WriteOptions{Seed: 5})
			checkPackets(t, pc)
			shaped := 0
			fs := tcpFlows(t, flows)
			for i, pk := range fs {
				open := len(pk) >= 3 && pk[0].c2s && pk[0].flags == 0x02 && !pk[1].c2s && pk[1].flags == 0x12 &&
					pk[2].c2s && pk[2].flags == 0x10 && pk[0].payload+pk[1].payload+pk[2].payload == 0
				closed := false
				var fin [2]bool
				for j, p := range pk {
					d := 0
					if !p.c2s {
						d = 1
					}
					if p.flags&0x04 != 0 {
						closed = j == len(pk)-1
					}
					if fin[0] && fin[1] && p.flags&0x10 != 0 && j == len(pk)-1 {
						closed = true
					}
					if p.flags&0x01 != 0 {
						fin[d] = true
					}
				}
				if open && closed {
					shaped++
				} else if tc.share == 1 {
					t.Errorf("flow %d: open %v closed %v: %+v", i, open, closed, pk)
				}
				if tc.maxPackets > 0 && len(pk) > tc.maxPackets {
					t.Errorf("flow %d: %d packets > %d", i, len(pk), tc.maxPackets)
				}
			}
			t.Logf("%d TCP flows, %d open and close", len(fs), shaped)
			if len(fs) < 5 {
				t.Fatalf("only %d TCP flows", len(fs))
			}
			if tc.share == 0 && shaped > len(fs)/2 {
				t.Errorf("without the rules %d of %d flows are shaped", shaped, len(fs))
			}
			if _, err := exec.LookPath("tshark"); err != nil || tc.share == 0 {
				return
			}
			// tshark's TCP analysis finds no error in the shaped flows
			// (sequence numbers, handshake and close agree).
			p := filepath.Join(t.TempDir(), "gen.pcap")
			if err := os.WriteFile(p, pc, 0o644); err != nil {
				t.Fatal(err)
			}
			_, experts, errs := tsharkExpert(t, p, true)
			t.Logf("tshark: %v", experts)
			if errs > 0 {
				t.Errorf("tshark: %d packets with error-level expert info: %v", errs, experts)
			}
		})
	}
}

// TestTimeSampling: TimeSampling draws the time tokens apart from the
// others: with greedy sampling every flow of a model is the same, with
// times drawn at temperature 1 the flows' first gaps differ.
func TestTimeSampling(t *testing.T) {
	m := tinyModel(t, 6)
	gaps := func(ts *Sampling) map[string]bool {
		o := Options{Seed: 2, Batch: 4, MaxPackets: 2, Label: -1, TimeSampling: ts}
		_, _, flows := generatePcap(t, m, 6, o, WriteOptions{Seed: 2})
		seen := map[string]bool{}
		for _, f := range flows {
			var g []uint64
			if _, err := codec.DecodeFlow(f.Tokens, 0, func(p codec.Packet) error {
				g = append(g, p.Ticks)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			seen[fmt.Sprint(g)] = true
		}
		return seen
	}
	if g := gaps(nil); len(g) != 1 {
		t.Fatalf("greedy: %d different time sequences, want 1: %v", len(g), g)
	}
	if g := gaps(&Sampling{Temperature: 1}); len(g) < 2 {
		t.Fatalf("times drawn at temperature 1: %d different time sequences: %v", len(g), g)
	}
}
