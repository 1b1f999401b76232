package sample

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// Endpoint is one real flow's hosts as its first packet has them
// (Options.Hosts): the transport protocol, and Key, the bytes the codec
// writes for them in a generated flow's first packet: source address,
// destination address, destination (server) port; 4+4+2 bytes over IPv4,
// 16+16+2 over IPv6. The source (client) port is not part of it: clients
// pick ephemeral ports, which the model writes.
type Endpoint struct {
	V6    bool
	Proto uint8
	Key   []byte
}

// addrLen is the length of an endpoint's two addresses.
func (e *Endpoint) addrLen() int { return len(e.Key) - 2 }

// ReadHosts returns the endpoint of every TCP or UDP flow over IPv4 or
// IPv6 of the capture at path, or of every capture in the folder path (in
// file and flow order; "-": standard input), for Options.Hosts; the same
// endpoint once per flow that has it, so the pool keeps the capture's
// weights. Flows of other protocols, fragments and undecodable first
// packets are skipped; no flow left is an error.
func ReadHosts(ctx context.Context, path string, fc flow.Config) ([]Endpoint, error) {
	ins, err := pcap.Find([]string{path})
	if err != nil {
		return nil, err
	}
	var hosts []Endpoint
	for _, in := range ins {
		got, err := readHostsFile(ctx, in.Path, fc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Path, err)
		}
		hosts = append(hosts, got...)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%s: no TCP or UDP flows to take hosts from", path)
	}
	return hosts, nil
}

func readHostsFile(ctx context.Context, path string, fc flow.Config) ([]Endpoint, error) {
	var out []Endpoint
	active := map[uint64]bool{} // flows seen, while they last
	err := scanCapture(ctx, path, fc, flow.Visitor{
		Packet: func(p *flow.Scanned) error {
			if active[p.Flow.Flow] {
				return nil
			}
			active[p.Flow.Flow] = true
			l := p.Layers
			if p.DecodeErr != nil || l.Fragment || l.L4Off < 0 || !l.Src.IsValid() || !l.Dst.IsValid() ||
				l.Proto != packet.ProtoTCP && l.Proto != packet.ProtoUDP {
				return nil
			}
			e := Endpoint{V6: l.IPVersion == 6, Proto: l.Proto}
			e.Key = append(e.Key, l.Src.AsSlice()...)
			e.Key = append(e.Key, l.Dst.AsSlice()...)
			e.Key = append(e.Key, byte(l.DstPort>>8), byte(l.DstPort))
			if len(e.Key) != 10 && len(e.Key) != 34 {
				return nil // an IPv4-mapped address pair of mixed families
			}
			out = append(out, e)
			return nil
		},
		Ended: func(e flow.Ended) error {
			delete(active, e.Flow)
			return nil
		},
	})
	return out, err
}

// hostGroup is an endpoint's IP version (1: IPv6) and transport protocol.
type hostGroup [2]uint8

func groupOf(v6 bool, proto uint8) hostGroup {
	if v6 {
		return hostGroup{1, proto}
	}
	return hostGroup{0, proto}
}

// hostDeal is the pool in dealing order, computed once per Options: per
// group, the indices of its endpoints in a seeded permutation
// (rand.NewPCG(Seed, 2^61)). Flow idx takes entry idx mod the group's
// size of the group its first packet chooses: flows take the real
// endpoints without replacement, as they take shapes, so two flows share
// hosts and server port only as often as real flows do (a model left to
// choose favours a few pairs, and flows of one 5-tuple read back as one).
func hostDeal(o *Options) map[hostGroup][]int {
	if o.hostGroups == nil && len(o.Hosts) > 0 {
		rng := rand.New(rand.NewPCG(o.Seed, 1<<61))
		o.hostGroups = map[hostGroup][]int{}
		for _, i := range rng.Perm(len(o.Hosts)) {
			g := groupOf(o.Hosts[i].V6, o.Hosts[i].Proto)
			o.hostGroups[g] = append(o.hostGroups[g], i)
		}
	}
	return o.hostGroups
}

