package sample

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
)

// randomPayload walks grammar g at random: each byte uniform over the
// allowed values, ending with probability stop wherever the payload may
// end (and always when no byte may follow). It fails the test if the walk
// gets stuck: no byte allowed where the payload may not end. Where hint
// names values for a position, allowed ones are taken nine times in ten.
func randomPayload(t testing.TB, g payloadGrammar, limit, state int, stop float64, rng *rand.Rand, hint map[int][]byte) []byte {
	t.Helper()
	var p []byte
	for {
		complete := walkPayload(g, p, limit, state, nil)
		var allowed [256]bool
		for v := range allowed {
			allowed[v] = true
		}
		walkPayload(g, p, limit, state, &allowed)
		var vs []int
		for v, ok := range allowed {
			if ok {
				vs = append(vs, v)
			}
		}
		if len(p) > limit {
			t.Fatalf("payload grew past its limit %d: %x", limit, p)
		}
		if complete && (len(vs) == 0 || len(p) > 0 && rng.Float64() < stop) {
			return p
		}
		if len(vs) == 0 {
			t.Fatalf("stuck after %d bytes (limit %d): %s", len(p), limit, hex.EncodeToString(p))
		}
		var hinted []int
		for _, v := range hint[len(p)] {
			if allowed[v] {
				hinted = append(hinted, int(v))
			}
		}
		if len(hinted) > 0 && rng.Float64() < 0.9 {
			vs = hinted
		}
		p = append(p, byte(vs[rng.IntN(len(vs))]))
	}
}

// TestPayloadGrammarsNeverStuck: random walks of every grammar end, within
// their limit, for small and frame-sized limits.
func TestPayloadGrammarsNeverStuck(t *testing.T) {
	walks := 60
	if testing.Short() {
		walks = 15
	}
	for _, name := range []string{"dns", "dns-tcp", "mqtt", "tls", "ssh"} {
		g := grammarNamed(t, name)
		for _, limit := range []int{23, 40, 100, 1460} {
			rng := rand.New(rand.NewPCG(uint64(limit), 1))
			for w := range walks {
				randomPayload(t, g, limit, w%3, 0.05, rng, nil)
			}
		}
	}
}

func grammarNamed(t testing.TB, name string) payloadGrammar {
	for _, a := range appProtocols {
		if a.name == name {
			return a.grammar
		}
	}
	t.Fatalf("no grammar %q", name)
	return nil
}

// TestPayloadGrammarsTshark: tshark reads random walks of every grammar,
// each as one packet on the protocol's port, as its protocol with no
// malformed packet and no error- or warning-level expert info from the
// application dissector.
func TestPayloadGrammarsTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	per := 100
	if testing.Short() {
		per = 40
	}
	type proto struct {
		name  string
		l4    uint8
		port  uint16
		layer string // tshark's protocol name
		hint  map[int][]byte
	}
	// Hints steer half the walks to what a uniform walk seldom reaches:
	// TLS hellos (and so their extensions), and an MQTT CONNECT first (so
	// tshark knows the version).
	protos := []proto{{"dns", 17, 53, "dns", nil}, {"dns-tcp", 6, 53, "dns", nil},
		{"mqtt", 6, 1883, "mqtt", map[int][]byte{0: {0x10}}}, {"tls", 6, 443, "tls", map[int][]byte{0: {22}, 5: {1, 2}}},
		{"ssh", 6, 22, "ssh", nil}}
	var frames [][]byte
	for i, p := range protos {
		rng := rand.New(rand.NewPCG(uint64(i), 2))
		g := grammarNamed(t, p.name)
		limit := 1460 - 20 // IPv4 and TCP/UDP headers in a 1514-byte frame, with room to spare
		for range per {
			stop := []float64{0.5, 0.1, 0.01}[rng.IntN(3)]
			var hint map[int][]byte
			if rng.IntN(2) == 0 {
				hint = p.hint
			}
			// A connection per walk: tshark reads TLS handshakes after a
			// ChangeCipherSpec of the same connection as encrypted. An SSH
			// connection: the banner, then packets in the clear.
			sport, seq := uint16(40000+len(frames)), uint32(0)
			states := []int{0}
			if p.name == "ssh" {
				states = []int{sshBanner, sshClear, sshClear}
			}
			for _, st := range states {
				pl := randomPayload(t, g, limit, st, stop, rng, hint)
				frames = append(frames, frame(p.l4, sport, p.port, seq, pl))
				seq += uint32(len(pl))
			}
		}
	}
	path := filepath.Join(t.TempDir(), "walks.pcap")
	if err := os.WriteFile(path, pcapFile(frames), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=/t",
		"-e", "frame.number", "-e", "frame.protocols", "-e", "_ws.expert.severity", "-e", "_ws.expert.message").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	seen, experts := map[string]int{}, map[string]int{}
	bad := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		for len(f) < 4 {
			f = append(f, "")
		}
		for _, p := range protos {
			if strings.HasSuffix(f[1], ":"+p.layer) || strings.Contains(f[1], ":"+p.layer+":") {
				seen[p.layer]++
			}
		}
		for _, m := range strings.Split(f[3], ",") {
			if m != "" {
				experts[m]++
			}
		}
		msg := strings.ToLower(f[3])
		if strings.Contains(msg, "malformed") || strings.Contains(f[2], "8388608") ||
			strings.Contains(f[2], "6291456") && !benignWarnings(f[3]) {
			if bad++; bad <= 10 {
				t.Errorf("frame %s (%s): %s [%s]", f[0], f[1], f[3], f[2])
			}
		}
	}
	t.Logf("tshark: protocols seen %v; expert info %v", seen, experts)
	for _, p := range protos {
		if seen[p.layer] == 0 {
			t.Errorf("tshark never read %s", p.layer)
		}
	}
}

