package sample

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// demoData holds real captures of 6 classes inside the repository.
var demoData = filepath.Join("..", "..", "testdata", "demo")

func tinyModel(t testing.TB, seed uint64) *model.Model {
	t.Helper()
	cfg, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// generatePcap samples n flows from m and writes them as one pcap.
func generatePcap(t testing.TB, m *model.Model, n int, o Options, wo WriteOptions) ([]byte, Stats, []*Flow) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, n, wo)
	if err != nil {
		t.Fatal(err)
	}
	var flows []*Flow
	st, err := Generate(context.Background(), m, n, o, func(f *Flow) error {
		flows = append(flows, f)
		return w.AddFlow(f)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(flows, func(a, b *Flow) int { return a.Index - b.Index })
	return buf.Bytes(), st, flows
}

func TestDeterminism(t *testing.T) {
	m := tinyModel(t, 1)
	o := Options{Sampling: Sampling{Temperature: 1, TopK: 100}, Seed: 3, Batch: 3, MaxPackets: 4, Label: -1}
	a, _, fa := generatePcap(t, m, 5, o, WriteOptions{Seed: 3})
	b, _, fb := generatePcap(t, m, 5, o, WriteOptions{Seed: 3})
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different captures")
	}
	o.Seed = 4
	_, _, fc := generatePcap(t, m, 5, o, WriteOptions{Seed: 4})
	same := 0
	for i := range fa {
		if !slices.Equal(fa[i].Tokens, fb[i].Tokens) {
			t.Fatalf("flow %d differs with the same seed", i)
		}
		if slices.Equal(fa[i].Tokens, fc[i].Tokens) {
			same++
		}
	}
	if same == len(fa) {
		t.Error("another seed gave the same flows")
	}
}

// TestGrammarMasking: an untrained model, sampled hot, yields flows that all
// decode, whose packets are Ethernet + IPv4/IPv6 + TCP/UDP with the header
// rules of doc.go, a label token when asked and no packet over MaxFrame.
func TestGrammarMasking(t *testing.T) {
	for _, tc := range []struct {
		name   string
		s      Sampling
		label  int
		refill int
	}{
		{"hot", Sampling{Temperature: 3}, -1, 0},
		{"top-p", Sampling{Temperature: 1, TopP: 0.9}, 5, 0},
		{"greedy", Sampling{}, -1, 0},
		{"refill", Sampling{Temperature: 1.5, TopK: 100}, 2, 100000},
		{"max-tokens", Sampling{Temperature: 1}, -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyModel(t, 2)
			o := Options{Sampling: tc.s, Seed: 9, Batch: 3, MaxPackets: 8, Label: tc.label, Refill: tc.refill}
			const maxTokens = 300
			if tc.name == "max-tokens" {
				o.MaxTokens = maxTokens
			}
			pc, st, flows := generatePcap(t, m, 10, o, WriteOptions{Seed: 9})
			if st.Flows != 10 || len(flows) != 10 {
				t.Fatalf("%d flows", st.Flows)
			}
			if busy := float64(st.Tokens) / float64(3*st.Steps); tc.refill > 0 && busy < 0.6 {
				t.Errorf("refill: rows busy %.2f of the steps", busy)
			}
			for _, f := range flows {
				h, err := codec.DecodeFlow(f.Tokens, 0, func(codec.Packet) error { return nil })
				if err != nil {
					t.Fatalf("flow %d: %v", f.Index, err)
				}
				if h.Label != tc.label || h.LinkType != 1 || h.Resolution != pcap.Micro {
					t.Fatalf("flow %d header %+v", f.Index, h)
				}
				if f.Tokens[len(f.Tokens)-1] != codec.END {
					t.Fatalf("flow %d does not end in <end>", f.Index)
				}
				// The packet under way finishes its headers (< 120 tokens
				// here), then the flow ends.
				if o.MaxTokens > 0 && len(f.Tokens) > maxTokens+120 {
					t.Fatalf("flow %d: %d tokens, limit %d", f.Index, len(f.Tokens), maxTokens)
				}
			}
			checkPackets(t, pc)
		})
	}
}