// hostByte narrows body byte len(r.body) of a flow's first packet to the
// endpoint pool (Options.Hosts) when it is an address byte or a
// destination port byte: the byte of the endpoint dealt to the flow in
// the group of its IP version and protocol (hostDeal), or, when that one
// does not continue what the packet has so far (a prompt or the model set
// earlier bytes), the bytes that continue the key of any endpoint of the
// group that does. ok is false elsewhere, and when no endpoint matches
// (the other rules then apply as without a pool).
func (r *rules) hostByte() (set [256]bool, ok bool) {
	sh := r.sh
	if len(r.hosts) == 0 || r.packets != 1 || !r.structured || r.phase != pBody || !sh.inHdr {
		return set, false
	}
	v6 := sh.etype == 0x86dd
	addrLen := 8
	if v6 {
		addrLen = 32
	}
	var start, k int // body index of the first address byte; key index of the next byte
	switch sh.f {
	case fIPAddr0, fIPAddr:
		start, k = len(r.body)-sh.at, sh.at
	case fPort:
		if sh.at < 2 {
			return set, false // the client's port
		}
		start, k = sh.portsAt-addrLen, addrLen+sh.at-2
	default:
		return set, false
	}
	protoAt := start - 1 // IPv4: protocol, then the addresses
	if v6 {
		protoAt = start - 2 // IPv6: next header, hop limit, addresses
	}
	if start < 0 || protoAt < 0 || slices.Contains(r.mask[start:len(r.body)], true) {
		return set, false
	}
	proto := r.body[protoAt]
	if g := r.hostGroups[groupOf(v6, proto)]; len(g) > 0 {
		if e := &r.hosts[g[r.flowIdx%len(g)]]; e.addrLen() == addrLen && e.matches(r.body[start:], k) {
			set[e.Key[k]] = true
			return set, true
		}
	}
	for i := range r.hosts {
		e := &r.hosts[i]
		if e.V6 != v6 || e.Proto != proto || e.addrLen() != addrLen || !e.matches(r.body[start:], k) {
			continue
		}
		set[e.Key[k]], ok = true, true
	}
	return set, ok
}

// matches reports whether the key's first k bytes are the packet's bytes
// so far (got: from the first address byte on; the client port's two
// bytes sit between the addresses and the server port).
func (e *Endpoint) matches(got []byte, k int) bool {
	al := e.addrLen()
	for i := range k {
		j := i
		if i >= al {
			j = i + 2
		}
		if got[j] != e.Key[i] {
			return false
		}
	}
	return true
}

// hostsMask reports whether the pool sets the next body byte, so that
// <mask> is not allowed there (constrain).
func (r *rules) hostsMask() bool {
	_, ok := r.hostByte()
	return ok
}

// hostFamilies narrows the first packet's EtherType (fEtype0) and
// transport protocol (fProto) to the pool's, where it has any that the
// rules allow.
func (r *rules) hostFamilies(allowed *[256]bool) {
	if len(r.hosts) == 0 || r.packets != 1 {
		return
	}
	var keep [256]bool
	for i := range r.hosts {
		e := &r.hosts[i]
		switch r.sh.f {
		case fEtype0:
			if r.tmpl != nil && e.Proto != r.tmpl.Proto {
				continue // the template sets the protocol
			}
			keep[0x08] = keep[0x08] || !e.V6
			keep[0x86] = keep[0x86] || e.V6
		case fProto:
			if e.V6 == (r.sh.etype == 0x86dd) {
				keep[e.Proto] = true
			}
		}
	}
	some := false
	for v := range 256 {
		some = some || allowed[v] && keep[v]
	}
	if some {
		for v := range 256 {
			allowed[v] = allowed[v] && keep[v]
		}
	}
}

// oneWayFlow reports whether the first packet's addresses (body: a
// generated first packet, addresses in its body) leave no way back: a
// source the other side cannot answer (IPv4 0/8, an unspecified IPv6
// address) or a destination that cannot be a source (IPv4 multicast and
// broadcast, 224 and up; IPv6 multicast). A DHCP client's 0.0.0.0 to
// 255.255.255.255 is such a flow: its answers come from the server's own
// address, another flow in a capture.
func oneWayFlow(body []byte, etype uint16) bool {
	switch {
	case etype == 0x0800 && len(body) >= 30:
		return body[22] == 0 || body[26] >= 224
	case etype == 0x86dd && len(body) >= 52:
		unspecified := true
		for _, b := range body[20:36] {
			unspecified = unspecified && b == 0
		}
		return unspecified || body[36] == 0xff
	}
	return false
}