// demoPrompts returns the first packet of each of the first n flows of a
// demo capture, as prompts.
func demoPrompts(t *testing.T, name string, n int) [][]codec.Token {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "demo", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var prompts [][]codec.Token
	_, err = codec.EncodeFlows(context.Background(), f, codec.EncodeOptions{Flow: flow.DefaultConfig(), View: codec.View{MaxPackets: 1}},
		func(ef *codec.EncodedFlow) error {
			toks := slices.Clone(ef.Tokens[:len(ef.Tokens)-1])
			if len(prompts) < n && CheckPrompt(toks) == nil {
				prompts = append(prompts, toks)
			}
			return nil
		})
	if err != nil || len(prompts) == 0 {
		t.Fatalf("%s: %v (%d prompts)", name, err, len(prompts))
	}
	return prompts
}

// TestAppChoice: the first packet's ports choose the grammar (the lower
// port first); Options.FreePayloads chooses none.
func TestAppChoice(t *testing.T) {
	for _, tc := range []struct {
		capture string
		free    bool
		want    string
	}{{"dns.pcap", false, "dns-tcp"}, {"mqtt.pcap", false, "mqtt"}, {"ssh.pcap", false, "ssh"}, {"http.pcap", false, ""},
		{"mqtt.pcap", true, ""}} {
		p := demoPrompts(t, tc.capture, 1)[0]
		rw := newRow(job{}, &Options{Prompts: [][]codec.Token{p}, FreePayloads: tc.free, Label: -1})
		for _, tok := range p {
			if err := rw.push(tok); err != nil {
				t.Fatal(err)
			}
		}
		rw.r.push(codec.END) // ends the prompt's packet
		got := ""
		if rw.r.app != nil {
			got = rw.r.app.name
		}
		if got != tc.want {
			t.Errorf("%s (free %v): grammar %q, want %q", tc.capture, tc.free, got, tc.want)
		}
	}
	if g := appGrammar(17, 53, 40000); g == nil || g.name != "dns" {
		t.Errorf("udp 53: %v", g)
	}
	if g := appGrammar(6, 50000, 0); g != nil {
		t.Errorf("masked port named %q", g.name)
	}
}

// benignWarnings reports whether a frame's warnings are all ones tshark
// also gives real traffic: its SSH dissector's "Decoded N bytes, but packet
// legnth is M bytes" for host key signatures (OpenSSH 9 ECDSA keys get it).
func benignWarnings(msgs string) bool {
	for _, m := range strings.Split(msgs, ",") {
		if m != "" && !strings.HasPrefix(m, "Decoded ") && !strings.HasPrefix(m, " but packet legnth") {
			return false
		}
	}
	return true
}

