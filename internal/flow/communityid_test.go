package flow

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// communityIDVectors are the Community ID spec's published baseline
// (community-id-spec baseline/baseline_deflt.json and baseline_seed1.json):
// protocol, source, destination, ports (ICMP: type and counterpart or code),
// the ID with seed 0 and with seed 1.
var communityIDVectors = []struct {
	proto        uint8
	saddr, daddr string
	sport, dport uint16
	seed0, seed1 string
}{
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 135, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
	{58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4="},
	{58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8="},
	{58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
	{58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
	{58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="},
	{58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc="},
	{1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
	{1, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
	{1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20="},
	{6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	{6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	{132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
	{132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
	{6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
	{17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
	{46, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
	{46, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
}

func TestCommunityIDSpecBaseline(t *testing.T) {
	for _, v := range communityIDVectors {
		tp := Tuple{Src: netip.MustParseAddr(v.saddr), Dst: netip.MustParseAddr(v.daddr), Proto: v.proto, SrcPort: v.sport, DstPort: v.dport}
		if got := CommunityID(tp, 0); got != v.seed0 {
			t.Errorf("%+v seed 0: got %s, want %s", tp, got, v.seed0)
		}
		if got := CommunityID(tp, 1); got != v.seed1 {
			t.Errorf("%+v seed 1: got %s, want %s", tp, got, v.seed1)
		}
	}
}

func TestCommunityIDEdgeCases(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")
	mapped := netip.MustParseAddr("::ffff:10.0.0.2")
	for _, tc := range []struct {
		name string
		t    Tuple
		want string // "" or "same:" + another tuple's ID checked below
	}{
		{"mixed families", Tuple{Src: v4, Dst: v6, Proto: 6, SrcPort: 1, DstPort: 2}, ""},
		{"invalid address", Tuple{Dst: v4, Proto: 17}, ""},
	} {
		if got := CommunityID(tc.t, 0); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	// A v4-mapped IPv6 address hashes as its IPv4 address.
	a := CommunityID(Tuple{Src: v4, Dst: mapped, Proto: 6, SrcPort: 1234, DstPort: 80}, 0)
	b := CommunityID(Tuple{Src: v4, Dst: netip.MustParseAddr("10.0.0.2"), Proto: 6, SrcPort: 1234, DstPort: 80}, 0)
	if a != b || a == "" {
		t.Errorf("v4-mapped: %q vs %q", a, b)
	}
	// Equal addresses: the ports decide the order, so both directions agree.
	c := CommunityID(Tuple{Src: v4, Dst: v4, Proto: 17, SrcPort: 53, DstPort: 5353}, 0)
	d := CommunityID(Tuple{Src: v4, Dst: v4, Proto: 17, SrcPort: 5353, DstPort: 53}, 0)
	if c != d {
		t.Errorf("equal addresses: %q vs %q", c, d)
	}
	// Ports of protocols without ports are ignored.
	e := CommunityID(Tuple{Src: v4, Dst: v6.Prev(), Proto: 47}, 0)
	if e != "" {
		t.Errorf("mixed families, GRE: %q", e)
	}
	f := CommunityID(Tuple{Src: v4, Dst: v4.Next(), Proto: 47, SrcPort: 7}, 0)
	g := CommunityID(Tuple{Src: v4, Dst: v4.Next(), Proto: 47}, 0)
	if f != g {
		t.Errorf("GRE with stray ports: %q vs %q", f, g)
	}
}

// tsharkCommunityIDs returns tshark's Community ID of every frame of path
// (its communityid post-dissector, an independent implementation).
func tsharkCommunityIDs(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("tshark", "-r", path, "--enable-protocol", "communityid",
		"-T", "fields", "-e", "communityid").Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// ourCommunityIDs returns PacketCommunityID of every packet record of path.
func ourCommunityIDs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcap.NewReader(bytes.NewReader(b), pcap.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var l packet.Layers
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return ids
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind != pcap.KindPacket {
			continue
		}
		packet.Decode(rec.LinkType, rec.Data, &l)
		ids = append(ids, PacketCommunityID(&l, rec.Data, 0))
	}
}

// TestCommunityIDMatchesTshark compares every packet's Community ID with
// tshark's on the shipped demo captures and, when present, the spec's own
// captures (tcp, udp, sctp, icmp, icmp6, ipv6, arp) kept in Zeek's tests.
func TestCommunityIDMatchesTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark absent")
	}
	if testing.Short() {
		t.Skip("slow: runs tshark")
	}
	paths, _ := filepath.Glob("../../testdata/demo/*.pcap")
	spec, _ := filepath.Glob("../../../shared/data/dev-v1/zeek/communityid/*.pcap")
	if len(paths) == 0 {
		t.Fatal("no demo captures")
	}
	for _, path := range append(paths, spec...) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, got := tsharkCommunityIDs(t, path), ourCommunityIDs(t, path)
			if len(want) != len(got) {
				t.Fatalf("%d packets, tshark %d", len(got), len(want))
			}
			bad, ids := 0, 0
			for i := range want {
				if want[i] != "" {
					ids++
				}
				if want[i] != got[i] {
					if bad++; bad <= 5 {
						t.Errorf("frame %d: got %q, tshark %q", i+1, got[i], want[i])
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d frames differ", bad, len(want))
			}
			t.Logf("%d frames, %d with a Community ID, all equal to tshark's", len(want), ids)
		})
	}
}
