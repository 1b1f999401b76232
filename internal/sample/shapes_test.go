package sample

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/packet"
)

// flowShapeOf is the shape of a generated flow, as ReadShapes would read
// it from the written capture.
func flowShapeOf(t *testing.T, f *Flow) FlowShape {
	t.Helper()
	var s FlowShape
	var last uint64
	var l packet.Layers
	if _, err := codec.DecodeFlow(f.Tokens, 0, func(p codec.Packet) error {
		if err := packet.Decode(packet.LinkEthernet, p.Data, &l); err != nil {
			t.Fatalf("flow %d: %v", f.Index, err)
		}
		gap := uint64(0)
		if len(s.Packets) > 0 {
			gap = p.Ticks - last
		}
		last = p.Ticks
		s.Proto = l.Proto
		s.Packets = append(s.Packets, PacketShape{S2C: !p.C2S, Payload: payloadLen(&l), GapUs: gap})
		return nil
	}); err != nil {
		t.Fatalf("flow %d: %v", f.Index, err)
	}
	return s
}

// TestShapes: with Options.Shapes a random model's flows (which left
// alone pick their protocol, sizes, gaps and lengths at random) follow the
// template each drew: a UDP template exactly (protocol, directions,
// payload lengths, gaps, packet count); a TCP template exactly too when it
// is a clean one (handshake, data, FIN both ways, last ACK) and the close
// rule did not start early, and always in its handshake, count bound and
// gaps (no FIN or RST before the last three packets: the flow does not
// close early). Without shapes the same flows do not match (the test can
// fail).
func TestShapes(t *testing.T) {
	udp := FlowShape{Proto: 17, Packets: []PacketShape{{false, 40, 0}, {true, 100, 1500}, {false, 0, 70000}, {true, 1200, 3}}}
	tcp := FlowShape{Proto: 6, Packets: []PacketShape{
		{false, 0, 0}, {true, 0, 200}, {false, 0, 10}, {false, 300, 5}, {true, 1000, 30000},
		{false, 0, 1 << 20}, {true, 0, 7}, {false, 0, 0}}}
	shapes := []FlowShape{udp, tcp}
	m := tinyModel(t, 3)
	o := Options{Sampling: Sampling{Temperature: 1}, Seed: 11, Batch: 4, MaxPackets: 30, Label: -1,
		Handshake: 1, Close: 1, Shapes: shapes}
	pc, _, flows := generatePcap(t, m, 32, o, WriteOptions{Seed: 11})
	checkPackets(t, pc)
	exactTCP, tcps := 0, 0
	for _, f := range flows {
		_, want := flowPlan(&o, f.Index, rand.New(rand.NewPCG(o.Seed, uint64(f.Index))).IntN)
		got := flowShapeOf(t, f)
		if got.Proto != want.Proto {
			t.Fatalf("flow %d: protocol %d, template %d", f.Index, got.Proto, want.Proto)
		}
		if want.Proto == 17 {
			if !equalShape(got, *want) {
				t.Errorf("flow %d (UDP): shape\n%v\nwant\n%v", f.Index, got.Packets, want.Packets)
			}
			continue
		}
		tcps++
		if equalShape(got, *want) {
			exactTCP++
		}
		if len(got.Packets) > len(want.Packets) || len(got.Packets) < 3 {
			t.Errorf("flow %d (TCP): %d packets, template %d", f.Index, len(got.Packets), len(want.Packets))
			continue
		}
		for i, p := range got.Packets {
			w := want.Packets[i]
			if p.GapUs != w.GapUs || i < 3 && p != w {
				t.Errorf("flow %d (TCP) packet %d: %+v, template %+v", f.Index, i+1, p, w)
			}
		}
	}
	if tcps == 0 || tcps == len(flows) || exactTCP != tcps {
		t.Errorf("%d TCP flows of %d, %d of them exactly the template: want both protocols, every TCP flow exact", tcps, len(flows), exactTCP)
	}

	// With the decoder check a packet whose payload misses its template's
	// length is sampled again, and kept after the retries: a template whose
	// SYN-ACK carries payload (the handshake rule keeps it empty) costs
	// retries but no flow.
	bad := FlowShape{Proto: 6, Packets: slices.Clone(tcp.Packets)}
	bad.Packets[1].Payload = 10
	oc := o
	oc.Shapes, oc.CheckPackets, oc.PacketRetries = []FlowShape{bad}, true, 3
	_, st, checked := generatePcap(t, m, 4, oc, WriteOptions{Seed: 11})
	if st.ShapeResamples < 4*3 || st.BadPackets != 0 || len(checked) != 4 {
		t.Errorf("SYN-ACK with payload in the template: %d shape resamples (want >= 12), %d bad packets, %d flows", st.ShapeResamples, st.BadPackets, len(checked))
	}
	for _, f := range checked {
		if got := flowShapeOf(t, f); len(got.Packets) < 2 || got.Packets[1].Payload != 0 {
			t.Errorf("flow %d: SYN-ACK %+v", f.Index, got.Packets)
		}
	}

	o.Shapes = nil
	_, _, free := generatePcap(t, m, 8, o, WriteOptions{Seed: 11})
	for _, f := range free {
		got := flowShapeOf(t, f)
		if equalShape(got, udp) || equalShape(got, tcp) {
			t.Errorf("flow %d matches a template without shapes: the test cannot tell", f.Index)
		}
	}

	for _, bad := range []Options{
		{Label: -1, Shapes: []FlowShape{{Proto: 17}}},
		{Label: -1, Shapes: shapes, Lengths: []int{2}},
	} {
		if _, err := Generate(context.Background(), m, 2, bad, func(*Flow) error { return nil }); err == nil {
			t.Errorf("options %+v were accepted", bad)
		}
	}
}

