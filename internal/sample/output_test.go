package sample

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// maskedFlows encodes a real capture under a view that masks addresses,
// ports, MACs and TTL: what a model trained on such a view produces.
func maskedFlows(t *testing.T, name string, n int) []*Flow {
	t.Helper()
	f, err := os.Open(filepath.Join(demoData, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var flows []*Flow
	v := codec.View{Mask: codec.MaskAddr | codec.MaskPorts | codec.MaskMAC | codec.MaskTTL, MaxPackets: 6}
	_, err = codec.EncodeFlows(context.Background(), f, codec.EncodeOptions{Flow: flow.DefaultConfig(), View: v},
		func(ef *codec.EncodedFlow) error {
			if len(flows) < n {
				flows = append(flows, &Flow{Index: len(flows), Prompt: -1, Tokens: slices.Clone(ef.Tokens)})
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return flows
}

// TestWriterAddresses: masked (zero) addresses get the scheme's, the same
// pair in both directions, with valid checksums; flows added in any order
// come out in timestamp order.
func TestWriterAddresses(t *testing.T) {
	flows := maskedFlows(t, "dns.pcap", 6)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, len(flows), WriteOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{3, 0, 5, 1, 4, 2} { // completion order differs from index order
		if err := w.AddFlow(flows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Stats.Flows != 6 || w.Stats.Rewritten != w.Stats.Packets {
		t.Errorf("stats %+v: every packet had masked fields", w.Stats)
	}
	for i := 1; i < 6; i++ {
		if w.Start(i) <= w.Start(i-1) || w.Start(0) <= DefaultEpoch {
			t.Fatalf("start times %d, %d", w.Start(i-1), w.Start(i))
		}
	}
	checkPackets(t, buf.Bytes())
	// Every conversation is a scheme client (10.0/16, ephemeral port) with a
	// scheme server (10.1/16; its masked port stays 0, see doc.go).
	pairs := map[[2]netip.AddrPort]int{}
	eachPacket(t, buf.Bytes(), func(data []byte, l *packet.Layers) {
		src, dst := netip.AddrPortFrom(l.Src, l.SrcPort), netip.AddrPortFrom(l.Dst, l.DstPort)
		if l.Src.As4()[1] == 1 {
			src, dst = dst, src // server -> client
		}
		if c, s := src.Addr().As4(), dst.Addr().As4(); c[0] != 10 || c[1] != 0 || s[0] != 10 || s[1] != 1 || src.Port() < 49152 || dst.Port() != 0 {
			t.Fatalf("conversation %v -> %v", src, dst)
		}
		if binary.BigEndian.Uint16(data[6:]) != 0x0200 || data[l.TTLOff] != 64 {
			t.Fatalf("MAC %x, TTL %d", data[6:12], data[l.TTLOff])
		}
		pairs[[2]netip.AddrPort{src, dst}]++
	})
	if len(pairs) != 6 {
		t.Errorf("%d conversations for 6 flows: %v", len(pairs), pairs)
	}
}

func TestWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	if _, err := NewWriter(&buf, 1, WriteOptions{Rate: -1}); err == nil {
		t.Error("negative rate accepted")
	}
	w, err := NewWriter(&buf, 1, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bad := &Flow{Index: 0, Tokens: []codec.Token{codec.FLOW, codec.LinkEth, codec.ResMicro, codec.PKTC2S, codec.Mag0, 1, codec.END}}
	if err := w.AddFlow(bad); err == nil {
		t.Error("a flow that does not decode was accepted")
	}
	if err := w.AddFlow(&Flow{Index: 3}); err == nil {
		t.Error("index out of range accepted")
	}
}

// TestStartGaps: with StartGaps the writer's gaps between flow starts are
// drawn from them (each gap one of the given values), in index order.
func TestStartGaps(t *testing.T) {
	gaps := StartGaps([]int64{5_000_000, 1_000_000, 1_002_000, 9_000_000})
	want := []uint64{2, 3998, 4000}
	if !slices.Equal(gaps, want) {
		t.Fatalf("gaps %v, want %v", gaps, want)
	}
	w, err := NewWriter(io.Discard, 50, WriteOptions{Seed: 3, StartGaps: gaps})
	if err != nil {
		t.Fatal(err)
	}
	prev := uint64(DefaultEpoch)
	seen := map[uint64]bool{}
	for i := 0; i < 50; i++ {
		g := w.Start(i) - prev
		if !slices.Contains(want, g) {
			t.Fatalf("flow %d: gap %d not one of %v", i, g, want)
		}
		seen[g] = true
		prev = w.Start(i)
	}
	if len(seen) != len(want) {
		t.Fatalf("gaps drawn %v, want all of %v", seen, want)
	}
}

// TestReadStartGaps: a capture's gaps are as many as its flows less one,
// and a capture of one flow has none to give.
func TestReadStartGaps(t *testing.T) {
	ctx := context.Background()
	gaps, err := ReadStartGaps(ctx, "../../testdata/demo/dns.pcap", flow.DefaultConfig())
	if err != nil || len(gaps) < 10 {
		t.Fatalf("dns.pcap: %d gaps, %v", len(gaps), err)
	}
	one := filepath.Join(t.TempDir(), "one.pcap")
	header := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0} // no packets
	os.WriteFile(one, header, 0o644)
	if _, err := ReadStartGaps(ctx, one, flow.DefaultConfig()); err == nil || !strings.Contains(err.Error(), "need 2") {
		t.Errorf("capture without flows: %v", err)
	}
	if _, err := ReadStartGaps(ctx, filepath.Join(t.TempDir(), "missing"), flow.DefaultConfig()); err == nil {
		t.Error("missing file: no error")
	}
}

// TestWriterUniqueTuples: flows that come out with the same 5-tuple (a
// model that wrote the same hosts and client port twice; with --hosts the
// hosts are few) get new ephemeral client ports, so the file holds as many
// conversations as flows, with valid checksums; a file without repeats is
// left as written.
func TestWriterUniqueTuples(t *testing.T) {
	f, err := os.Open(filepath.Join(demoData, "dns.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var first []codec.Token
	_, err = codec.EncodeFlows(context.Background(), f, codec.EncodeOptions{Flow: flow.DefaultConfig(), View: codec.View{MaxPackets: 4}},
		func(ef *codec.EncodedFlow) error {
			if first == nil {
				first = slices.Clone(ef.Tokens)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	conversations := func(n int) (int, WriteStats) {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, n, WriteOptions{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if err := w.AddFlow(&Flow{Index: i, Prompt: -1, Tokens: slices.Clone(first)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		checkPackets(t, buf.Bytes())
		ports := map[uint16]bool{} // the server's 53 and each flow's client port
		eachPacket(t, buf.Bytes(), func(_ []byte, l *packet.Layers) {
			ports[l.SrcPort], ports[l.DstPort] = true, true
		})
		return len(ports) - 1, w.Stats
	}
	if n, st := conversations(1); n != 1 || st.Rewritten != 0 {
		t.Errorf("one flow: %d client ports, %d packets rewritten", n, st.Rewritten)
	}
	if n, st := conversations(4); n != 4 || st.Rewritten == 0 {
		t.Errorf("four copies of one flow: %d client ports, %d packets rewritten", n, st.Rewritten)
	}
}

// eachPacket calls fn with every packet of the capture pc, decoded.
func eachPacket(t *testing.T, pc []byte, fn func(data []byte, l *packet.Layers)) {
	t.Helper()
	r, err := pcap.NewReader(bytes.NewReader(pc), pcap.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var l packet.Layers
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.Kind != pcap.KindPacket {
			continue
		}
		if err := packet.Decode(1, rec.Data, &l); err != nil {
			t.Fatal(err)
		}
		fn(rec.Data, &l)
	}
}

// TestWriterSpacesWellKnownTuples: copies of a flow whose client port is
// well-known (NTP's 123 to 123) keep their 5-tuple, so the Writer starts
// each after the previous one has timed out and the file reads back as
// one flow per copy; copies with an ephemeral client port get new ports
// instead and are not delayed. Without the spacing the three NTP copies
// read back as one flow.
func TestWriterSpacesWellKnownTuples(t *testing.T) {
	for _, tc := range []struct {
		sport   uint16
		delayed int
	}{{123, 2}, {40000, 0}} {
		in := pcapFile([][]byte{frame(17, tc.sport, 123, 0, make([]byte, 48))})
		var toks []codec.Token
		if _, err := codec.EncodeFlows(context.Background(), bytes.NewReader(in), codec.EncodeOptions{Flow: flow.DefaultConfig()},
			func(ef *codec.EncodedFlow) error { toks = slices.Clone(ef.Tokens); return nil }); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w, err := NewWriter(&buf, 3, WriteOptions{Seed: 1, Rate: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := w.AddFlow(&Flow{Index: i, Prompt: -1, Tokens: slices.Clone(toks)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		n, err := codec.EncodeFlows(context.Background(), bytes.NewReader(buf.Bytes()), codec.EncodeOptions{Flow: flow.DefaultConfig()},
			func(*codec.EncodedFlow) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if n.Flows != 3 || w.Stats.Delayed != tc.delayed {
			t.Errorf("client port %d: 3 copies read back as %d flows, %d delayed (want %d)", tc.sport, n.Flows, w.Stats.Delayed, tc.delayed)
		}
	}
}