// checkPackets decodes every packet of a generated capture with the packet
// package and checks the header rules and checksums.
func checkPackets(t *testing.T, pc []byte) {
	t.Helper()
	r, err := pcap.NewReader(bytes.NewReader(pc), pcap.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var l packet.Layers
	var last uint64
	n := 0
	for {
		rec, err := r.Next()
		if errors.Is(err, os.ErrClosed) || err != nil {
			break
		}
		if rec.Kind != pcap.KindPacket {
			continue
		}
		n++
		if rec.Timestamp < last {
			t.Fatalf("packet %d: timestamps go back", n)
		}
		last = rec.Timestamp
		if len(rec.Data) > MaxFrame {
			t.Fatalf("packet %d: %d bytes", n, len(rec.Data))
		}
		if err := packet.Decode(1, rec.Data, &l); err != nil {
			t.Fatalf("packet %d: %v", n, err)
		}
		if (l.IPVersion != 4 && l.IPVersion != 6) || (l.Proto != 6 && l.Proto != 17) || l.Fragment || l.PayloadOff < 0 {
			t.Fatalf("packet %d: layers %+v", n, l)
		}
		// A source no one can answer, except a DHCP client's 0.0.0.0 to
		// the broadcast (a real host pair, Options.Hosts).
		dhcp := l.Src == netip.IPv4Unspecified() && l.Dst == netip.AddrFrom4([4]byte{255, 255, 255, 255})
		if a := l.Src.As16(); a[0] == 0xff || (l.Src.Is4() && (a[12] == 0 && !dhcp || a[12] >= 224)) {
			t.Fatalf("packet %d: source address %v", n, l.Src)
		}
		if rec.Data[l.SrcMAC]&1 != 0 {
			t.Fatalf("packet %d: group source MAC", n)
		}
		if l.IPVersion == 4 {
			if packet.IPv4HeaderChecksum(rec.Data[l.NetOff:l.NetOff+20]) != uint16(rec.Data[l.IPCsumOff])<<8|uint16(rec.Data[l.IPCsumOff+1]) {
				t.Fatalf("packet %d: IPv4 checksum", n)
			}
		}
		if s, ok := packet.L4Checksum(&l, rec.Data); !ok || s != uint16(rec.Data[l.L4CsumOff])<<8|uint16(rec.Data[l.L4CsumOff+1]) {
			t.Fatalf("packet %d: L4 checksum (ok %v)", n, ok)
		}
		if rec.Data[l.TTLOff] == 0 {
			t.Fatalf("packet %d: TTL 0", n)
		}
	}
	if n == 0 {
		t.Fatal("no packets")
	}
}

// tsharkExpert runs tshark with checksum validation and returns the
// protocol stacks and expert messages of the packets. transportOnly stops
// dissection after TCP/UDP (a random model's payloads are not any
// application protocol, so their dissectors' complaints say nothing about
// the generator).
func tsharkExpert(t *testing.T, path string, transportOnly bool) (protos, experts map[string]int, errs int) {
	t.Helper()
	args := []string{"-n", "-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-o", "ip.check_checksum:TRUE", "-T", "fields", "-E", "separator=/t", "-e", "frame.protocols",
		"-e", "_ws.expert.severity", "-e", "_ws.expert.message"}
	if transportOnly {
		args = append(args, "--disable-protocol", "ALL", "--enable-protocol", "frame,eth,ethertype,ip,ipv6,tcp,udp,data")
	}
	cmd := exec.Command("tshark", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, stderr.String())
	}
	protos, experts = map[string]int{}, map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		for len(f) < 3 {
			f = append(f, "")
		}
		protos[f[0]]++
		if strings.Contains(f[1], "8388608") { // PI_ERROR
			errs++
		}
		for _, m := range strings.Split(f[2], ",") {
			if m != "" {
				experts[m]++
			}
		}
	}
	return protos, experts, errs
}