// TestShapeDeal: the templates are dealt without replacement: n flows
// (n = the number of shapes) take every shape once, in a seeded order that
// another seed changes, and a flow's template does not depend on its
// stream (a resample keeps it).
func TestShapeDeal(t *testing.T) {
	var shapes []FlowShape
	for i := range 50 {
		shapes = append(shapes, FlowShape{Proto: 17, Packets: make([]PacketShape, i+1)})
	}
	deal := func(seed uint64) []int {
		o := &Options{Seed: seed, Shapes: shapes}
		got := make([]int, len(shapes))
		for i := range got {
			n, s := flowPlan(o, i, rand.New(rand.NewPCG(seed, uint64(i))).IntN)
			_, again := flowPlan(o, i, rand.New(rand.NewPCG(seed, uint64(i)|1<<48)).IntN)
			if n != len(s.Packets) || again != s {
				t.Fatalf("flow %d: budget %d, template of %d packets, resample's %p vs %p", i, n, len(s.Packets), again, s)
			}
			got[i] = n - 1
		}
		return got
	}
	a := deal(1)
	seen := make([]bool, len(shapes))
	for _, k := range a {
		if seen[k] {
			t.Fatalf("deal %v: shape %d twice", a, k)
		}
		seen[k] = true
	}
	if b := deal(2); slices.Equal(a, b) {
		t.Error("seeds 1 and 2 deal the shapes in the same order")
	}
}

