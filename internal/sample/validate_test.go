package sample

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/devdata"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
	"github.com/trafficgpt/trafficgpt/internal/tshark"
)

// arpSecond is a test hook that makes every flow's second packet an ARP
// frame (EtherType 0x0806 instead of the flow's IPv4) the first time it is
// sampled: a packet the grammar accepts and the decoder check must reject.
func arpSecond(rw *row, allowed []bool) {
	if rw.r.phase == pBody && rw.r.structured && rw.r.packets == 2 && rw.r.sh.f == fEtype1 && (rw.pc == nil || rw.pc.tries == 0) {
		clear(allowed)
		allowed[0x06] = true
	}
}

// nonIP counts the packets of a capture that are not IPv4/IPv6 carrying
// TCP or UDP, and all packets.
func nonIP(t *testing.T, pc []byte) (bad, all int) {
	t.Helper()
	r, err := pcap.NewReader(bytes.NewReader(pc), pcap.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var l packet.Layers
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return bad, all
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind != pcap.KindPacket {
			continue
		}
		all++
		if packet.Decode(1, rec.Data, &l) != nil || l.IPVersion != 4 && l.IPVersion != 6 || l.Proto != 6 && l.Proto != 17 {
			bad++
		}
	}
}

// TestCheckPackets: a model (through the hook) that writes a malformed
// second packet in every flow puts it in the capture without validation;
// with CheckPackets every such packet is sampled again from the row's
// saved state and none is left, deterministically; validation that never
// fires changes nothing; with no retries the packet stays and the flow is
// rejected, then dropped with DropInvalid.
func TestCheckPackets(t *testing.T) {
	m := tinyModel(t, 7)
	for _, shape := range []float64{0, 1} {
		o := Options{Sampling: Sampling{Temperature: 1}, Seed: 3, Batch: 4, MaxPackets: 7, Label: -1,
			Handshake: shape, Close: shape, Refill: 300}
		const n = 10
		plain, _, _ := generatePcap(t, m, n, o, WriteOptions{Seed: 3})
		o.CheckPackets, o.PacketRetries = true, 3
		same, st, _ := generatePcap(t, m, n, o, WriteOptions{Seed: 3})
		if !bytes.Equal(plain, same) || st.PacketResamples != 0 {
			t.Fatalf("shape %v: a check that never fires changed the output (%d resamples)", shape, st.PacketResamples)
		}
		o.CheckPackets, o.hook = false, arpSecond
		broken, _, flows := generatePcap(t, m, n, o, WriteOptions{Seed: 3})
		bad, _ := nonIP(t, broken)
		two := 0
		for _, f := range flows {
			if f.Packets >= 2 {
				two++
			}
		}
		if bad == 0 || bad != two {
			t.Fatalf("shape %v: without the check %d ARP packets, %d flows with 2 packets: the hook did not work", shape, bad, two)
		}
		o.CheckPackets = true
		fixed, st, flows := generatePcap(t, m, n, o, WriteOptions{Seed: 3})
		again, _, _ := generatePcap(t, m, n, o, WriteOptions{Seed: 3})
		if !bytes.Equal(fixed, again) {
			t.Fatalf("shape %v: not deterministic", shape)
		}
		bad, all := nonIP(t, fixed)
		t.Logf("shape %v: %d packets, stats %+v", shape, all, st)
		if bad != 0 || st.BadPackets != 0 || st.Invalid != 0 || st.Flows != n {
			t.Fatalf("shape %v: with the check %d bad packets left, stats %+v", shape, bad, st)
		}
		two = 0
		for _, f := range flows {
			if f.Packets >= 2 {
				two++
			}
		}
		if st.PacketResamples < two || two == 0 {
			t.Fatalf("shape %v: %d packets sampled again, %d flows reached a second packet", shape, st.PacketResamples, two)
		}
		checkPackets(t, fixed)

		o.PacketRetries = 0
		_, st, flows = generatePcap(t, m, n, o, WriteOptions{Seed: 3})
		invalid := 0
		for _, f := range flows {
			if f.Invalid != (f.BadPackets > 0) || f.Refused {
				t.Fatalf("flow %d: invalid %v with %d bad packets, refused %v", f.Index, f.Invalid, f.BadPackets, f.Refused)
			}
			if f.Invalid {
				invalid++
			}
		}
		if st.BadPackets == 0 || invalid != st.Invalid || st.PacketResamples != 0 {
			t.Fatalf("shape %v: no retries: stats %+v, %d invalid flows", shape, st, invalid)
		}
		o.DropInvalid, o.FlowRetries = true, 2
		out, st, _ := generatePcap(t, m, n, o, WriteOptions{Seed: 3})
		if bad, _ := nonIP(t, out); bad != 0 || st.FlowResamples == 0 || st.Flows+st.Dropped != n || st.Dropped != st.Invalid {
			t.Fatalf("shape %v: drop: %d bad packets written, stats %+v", shape, bad, st)
		}
		o.DropInvalid, o.FlowRetries = false, 0
		o.hook = nil
	}
}