// frame builds an Ethernet/IPv4 frame carrying payload over UDP (l4 17)
// or TCP (6, PSH+ACK at sequence number seq), checksums left zero (tshark
// does not check them by default).
func frame(l4 uint8, sport, dport uint16, seq uint32, payload []byte) []byte {
	th := 8
	if l4 == 6 {
		th = 20
	}
	b := make([]byte, 14+20+th+len(payload))
	copy(b, []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0})
	ip := b[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, l4
	binary.BigEndian.PutUint16(ip[2:], uint16(20+th+len(payload)))
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	tp := ip[20:]
	binary.BigEndian.PutUint16(tp[0:], sport)
	binary.BigEndian.PutUint16(tp[2:], dport)
	if l4 == 17 {
		binary.BigEndian.PutUint16(tp[4:], uint16(8+len(payload)))
	} else {
		binary.BigEndian.PutUint32(tp[4:], seq+1)
		binary.BigEndian.PutUint32(tp[8:], 1)
		tp[12], tp[13] = 5<<4, 0x18
		binary.BigEndian.PutUint16(tp[14:], 65535)
	}
	copy(tp[th:], payload)
	return b
}

// pcapFile is a classic pcap of Ethernet frames, one per millisecond.
func pcapFile(frames [][]byte) []byte {
	out := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	for i, f := range frames {
		var h [16]byte
		binary.LittleEndian.PutUint32(h[0:], uint32(1700000000+i/1000))
		binary.LittleEndian.PutUint32(h[4:], uint32(i%1000*1000))
		binary.LittleEndian.PutUint32(h[8:], uint32(len(f)))
		binary.LittleEndian.PutUint32(h[12:], uint32(len(f)))
		out = append(append(out, h[:]...), f...)
	}
	return out
}

// TestPayloadRulesEndToEnd: a random model continuing real DNS, MQTT and
// TLS flows (our demo captures; the first packet of each flow is the
// prompt, which names the port) writes application payloads that tshark
// reads in full with no malformed packet and no error-level expert info.
func TestPayloadRulesEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	var prompts [][]codec.Token
	for _, name := range []string{"dns.pcap", "mqtt.pcap", "https.pcap"} {
		prompts = append(prompts, demoPrompts(t, name, 8)...)
	}
	m := tinyModel(t, 5)
	o := Options{Sampling: Sampling{Temperature: 1}, Seed: 3, Batch: len(prompts), MaxPackets: 6, Label: -1, Prompts: prompts}
	pc, _, flows := generatePcap(t, m, 2*len(prompts), o, WriteOptions{Seed: 3})
	checkPackets(t, pc)
	payloads := 0
	for _, fl := range flows {
		k := 0
		codec.DecodeFlow(fl.Tokens, 0, func(p codec.Packet) error {
			if k++; k > 1 && len(p.Data) > 66 {
				payloads++
			}
			return nil
		})
	}
	p := filepath.Join(t.TempDir(), "gen.pcap")
	if err := os.WriteFile(p, pc, 0o644); err != nil {
		t.Fatal(err)
	}
	protos, experts, errs := tsharkExpert(t, p, false)
	t.Logf("%d generated packets with payloads; tshark: %v %v", payloads, protos, experts)
	for msg := range experts {
		if strings.Contains(strings.ToLower(msg), "malformed") {
			t.Errorf("tshark: %s", msg)
		}
	}
	if errs > 0 {
		t.Errorf("tshark: %d packets with error-level expert info", errs)
	}
}

// BenchmarkWalkPayload: the cost a grammar adds to one generated payload
// byte (two walks: the byte's values, then whether the payload may end),
// at the end of a long payload (a walk re-reads the payload from its start).
func BenchmarkWalkPayload(b *testing.B) {
	for _, name := range []string{"dns", "mqtt", "tls", "ssh"} {
		g := grammarNamed(b, name)
		rng := rand.New(rand.NewPCG(1, 1))
		state := 0
		if name == "ssh" {
			state = sshClear
		}
		var p []byte
		for len(p) < 600 {
			p = randomPayload(b, g, 1440, state, 0.001, rng, nil)
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				var allowed [256]bool
				for v := range allowed {
					allowed[v] = true
				}
				walkPayload(g, p, 1440, state, &allowed)
				walkPayload(g, p, 1440, state, nil)
			}
			b.ReportMetric(float64(len(p)), "payload-bytes")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "us/token")
		})
	}
}