// TestShapeMix: with ShapeMix each UDP flow has one template's directions
// and packet count. A flow whose template has others like it (templates 0
// and 1: same count and directions) has one of them's gaps and another's
// payload lengths, whole; a flow from the template with none like it
// (2) has at every place the payload length and gap of some template
// with a packet there going the same way. Some flows are none of the
// templates (they are mixed).
func TestShapeMix(t *testing.T) {
	shapes := []FlowShape{
		{Proto: 17, Packets: []PacketShape{{false, 40, 0}, {true, 100, 1500}, {false, 20, 70}}},
		{Proto: 17, Packets: []PacketShape{{false, 50, 0}, {true, 300, 9}, {false, 30, 4000}}},
		{Proto: 17, Packets: []PacketShape{{false, 60, 0}, {false, 10, 5}}},
	}
	m := tinyModel(t, 3)
	o := Options{Sampling: Sampling{Temperature: 1}, Seed: 5, Batch: 4, MaxPackets: 30, Label: -1, Shapes: shapes, ShapeMix: true}
	_, _, flows := generatePcap(t, m, 24, o, WriteOptions{Seed: 5})
	mixed, whole := 0, 0
	field := func(s FlowShape, gaps bool) []int {
		var v []int
		for _, p := range s.Packets {
			if gaps {
				v = append(v, int(p.GapUs))
			} else {
				v = append(v, int(p.Payload))
			}
		}
		return v
	}
	for _, f := range flows {
		got := flowShapeOf(t, f)
		exact := false
		for _, s := range shapes {
			exact = exact || equalShape(got, s)
		}
		if !exact {
			mixed++
		}
		var like []int
		for i := range shapes {
			if sameDirections(&shapes[i], &got) {
				like = append(like, i)
			}
		}
		switch {
		case len(like) == 0:
			t.Errorf("flow %d: %v has no template's directions and packet count", f.Index, got.Packets)
		case len(like) > 1:
			ok := false
			for _, a := range like {
				for _, b := range like {
					ok = ok || a != b && slices.Equal(field(got, true), field(shapes[a], true)) && slices.Equal(field(got, false), field(shapes[b], false))
				}
			}
			if !ok {
				t.Errorf("flow %d: %v is not one like template's gaps with another's payloads", f.Index, got.Packets)
			}
			whole++
		default:
			for k := 1; k < len(got.Packets); k++ {
				found := false
				for _, s := range shapes {
					if k < len(s.Packets) {
						p := s.Packets[k]
						found = found || p.S2C == got.Packets[k].S2C && p.Payload == got.Packets[k].Payload && p.GapUs == got.Packets[k].GapUs
					}
				}
				if !found {
					t.Errorf("flow %d packet %d: %+v is no template's packet at that place", f.Index, k+1, got.Packets[k])
				}
			}
		}
	}
	if mixed == 0 || whole == 0 {
		t.Errorf("%d flows mixed, %d from templates with others like them", mixed, whole)
	}
	if _, err := Generate(context.Background(), m, 2, Options{Label: -1, ShapeMix: true}, func(*Flow) error { return nil }); err == nil {
		t.Error("shape mix without shapes was accepted")
	}
}

func equalShape(a, b FlowShape) bool {
	return a.Proto == b.Proto && slices.Equal(a.Packets, b.Packets)
}

// TestReadShapes reads the shipped DNS capture: every flow UDP or TCP with
// a first packet from the client at gap 0, payloads as tshark-free
// arithmetic on the IP length (a DNS query's payload is at least its 12
// byte header), and a packet cap that holds.
func TestReadShapes(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "demo", "dns.pcap")
	shapes, err := ReadShapes(context.Background(), path, flow.DefaultConfig(), 0)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := ReadPacketCounts(context.Background(), path, flow.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(shapes) < 2 || len(shapes) > len(counts) {
		t.Fatalf("%d shapes of %d flows", len(shapes), len(counts))
	}
	long := 0
	for i, s := range shapes {
		if s.Proto != 6 && s.Proto != 17 {
			t.Fatalf("shape %d: protocol %d", i, s.Proto)
		}
		first := s.Packets[0]
		if first.S2C || first.GapUs != 0 || s.Proto == 17 && first.Payload < 12 {
			t.Errorf("shape %d: first packet %+v", i, first)
		}
		if len(s.Packets) > 1 {
			long++
		}
	}
	if long == 0 {
		t.Fatal("no flow of more than one packet: the cap below cannot fail")
	}
	capped, err := ReadShapes(context.Background(), path, flow.DefaultConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range capped {
		if len(s.Packets) != 1 || s.Packets[0] != shapes[i].Packets[0] {
			t.Fatalf("capped shape %d: %+v, want the first packet of %+v", i, s.Packets, shapes[i].Packets[0])
		}
	}
	if _, err := ReadShapes(context.Background(), t.TempDir(), flow.DefaultConfig(), 0); err == nil {
		t.Error("a folder without captures gave shapes")
	}
}