func TestRandomModelEndToEnd(t *testing.T) {
	m := tinyModel(t, 1)
	o := Options{Sampling: Sampling{Temperature: 1}, Seed: 7, Batch: 4, MaxPackets: 6, Label: -1}
	pc, st, flows := generatePcap(t, m, 12, o, WriteOptions{Seed: 7})
	t.Logf("stats %+v", st)
	if len(flows) != 12 {
		t.Fatalf("%d flows", len(flows))
	}
	checkPackets(t, pc)
	// Lossless round trip of the written capture (trafficgpt verify).
	var tgt, back bytes.Buffer
	if _, err := codec.Tokenize(context.Background(), bytes.NewReader(pc), &tgt, codec.TokenizeOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := codec.Detokenize(context.Background(), &tgt, &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Bytes(), pc) {
		t.Fatal("tokenize/detokenize round trip differs")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	p := filepath.Join(t.TempDir(), "gen.pcap")
	if err := os.WriteFile(p, pc, 0o644); err != nil {
		t.Fatal(err)
	}
	protos, experts, errs := tsharkExpert(t, p, true)
	t.Logf("tshark (to the transport layer): %v %v", protos, experts)
	for msg := range experts {
		lm := strings.ToLower(msg)
		if strings.Contains(lm, "malformed") || strings.Contains(lm, "checksum") || strings.Contains(lm, "group address") {
			t.Errorf("tshark: %s", msg)
		}
	}
	if errs > 0 {
		t.Errorf("tshark: %d packets with error-level expert info", errs)
	}
	// Full dissection: checksums are the generator's, so none may be bad.
	protos, experts, _ = tsharkExpert(t, p, false)
	t.Logf("tshark (all dissectors): %v %v", protos, experts)
	for msg := range experts {
		if strings.Contains(strings.ToLower(msg), "checksum") && !strings.Contains(msg, "not present") {
			t.Errorf("tshark: %s", msg)
		}
	}
}

// TestPrompt: generated flows start with the prompt flows' packets, byte
// for byte, addresses included.
func TestPrompt(t *testing.T) {
	in := filepath.Join(demoData, "http.pcap")
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const K = 3
	var prompts [][]codec.Token
	var want [][][]byte
	_, err = codec.EncodeFlows(context.Background(), f, codec.EncodeOptions{Flow: flow.DefaultConfig(), View: codec.View{MaxPackets: K}},
		func(ef *codec.EncodedFlow) error {
			if len(prompts) == 3 {
				return nil
			}
			toks := slices.Clone(ef.Tokens[:len(ef.Tokens)-1])
			if CheckPrompt(toks) != nil {
				return nil
			}
			var pk [][]byte
			codec.DecodeFlow(toks, 0, func(p codec.Packet) error { pk = append(pk, slices.Clone(p.Data)); return nil })
			prompts, want = append(prompts, toks), append(want, pk)
			return nil
		})
	if err != nil || len(prompts) == 0 {
		t.Fatalf("prompts: %v (%d)", err, len(prompts))
	}
	m := tinyModel(t, 4)
	o := Options{Sampling: Sampling{Temperature: 1}, Seed: 2, Batch: 2, MaxPackets: K + 3, Label: -1, Prompts: prompts}
	pc, _, flows := generatePcap(t, m, len(prompts), o, WriteOptions{Seed: 2})
	checkPackets(t, pc)
	for _, fl := range flows {
		if !slices.Equal(fl.Tokens[:fl.Forced], prompts[fl.Prompt]) {
			t.Fatalf("flow %d does not start with its prompt", fl.Index)
		}
		var got [][]byte
		codec.DecodeFlow(fl.Tokens, 0, func(p codec.Packet) error { got = append(got, slices.Clone(p.Data)); return nil })
		for i, w := range want[fl.Prompt] {
			if !bytes.Equal(got[i], w) {
				t.Fatalf("flow %d packet %d differs from the prompt", fl.Index, i)
			}
		}
	}
}

func TestCheckPrompt(t *testing.T) {
	ok := append(Header(-1), codec.PKTC2S)
	for _, tc := range []struct {
		name string
		toks []codec.Token
		good bool
	}{
		{"header only", Header(-1), true},
		{"raw link", []codec.Token{codec.FLOW, codec.LinkRaw, codec.ResMicro}, false},
		{"ends", append(slices.Clone(Header(-1)), codec.END), false},
		{"bad token", append(slices.Clone(ok), codec.FLOW), false},
	} {
		if err := CheckPrompt(tc.toks); (err == nil) != tc.good {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
