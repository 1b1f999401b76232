package sample

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/packet"
)

// endpointOf is a generated flow's endpoint, as ReadHosts would read it
// from the written capture's first packet.
func endpointOf(t *testing.T, f *Flow) Endpoint {
	t.Helper()
	var e Endpoint
	var l packet.Layers
	first := true
	if _, err := codec.DecodeFlow(f.Tokens, 0, func(p codec.Packet) error {
		if !first {
			return nil
		}
		first = false
		if err := packet.Decode(packet.LinkEthernet, p.Data, &l); err != nil {
			t.Fatalf("flow %d: %v", f.Index, err)
		}
		e = Endpoint{V6: l.IPVersion == 6, Proto: l.Proto}
		e.Key = append(append(append(e.Key, l.Src.AsSlice()...), l.Dst.AsSlice()...), byte(l.DstPort>>8), byte(l.DstPort))
		return nil
	}); err != nil {
		t.Fatalf("flow %d: %v", f.Index, err)
	}
	return e
}

func endpoint(proto uint8, src, dst string, port uint16) Endpoint {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	e := Endpoint{V6: s.Is6(), Proto: proto}
	e.Key = append(append(append(e.Key, s.AsSlice()...), d.AsSlice()...), byte(port>>8), byte(port))
	return e
}

func inPool(pool []Endpoint, e Endpoint) bool {
	for _, p := range pool {
		if p.V6 == e.V6 && p.Proto == e.Proto && string(p.Key) == string(e.Key) {
			return true
		}
	}
	return false
}

// TestHosts: with Options.Hosts every flow of a random model (which left
// alone writes random addresses and ports) opens with one of the pool's
// endpoints, the pool's special addresses included (a DHCP client's
// 0.0.0.0 to the broadcast, which the address rules alone never give), and
// the flows spread over the pool; with shapes too, where the protocol is
// the template's. Without the pool no flow has a pool endpoint (the test
// can fail).
func TestHosts(t *testing.T) {
	pool := []Endpoint{
		endpoint(17, "0.0.0.0", "255.255.255.255", 67),
		endpoint(6, "10.1.2.3", "10.9.9.9", 6379),
		endpoint(6, "10.1.2.4", "10.9.9.9", 6379),
		endpoint(17, "fd00::1", "fd00::53", 53),
	}
	m := tinyModel(t, 3)
	o := Options{Sampling: Sampling{Temperature: 1}, Seed: 5, Batch: 4, MaxPackets: 12, Label: -1,
		Handshake: 1, Close: 1, Hosts: pool}
	pc, _, flows := generatePcap(t, m, 40, o, WriteOptions{Seed: 5})
	checkPackets(t, pc)
	// The writer keeps the DHCP client's 0.0.0.0 (it is not a masked
	// address): the pair is in the file as generated.
	if !bytes.Contains(pc, []byte{0, 0, 0, 0, 255, 255, 255, 255}) {
		t.Error("no packet from 0.0.0.0 to the broadcast in the file")
	}
	used := map[string]bool{}
	for _, f := range flows {
		e := endpointOf(t, f)
		if !inPool(pool, e) {
			t.Errorf("flow %d: endpoint %+v not in the pool", f.Index, e)
		}
		used[string(e.Key)] = true
	}
	if len(used) < 3 || !used[string(pool[0].Key)] {
		t.Errorf("%d of the pool's %d endpoints used by %d flows (the DHCP pair: %v)", len(used), len(pool), len(flows), used[string(pool[0].Key)])
	}
	for _, f := range flows {
		if string(endpointOf(t, f).Key) != string(pool[0].Key) {
			continue
		}
		if s := flowShapeOf(t, f); slices.ContainsFunc(s.Packets, func(p PacketShape) bool { return p.S2C }) {
			t.Errorf("flow %d from 0.0.0.0 to the broadcast has a server-to-client packet", f.Index)
		}
	}

	os := o
	os.Shapes = []FlowShape{{Proto: 6, Packets: []PacketShape{{false, 0, 0}, {true, 0, 100}, {false, 0, 5}, {false, 20, 9}, {true, 0, 3}, {false, 0, 4}, {true, 0, 1}}}}
	_, _, shaped := generatePcap(t, m, 8, os, WriteOptions{Seed: 5})
	for _, f := range shaped {
		if e := endpointOf(t, f); !inPool(pool, e) || e.Proto != 6 {
			t.Errorf("flow %d with a TCP template: endpoint %+v", f.Index, e)
		}
	}

	o.Hosts = nil
	_, _, free := generatePcap(t, m, 16, o, WriteOptions{Seed: 5})
	for _, f := range free {
		if e := endpointOf(t, f); inPool(pool, e) {
			t.Errorf("flow %d has a pool endpoint without the pool: the test cannot tell", f.Index)
		}
	}
	bad := Options{Label: -1, Hosts: pool, GrammarOnly: true}
	if _, err := Generate(context.Background(), m, 2, bad, func(*Flow) error { return nil }); err == nil {
		t.Error("hosts with grammar-only sampling were accepted")
	}
}

// TestHostsDealt: flows take the pool's endpoints without replacement
// (hostDeal): n flows over a pool of n distinct endpoints of one IP version
// and protocol use each once. A random model left to choose among them
// would repeat one almost surely (all distinct: 12!/12^12, about 5e-5), so
// the test fails without the deal.
func TestHostsDealt(t *testing.T) {
	var pool []Endpoint
	for i := range 12 {
		pool = append(pool, endpoint(17, fmt.Sprintf("10.0.0.%d", i+1), "10.9.9.9", 123))
	}
	m := tinyModel(t, 3)
	o := Options{Sampling: Sampling{Temperature: 1}, Seed: 7, Batch: 4, MaxPackets: 4, Label: -1, Hosts: pool}
	_, _, flows := generatePcap(t, m, len(pool), o, WriteOptions{Seed: 7})
	used := map[string]int{}
	for _, f := range flows {
		e := endpointOf(t, f)
		if !inPool(pool, e) {
			t.Fatalf("flow %d: endpoint %+v not in the pool", f.Index, e)
		}
		used[string(e.Key)]++
	}
	if len(used) != len(pool) {
		t.Errorf("%d flows used %d of the pool's %d endpoints", len(flows), len(used), len(pool))
	}
}

// TestReadHosts: ReadHosts gives one endpoint per TCP/UDP flow of a
// capture, client to server (the DNS demo's server port is 53), in flow
// order.
func TestReadHosts(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "demo", "dns.pcap")
	hosts, err := ReadHosts(context.Background(), path, flow.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	shapes, err := ReadShapes(context.Background(), path, flow.DefaultConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != len(shapes) {
		t.Fatalf("%d endpoints, %d flows", len(hosts), len(shapes))
	}
	for i, e := range hosts {
		if len(e.Key) != 10 && len(e.Key) != 34 || e.Proto != shapes[i].Proto {
			t.Fatalf("endpoint %d: %+v (flow protocol %d)", i, e, shapes[i].Proto)
		}
		if port := int(e.Key[len(e.Key)-2])<<8 | int(e.Key[len(e.Key)-1]); port != 53 {
			t.Errorf("endpoint %d: server port %d", i, port)
		}
	}
	if _, err := ReadHosts(context.Background(), t.TempDir(), flow.DefaultConfig()); err == nil {
		t.Error("a folder without captures gave hosts")
	}
}
