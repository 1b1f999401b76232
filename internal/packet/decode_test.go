package packet

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

type decodeCase struct {
	name     string
	link     uint32
	data     []byte
	err      error
	want     Layers // only the fields listed in check are compared
	wantKind Kind
}

var payload = []byte("hello, world!")

func decodeCases() []decodeCase {
	tcpSeg := cat(tcp(51234, 443, TCPSyn|TCPAck, []byte{1, 1, 1, 0}), payload)
	udpSeg := cat(udp(5353, 53, len(payload)), payload)
	ip4tcp := cat(ipv4(ip4B, ip4A, ProtoTCP, len(tcpSeg), nil, 7, 0), tcpSeg)
	ip4udp := cat(ipv4(ip4A, ip4B, ProtoUDP, len(udpSeg), []byte{1, 1, 1, 0}, 8, 0), udpSeg)
	ip6tcp := cat(ipv6(ip6A, ip6B, ProtoTCP, len(tcpSeg)), tcpSeg)
	icmp := []byte{8, 0, 0, 0, 0, 1, 0, 1}
	ip4icmp := cat(ipv4(ip4A, ip4B, ProtoICMP, len(icmp), nil, 9, 0), icmp)
	hbh := []byte{60, 0, 1, 4, 0, 0, 0, 0}           // hop-by-hop -> dest opts
	dst := []byte{44, 0, 1, 4, 0, 0, 0, 0}           // dest opts -> fragment
	frag1 := []byte{ProtoUDP, 0, 0, 1, 0, 0, 0, 42}  // offset 0, M=1
	frag2 := []byte{ProtoUDP, 0, 0, 16, 0, 0, 0, 42} // offset 16, M=0
	ip6ext := cat(ipv6(ip6A, ip6B, 0, 24+len(udpSeg)), hbh, dst, frag1, udpSeg)
	ip6frag2 := cat(ipv6(ip6A, ip6B, 44, 8+4), frag2, []byte{1, 2, 3, 4})
	ip4frag2 := cat(ipv4(ip4A, ip4B, ProtoUDP, 4, nil, 99, 2), []byte{1, 2, 3, 4})
	ip4frag1 := cat(ipv4(ip4A, ip4B, ProtoUDP, len(udpSeg), nil, 99, 0x2000), udpSeg)
	arp := make([]byte, 28)

	sll := func(proto uint16, pkt []byte) []byte {
		h := []byte{0, 0, 0, 1, 0, 6}
		h = append(h, macB...)
		h = append(h, 0, 0)
		return cat(be16(h, proto), pkt)
	}
	sll2 := func(proto uint16, pkt []byte) []byte {
		h := be16(nil, proto)
		h = append(h, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6)
		h = append(h, macB...)
		h = append(h, 0, 0)
		return cat(h, pkt)
	}
	null := func(af uint32, pkt []byte) []byte {
		return cat(binary.LittleEndian.AppendUint32(nil, af), pkt)
	}
	nullBE := func(af uint32, pkt []byte) []byte {
		return cat(binary.BigEndian.AppendUint32(nil, af), pkt)
	}

	tcp4 := Layers{NetOff: 14, IPVersion: 4, Proto: ProtoTCP, L4Off: 34, SrcPort: 51234, DstPort: 443, PayloadOff: 58, TCPHdrLen: 24, TCPFlags: TCPSyn | TCPAck, EtherType: EtherTypeIPv4, SrcMAC: 6, DstMAC: 0, Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1")}
	shift := func(l Layers, link, d int) Layers {
		l.NetOff = link
		l.L4Off += d
		l.PayloadOff += d
		return l
	}
	noMAC := func(l Layers) Layers { l.SrcMAC, l.DstMAC = -1, -1; return l }
	srcMAC := func(l Layers, off int) Layers { l.SrcMAC, l.DstMAC = off, -1; return l }

	return []decodeCase{
		{name: "eth ipv4 tcp", link: 1, data: cat(ether(macA, macB, nil, EtherTypeIPv4), ip4tcp), want: tcp4, wantKind: KindPorts},
		{name: "eth fcs bits", link: 1 | 0x14000000, data: cat(ether(macA, macB, nil, EtherTypeIPv4), ip4tcp), want: tcp4, wantKind: KindPorts},
		{name: "eth 2 vlan tcp", link: 1, data: cat(ether(macA, macB, []uint16{0x88a8, 0x8100}, EtherTypeIPv4), ip4tcp), want: shift(tcp4, 22, 8), wantKind: KindPorts},
		{name: "eth 3 vlan tcp", link: 1, data: cat(ether(macA, macB, []uint16{0x9100, 0x88a8, 0x8100}, EtherTypeIPv4), ip4tcp), want: shift(tcp4, 26, 12), wantKind: KindPorts},
		{name: "raw101 ipv4", link: 101, data: ip4tcp, want: noMAC(shift(tcp4, 0, -14)), wantKind: KindPorts},
		{name: "raw12 ipv4", link: 12, data: ip4tcp, want: noMAC(shift(tcp4, 0, -14)), wantKind: KindPorts},
		{name: "raw14 ipv4", link: 14, data: ip4tcp, want: noMAC(shift(tcp4, 0, -14)), wantKind: KindPorts},
		{name: "ipv4 228", link: 228, data: ip4tcp, want: noMAC(shift(tcp4, 0, -14)), wantKind: KindPorts},
		{name: "sll ipv4", link: 113, data: sll(EtherTypeIPv4, ip4tcp), want: srcMAC(shift(tcp4, 16, 2), 6), wantKind: KindPorts},
		{name: "sll2 ipv4", link: 276, data: sll2(EtherTypeIPv4, ip4tcp), want: srcMAC(shift(tcp4, 20, 6), 12), wantKind: KindPorts},
		{name: "null ipv4", link: 0, data: null(2, ip4tcp), want: noMAC(shift(tcp4, 4, -10)), wantKind: KindPorts},
		{name: "null ipv4 big-endian host", link: 0, data: nullBE(2, ip4tcp), want: noMAC(shift(tcp4, 4, -10)), wantKind: KindPorts},
		{name: "loop ipv4", link: 108, data: nullBE(2, ip4tcp), want: noMAC(shift(tcp4, 4, -10)), wantKind: KindPorts},
		{name: "eth ipv4 udp opts", link: 1, data: cat(ether(macA, macB, nil, EtherTypeIPv4), ip4udp),
			want: Layers{NetOff: 14, IPVersion: 4, Proto: ProtoUDP, L4Off: 38, SrcPort: 5353, DstPort: 53, PayloadOff: 46, EtherType: EtherTypeIPv4, SrcMAC: 6, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}, wantKind: KindPorts},
		{name: "eth ipv4 icmp", link: 1, data: cat(ether(macA, macB, nil, EtherTypeIPv4), ip4icmp),
			want: Layers{NetOff: 14, IPVersion: 4, Proto: ProtoICMP, L4Off: 34, PayloadOff: -1, EtherType: EtherTypeIPv4, SrcMAC: 6, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}, wantKind: KindIP},
		{name: "ipv4 first fragment", link: 228, data: ip4frag1,
			want: Layers{NetOff: 0, IPVersion: 4, Proto: ProtoUDP, L4Off: 20, SrcPort: 5353, DstPort: 53, PayloadOff: 28, EtherType: EtherTypeIPv4, SrcMAC: -1, Fragment: true, FragID: 99, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}, wantKind: KindPorts},
		{name: "ipv4 later fragment", link: 228, data: ip4frag2,
			want: Layers{NetOff: 0, IPVersion: 4, Proto: ProtoUDP, L4Off: -1, PayloadOff: -1, EtherType: EtherTypeIPv4, SrcMAC: -1, Fragment: true, FragOffset: 16, FragID: 99, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}, wantKind: KindIP},
		{name: "eth ipv6 tcp", link: 1, data: cat(ether(macA, macB, nil, EtherTypeIPv6), ip6tcp),
			want: Layers{NetOff: 14, IPVersion: 6, Proto: ProtoTCP, L4Off: 54, SrcPort: 51234, DstPort: 443, PayloadOff: 78, TCPHdrLen: 24, TCPFlags: TCPSyn | TCPAck, EtherType: EtherTypeIPv6, SrcMAC: 6, Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2")}, wantKind: KindPorts},
		{name: "raw ipv6 by nibble", link: 101, data: ip6tcp,
			want: Layers{NetOff: 0, IPVersion: 6, Proto: ProtoTCP, L4Off: 40, SrcPort: 51234, DstPort: 443, PayloadOff: 64, TCPHdrLen: 24, TCPFlags: TCPSyn | TCPAck, EtherType: EtherTypeIPv6, SrcMAC: -1, Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2")}, wantKind: KindPorts},
		{name: "null ipv6 af 30", link: 0, data: null(30, ip6tcp),
			want: Layers{NetOff: 4, IPVersion: 6, Proto: ProtoTCP, L4Off: 44, SrcPort: 51234, DstPort: 443, PayloadOff: 68, TCPHdrLen: 24, TCPFlags: TCPSyn | TCPAck, EtherType: EtherTypeIPv6, SrcMAC: -1, Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2")}, wantKind: KindPorts},
		{name: "ipv6 ext headers first fragment", link: 229, data: ip6ext,
			want: Layers{NetOff: 0, IPVersion: 6, Proto: ProtoUDP, L4Off: 64, SrcPort: 5353, DstPort: 53, PayloadOff: 72, EtherType: EtherTypeIPv6, SrcMAC: -1, Fragment: true, FragID: 42, Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2")}, wantKind: KindPorts},
		{name: "ipv6 later fragment", link: 229, data: ip6frag2,
			want: Layers{NetOff: 0, IPVersion: 6, Proto: ProtoUDP, L4Off: -1, PayloadOff: -1, EtherType: EtherTypeIPv6, SrcMAC: -1, Fragment: true, FragOffset: 16, FragID: 42, Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2")}, wantKind: KindIP},
		{name: "arp", link: 1, data: cat(ether(macA, macB, nil, EtherTypeARP), arp),
			want: Layers{NetOff: 14, EtherType: EtherTypeARP, SrcMAC: 6, L4Off: -1, PayloadOff: -1}, wantKind: KindEther},
		{name: "802.3 llc", link: 1, data: cat(ether(macA, macB, nil, 38), []byte{0x42, 0x42, 3}, make([]byte, 35)),
			want: Layers{NetOff: 14, EtherType: 0, SrcMAC: 6, L4Off: -1, PayloadOff: -1}, wantKind: KindEther},
		{name: "unknown link", link: 147, data: ip4tcp,
			want: Layers{NetOff: -1, SrcMAC: -1, L4Off: -1, PayloadOff: -1}, wantKind: KindLink},
		{name: "null unknown af", link: 0, data: null(7, ip4tcp),
			want: Layers{NetOff: 4, SrcMAC: -1, L4Off: -1, PayloadOff: -1}, wantKind: KindEther},
		{name: "eth truncated", link: 1, data: ether(macA, macB, nil, EtherTypeIPv4)[:10], err: ErrTruncated,
			want: Layers{NetOff: -1, SrcMAC: -1, L4Off: -1, PayloadOff: -1}, wantKind: KindLink},
		{name: "vlan truncated", link: 1, data: ether(macA, macB, []uint16{0x8100}, EtherTypeIPv4)[:16], err: ErrTruncated,
			want: Layers{NetOff: -1, SrcMAC: 6, L4Off: -1, PayloadOff: -1, EtherType: 0x8100}, wantKind: KindLink},
		{name: "ipv4 truncated", link: 1, data: cat(ether(macA, macB, nil, EtherTypeIPv4), ip4tcp[:19]), err: ErrTruncated,
			want: Layers{NetOff: 14, SrcMAC: 6, L4Off: -1, PayloadOff: -1, EtherType: EtherTypeIPv4}, wantKind: KindEther},
		{name: "ipv4 bad ihl", link: 228, data: append([]byte{0x44}, ip4tcp[1:]...), err: ErrMalformed,
			want: Layers{NetOff: 0, IPVersion: 4, Proto: ProtoTCP, SrcMAC: -1, L4Off: -1, PayloadOff: -1, EtherType: EtherTypeIPv4, Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1")}, wantKind: KindIP},
		{name: "ipv4 wrong version", link: 1, data: cat(ether(macA, macB, nil, EtherTypeIPv4), ip6tcp), err: ErrMalformed,
			want: Layers{NetOff: 14, SrcMAC: 6, L4Off: -1, PayloadOff: -1, EtherType: EtherTypeIPv4}, wantKind: KindEther},
		{name: "raw bad version", link: 101, data: []byte{0x50, 1, 2}, err: ErrMalformed,
			want: Layers{NetOff: 0, SrcMAC: -1, L4Off: -1, PayloadOff: -1}, wantKind: KindEther},
		{name: "tcp ports only", link: 228, data: ip4tcp[:26], err: ErrTruncated,
			want: Layers{NetOff: 0, IPVersion: 4, Proto: ProtoTCP, L4Off: 20, SrcPort: 51234, DstPort: 443, PayloadOff: -1, EtherType: EtherTypeIPv4, SrcMAC: -1, Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1")}, wantKind: KindPorts},
		{name: "tcp no ports", link: 228, data: ip4tcp[:22], err: ErrTruncated,
			want: Layers{NetOff: 0, IPVersion: 4, Proto: ProtoTCP, L4Off: 20, PayloadOff: -1, EtherType: EtherTypeIPv4, SrcMAC: -1, Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1")}, wantKind: KindIP},
		{name: "tcp options truncated", link: 228, data: ip4tcp[:41], err: ErrTruncated,
			want: Layers{NetOff: 0, IPVersion: 4, Proto: ProtoTCP, L4Off: 20, SrcPort: 51234, DstPort: 443, PayloadOff: -1, TCPHdrLen: 24, TCPFlags: TCPSyn | TCPAck, EtherType: EtherTypeIPv4, SrcMAC: -1, Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1")}, wantKind: KindPorts},
		{name: "ipv6 ext truncated", link: 229, data: ip6ext[:60], err: ErrTruncated,
			want: Layers{NetOff: 0, IPVersion: 6, Proto: 44, L4Off: -1, PayloadOff: -1, EtherType: EtherTypeIPv6, SrcMAC: -1, Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2")}, wantKind: KindIP},
		{name: "empty", link: 1, data: nil, err: ErrTruncated, want: Layers{NetOff: -1, SrcMAC: -1, L4Off: -1, PayloadOff: -1}, wantKind: KindLink},
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases() {
		t.Run(tc.name, func(t *testing.T) {
			var l Layers
			err := Decode(tc.link, tc.data, &l)
			if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			w := tc.want
			type view struct {
				NetOff, SrcMAC, L4Off, PayloadOff, TCPHdrLen, FragOffset int
				IPVersion, Proto, TCPFlags                               uint8
				SrcPort, DstPort, EtherType                              uint16
				Fragment                                                 bool
				FragID                                                   uint32
				Src, Dst                                                 netip.Addr
			}
			v := func(l Layers) view {
				if !l.Fragment {
					l.FragID = 0 // IPv4 identification is only compared for fragments
				}
				return view{l.NetOff, l.SrcMAC, l.L4Off, l.PayloadOff, l.TCPHdrLen, l.FragOffset, l.IPVersion, l.Proto, l.TCPFlags, l.SrcPort, l.DstPort, l.EtherType, l.Fragment, l.FragID, l.Src, l.Dst}
			}
			if got, want := v(l), v(w); got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if l.LinkType != tc.link {
				t.Errorf("LinkType = %d", l.LinkType)
			}
			if k, _ := KeyOf(&l, tc.data); k.Kind != tc.wantKind {
				t.Errorf("key kind %d, want %d (%v)", k.Kind, tc.wantKind, k)
			}
			checkOffsets(t, &l, tc.data)
		})
	}
}

// checkOffsets verifies that every field's offset agrees with its decoded
// value and lies inside data.
func checkOffsets(t *testing.T, l *Layers, data []byte) {
	t.Helper()
	in := func(name string, off, n int) {
		if off != -1 && (off < 0 || off+n > len(data)) {
			t.Errorf("%s offset %d+%d outside %d bytes", name, off, n, len(data))
		}
	}
	in("DstMAC", l.DstMAC, 6)
	in("SrcMAC", l.SrcMAC, 6)
	in("TTL", l.TTLOff, 1)
	in("IPID", l.IPIDOff, 2)
	in("IPCsum", l.IPCsumOff, 2)
	in("IPLen", l.IPLenOff, 2)
	in("SrcPort", l.SrcPortOff, 4)
	in("L4Csum", l.L4CsumOff, 2)
	in("UDPLen", l.UDPLenOff, 2)
	if l.NetOff > len(data) {
		t.Errorf("NetOff %d beyond %d", l.NetOff, len(data))
	}
	if l.PayloadOff > len(data) {
		t.Errorf("PayloadOff %d beyond %d", l.PayloadOff, len(data))
	}
	if l.Src.IsValid() {
		n := 4
		if l.IPVersion == 6 {
			n = 16
		}
		in("SrcIP", l.SrcIPOff, n)
		in("DstIP", l.DstIPOff, n)
		in("FinalDst", l.FinalDstOff, n)
		in("PseudoSrc", l.PseudoSrcOff, n)
		if got := l.Src.AsSlice(); string(got) != string(data[l.SrcIPOff:l.SrcIPOff+n]) {
			t.Errorf("Src %v does not match bytes at %d", l.Src, l.SrcIPOff)
		}
		if got := l.Dst.AsSlice(); string(got) != string(data[l.DstIPOff:l.DstIPOff+n]) {
			t.Errorf("Dst %v does not match bytes at %d", l.Dst, l.DstIPOff)
		}
	}
	if l.SrcPortOff >= 0 {
		if binary.BigEndian.Uint16(data[l.SrcPortOff:]) != l.SrcPort || binary.BigEndian.Uint16(data[l.SrcPortOff+2:]) != l.DstPort {
			t.Errorf("ports do not match bytes at %d", l.SrcPortOff)
		}
	}
	if l.IPLenOff >= 0 {
		v := int(binary.BigEndian.Uint16(data[l.IPLenOff:]))
		if l.IPVersion == 6 {
			v += 40
		}
		if v != l.IPTotalLen {
			t.Errorf("IPTotalLen %d, field says %d", l.IPTotalLen, v)
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	cases := decodeCases()
	var l Layers
	n := testing.AllocsPerRun(100, func() {
		for _, tc := range cases {
			Decode(tc.link, tc.data, &l)
			KeyOf(&l, tc.data)
			L4Checksum(&l, tc.data)
		}
	})
	if n != 0 {
		t.Errorf("Decode+KeyOf+L4Checksum allocate %v times per run", n)
	}
}

func TestKeyOf(t *testing.T) {
	seg1 := tcp(51234, 443, TCPSyn, nil)
	seg2 := tcp(443, 51234, TCPSyn|TCPAck, nil)
	p1 := cat(ipv4(ip4B, ip4A, ProtoTCP, 20, nil, 1, 0), seg1)
	p2 := cat(ipv4(ip4A, ip4B, ProtoTCP, 20, nil, 1, 0), seg2)
	var l1, l2 Layers
	Decode(LinkIPv4, p1, &l1)
	Decode(LinkIPv4, p2, &l2)
	k1, ab1 := KeyOf(&l1, p1)
	k2, ab2 := KeyOf(&l2, p2)
	if k1 != k2 || ab1 == ab2 {
		t.Fatalf("keys %v/%v %v/%v", k1, ab1, k2, ab2)
	}
	if ab1 {
		t.Errorf("10.0.0.2 -> 10.0.0.1 should be B->A")
	}
	if got, want := k1.String(), "tcp 10.0.0.1:443 <-> 10.0.0.2:51234"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got, want := k1.Directed(ab1), "tcp 10.0.0.2:51234 -> 10.0.0.1:443"; got != want {
		t.Errorf("Directed = %q, want %q", got, want)
	}
	c, s := k1.ClientServer(ab1)
	if c.String() != "10.0.0.2:51234" || s.String() != "10.0.0.1:443" {
		t.Errorf("ClientServer = %v %v", c, s)
	}
	// Same addresses, ports decide.
	p3 := cat(ipv4(ip4A, ip4A, ProtoUDP, 8, nil, 1, 0), udp(2000, 1000, 0))
	var l3 Layers
	Decode(LinkIPv4, p3, &l3)
	k3, ab3 := KeyOf(&l3, p3)
	if ab3 || k3.PortA != 1000 {
		t.Errorf("port order: %v %v", k3, ab3)
	}
	k3.Scope = 5
	if got, want := k3.String(), "udp 10.0.0.1:1000 <-> 10.0.0.1:2000 scope 5"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	p6 := cat(ipv6(ip6B, ip6A, ProtoTCP, 20), seg1)
	var l6 Layers
	Decode(LinkIPv6, p6, &l6)
	k6, _ := KeyOf(&l6, p6)
	if got, want := k6.String(), "tcp [2001:db8::1]:443 <-> [2001:db8::2]:51234"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	pa := cat(ether(macB, macA, nil, EtherTypeARP), make([]byte, 28))
	var la Layers
	Decode(LinkEthernet, pa, &la)
	ka, aba := KeyOf(&la, pa)
	if got, want := ka.String(), "ether 0x0806 02:00:00:00:00:aa <-> 02:00:00:00:00:bb"; got != want || !aba {
		t.Errorf("String = %q, want %q (aToB %v)", got, want, aba)
	}
	var lu Layers
	Decode(147, pa, &lu)
	ku, _ := KeyOf(&lu, pa)
	if got, want := ku.String(), "link 147"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	pi := cat(ipv4(ip4A, ip4B, ProtoICMP, 8, nil, 1, 0), make([]byte, 8))
	var li Layers
	Decode(LinkIPv4, pi, &li)
	ki, _ := KeyOf(&li, pi)
	if got, want := ki.String(), "icmp 10.0.0.1 <-> 10.0.0.2"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
