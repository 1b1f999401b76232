package flow

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

func demoCapture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func reader(t *testing.T, b []byte) *pcap.Reader {
	t.Helper()
	r, err := pcap.NewReader(bytes.NewReader(b), pcap.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestScanDemo: on every demo capture, Scan visits every record once,
// every packet once with the flow ReadFlows puts it in, ends every flow
// exactly once after its last packet, and flow ids are 0..n-1.
func TestScanDemo(t *testing.T) {
	for _, name := range []string{"dns.pcap", "http.pcap", "mqtt.pcap", "ssh.pcap"} {
		data := demoCapture(t, name)
		var records, packets int
		flowOf := map[int]uint64{} // record index -> flow
		ended := map[uint64]bool{}
		lastPacket := map[uint64]int{}
		err := Scan(context.Background(), reader(t, data), Config{}, Visitor{
			Record: func(rec *pcap.Record) error { records++; return nil },
			Packet: func(p *Scanned) error {
				packets++
				if ended[p.Flow.Flow] {
					t.Errorf("%s: packet %d of flow %d after its end", name, p.Record.Index, p.Flow.Flow)
				}
				if p.Flow.New == hasKey(lastPacket, p.Flow.Flow) {
					t.Errorf("%s: record %d: New %v", name, p.Record.Index, p.Flow.New)
				}
				if p.DecodeErr != nil {
					t.Errorf("%s: record %d: %v", name, p.Record.Index, p.DecodeErr)
				}
				flowOf[p.Record.Index] = p.Flow.Flow
				lastPacket[p.Flow.Flow] = p.Record.Index
				return nil
			},
			Ended: func(e Ended) error {
				if ended[e.Flow] {
					t.Errorf("%s: flow %d ended twice", name, e.Flow)
				}
				ended[e.Flow] = true
				return nil
			},
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(ended) != len(lastPacket) || packets != len(flowOf) || records <= packets {
			t.Errorf("%s: %d records, %d packets, %d flows, %d ended", name, records, packets, len(lastPacket), len(ended))
		}
		for id := range ended {
			if id >= uint64(len(ended)) {
				t.Errorf("%s: flow id %d of %d flows", name, id, len(ended))
			}
		}
		n := 0
		err = ReadFlows(reader(t, data), Config{}, func(f *Flow) error {
			n++
			for _, p := range f.Packets {
				if flowOf[p.Index] != f.ID {
					t.Errorf("%s: record %d: ReadFlows flow %d, Scan flow %d", name, p.Index, f.ID, flowOf[p.Index])
				}
			}
			return nil
		})
		if err != nil || n != len(ended) {
			t.Errorf("%s: ReadFlows: %d flows, %v", name, n, err)
		}
	}
}

func hasKey(m map[uint64]int, k uint64) bool { _, ok := m[k]; return ok }

// TestScanErrors: a reader error comes back as it is, with the active flows
// not ended; visitor and context errors stop the scan.
func TestScanErrors(t *testing.T) {
	data := demoCapture(t, "dns.pcap")
	cut := data[:len(data)/2+7]
	var ended, started int
	err := Scan(context.Background(), reader(t, cut), Config{}, Visitor{
		Packet: func(p *Scanned) error {
			if p.Flow.New {
				started++
			}
			return nil
		},
		Ended: func(Ended) error { ended++; return nil },
	})
	if !errors.Is(err, pcap.ErrTruncated) {
		t.Errorf("cut capture: %v, want ErrTruncated", err)
	}
	if ended >= started || started == 0 {
		t.Errorf("cut capture: %d flows started, %d ended (the active ones must not be)", started, ended)
	}
	stop := errors.New("stop")
	if err := Scan(context.Background(), reader(t, data), Config{}, Visitor{Packet: func(*Scanned) error { return stop }}); err != stop {
		t.Errorf("visitor error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Scan(ctx, reader(t, data), Config{}, Visitor{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}