// tsharkClean counts the packets of a capture with and without an expert
// error.
func tsharkClean(t *testing.T, pc []byte) (clean, all int) {
	t.Helper()
	err := tshark.Run(context.Background(), func(w io.Writer) error {
		_, err := w.Write(pc)
		return err
	}, func(v tshark.Verdict) {
		all++
		if v.Clean() {
			clean++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return clean, all
}

// TestTsharkCheck: a random model whose first sample of each flow is DNS
// without the DNS grammar (the udpDNS hook) writes packets tshark calls
// malformed; with TsharkCheck a rejected flow is sampled again, and with
// DropInvalid every packet written is clean; the same seed gives the same
// capture.
func TestTsharkCheck(t *testing.T) {
	devdata.LookPath(t, "tshark")
	if testing.Short() {
		t.Skip("tshark start-up per chunk is slow")
	}
	m := tinyModel(t, 5)
	const n = 10
	o := Options{Sampling: Sampling{Temperature: 1}, Seed: 11, Batch: 4, MaxPackets: 3, Label: -1,
		FreePayloads: true, hook: udpDNS}
	wo := WriteOptions{Seed: 11}
	plain, _, _ := generatePcap(t, m, n, o, wo)
	clean, all := tsharkClean(t, plain)
	t.Logf("without the check: %d of %d packets clean", clean, all)
	if clean == all {
		t.Fatal("every packet is clean without the check: the test cannot tell")
	}
	o.CheckFlow, o.FlowRetries, o.CheckChunk = TsharkCheck(n, wo), 4, 8
	kept, st, flows := generatePcap(t, m, n, o, wo)
	t.Logf("keep: %+v", st)
	if st.FlowResamples == 0 || st.Flows != n {
		t.Fatalf("keep: stats %+v", st)
	}
	invalid := 0
	for _, f := range flows {
		if f.Invalid {
			invalid++
		}
	}
	if invalid != st.Invalid {
		t.Fatalf("%d invalid flows, stats %+v", invalid, st)
	}
	c2, a2 := tsharkClean(t, kept)
	t.Logf("with the check, invalid kept: %d of %d packets clean", c2, a2)
	if float64(c2)/float64(a2) <= float64(clean)/float64(all) {
		t.Errorf("the check did not raise the clean share: %d/%d -> %d/%d", clean, all, c2, a2)
	}
	// No retries: every first sample is rejected; dropped, none is written.
	o.DropInvalid, o.FlowRetries = true, 0
	dropped, st, flows := generatePcap(t, m, n, o, wo)
	again, _, _ := generatePcap(t, m, n, o, wo)
	if !bytes.Equal(dropped, again) {
		t.Fatal("not deterministic")
	}
	refused := 0
	for _, f := range flows {
		if f.Refused != f.Invalid {
			t.Fatalf("flow %d: refused %v, invalid %v", f.Index, f.Refused, f.Invalid)
		}
		if f.Refused {
			refused++
		}
	}
	t.Logf("drop: %+v", st)
	if len(dropped) > 24 {
		if c3, a3 := tsharkClean(t, dropped); c3 != a3 {
			t.Fatalf("drop: %d of %d packets clean", c3, a3)
		}
	}
	if st.Dropped == 0 || st.Dropped != refused || st.Flows+st.Dropped != n || st.FlowResamples != 0 {
		t.Fatalf("drop: stats %+v, %d refused", st, refused)
	}
	// A flow check that judges too few flows is an error, not a silent pass.
	o.CheckFlow = func(context.Context, []*Flow) ([]bool, error) { return nil, nil }
	if _, err := Generate(context.Background(), m, 4, o, func(*Flow) error { return nil }); err == nil {
		t.Error("a check judging no flows: no error")
	}
}

// udpDNS is a test hook that makes the first sample of every flow UDP to
// port 53: with the DNS grammar off, the random model's payloads there are
// nearly all malformed DNS (1 of 57 packets clean); samples again are the
// model's own (mostly clean: their ports name no dissector).
func udpDNS(rw *row, allowed []bool) {
	r := rw.r
	if r.phase != pBody || !r.structured || r.packets != 1 || rw.flow.Attempt > 0 {
		return
	}
	only := func(v int) { clear(allowed); allowed[v] = true }
	switch {
	case r.sh.f == fProto:
		only(17)
	case r.sh.f == fPort && r.sh.at == 2:
		only(0)
	case r.sh.f == fPort && r.sh.at == 3:
		only(53)
	}
}
