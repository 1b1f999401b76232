package sample

import (
	"github.com/trafficgpt/trafficgpt/internal/codec"
)

// Limits of generated packets (see doc.go, "Constraints").
const (
	// MaxFrame bounds a generated Ethernet frame (virtual length, with the
	// fields the decoder fills in): 1500 bytes of IP plus the link header.
	MaxFrame = 1514
	// MaxTimeBits bounds an inter-arrival time: < 2^32 microseconds (71 min).
	MaxTimeBits = 32
	// maxBodyTokens bounds a packet's body for the grammar.
	maxBodyTokens = MaxFrame
)

// field is what the next body byte of a packet is, as the rules see it.
type field uint8

const (
	fPayload  field = iota // transport payload: any byte
	fMAC0                  // first byte of a MAC: unicast (even; both serve as a source) or <mask>
	fMAC                   // other MAC bytes: any byte or <mask>
	fEtype0                // EtherType high byte
	fEtype1                // EtherType low byte
	fV4VIHL                // IPv4 version/IHL: 0x45
	fFree                  // any byte (TOS, IPv6 flow label, TCP seq/ack/window/urgent)
	fIPID                  // IPv4 identification: any byte or <mask>
	fFrag0                 // IPv4 flags/fragment offset high byte: 0x00 or 0x40 (DF)
	fFrag1                 // fragment offset low byte: 0
	fTTL                   // TTL / hop limit: 1..255 or <mask>
	fProto                 // IPv4 protocol / IPv6 next header: TCP or UDP
	fIPAddr                // IP addresses: any byte or <mask>
	fIPAddr0               // first byte of an IP address: unicast (both serve as a source) or <mask>
	fV6VTC                 // IPv6 version/traffic class: 0x60..0x6f
	fPort                  // TCP/UDP ports: any byte or <mask>
	fTCPDoff               // TCP data offset: 5..15 words, reserved bits 0
	fTCPOpt                // TCP options: a small option grammar
	fSeq                   // TCP sequence number: the direction's next, once it has sent
	fAck                   // TCP acknowledgment number: the other direction's next, once it has sent
	fTCPFlags              // TCP flags: ACK once the other direction has sent; SYN only first
	fUrg                   // TCP urgent pointer: zero without URG
)

// masks reports whether a field may be <mask> (the fields codec views mask).
func (f field) masks() bool {
	switch f {
	case fMAC0, fMAC, fIPID, fTTL, fIPAddr, fIPAddr0, fPort:
		return true
	}
	return false
}

// seg is one header field in packet order: n bytes, left out of the body
// when omit (the decoder fills them in).
type seg struct {
	n    int
	f    field
	omit bool
}

// shape is where the next body byte of a packet falls.
type shape struct {
	f       field
	virt    int  // its offset in the decoded packet
	inHdr   bool // still inside the link/IP/transport headers
	optOff  int  // body index of the first TCP option byte (fTCPOpt)
	optLen  int  // bytes of TCP options
	etype   uint16
	proto   uint8
	hdrDone bool // the transport header is complete (the packet may end)
	portsAt int  // body index of the TCP/UDP ports (-1: not in the body)
	tcpAt   int  // body index of the TCP sequence number (-1: not reached)
	at      int  // the byte's index within its field
	payOff  int  // body index of the transport payload (when hdrDone)
}

// classify finds the field of body byte len(body) of an Ethernet packet
// carrying IPv4 or IPv6 and TCP or UDP, with the codec's omissions: lengths
// and checksums always (generated packets carry no <f:len>/<f:csum>),
// addresses and ports once the flow knows them (known). It mirrors the
// codec's walker for the header shapes the rules allow.
func classify(body []byte, known bool) shape {
	sh := shape{portsAt: -1, tcpAt: -1}
	bi, vo := 0, 0
	// step consumes segments; it returns true when the next byte is in s.
	step := func(s seg) bool {
		if s.omit {
			vo += s.n
			return false
		}
		if bi+s.n > len(body) {
			sh.f, sh.virt, sh.at = s.f, vo+len(body)-bi, len(body)-bi
			if s.f == fMAC && (len(body)-bi == 0 || len(body)-bi == 6) {
				sh.f = fMAC0
			}
			if s.f == fIPAddr && (len(body)-bi == 0 || len(body)-bi == s.n/2) {
				sh.f = fIPAddr0
			}
			if s.f == fEtype0 && len(body)-bi == 1 {
				sh.f = fEtype1
			}
			return true
		}
		bi += s.n
		vo += s.n
		return false
	}
	sh.inHdr = true
	if step(seg{12, fMAC, known}) {
		return sh
	}
	if step(seg{2, fEtype0, false}) {
		return sh
	}
	sh.etype = uint16(body[bi-2])<<8 | uint16(body[bi-1])
	var proto uint8
	switch sh.etype {
	case 0x0800:
		for _, s := range []seg{{1, fV4VIHL, false}, {1, fFree, false}, {2, 0, true}, {2, fIPID, false},
			{1, fFrag0, false}, {1, fFrag1, false}, {1, fTTL, false}} {
			if step(s) {
				return sh
			}
		}
		if step(seg{1, fProto, false}) {
			return sh
		}
		proto = body[bi-1]
		for _, s := range []seg{{2, 0, true}, {8, fIPAddr, known}} {
			if step(s) {
				return sh
			}
		}
	case 0x86dd:
		for _, s := range []seg{{1, fV6VTC, false}, {3, fFree, false}, {2, 0, true}} {
			if step(s) {
				return sh
			}
		}
		if step(seg{1, fProto, false}) {
			return sh
		}
		proto = body[bi-1]
		for _, s := range []seg{{1, fTTL, false}, {32, fIPAddr, known}} {
			if step(s) {
				return sh
			}
		}
	default:
		// Not reachable under the rules (the EtherType is constrained);
		// a prompt's packet: no further structure.
		sh.inHdr, sh.hdrDone, sh.f, sh.virt = false, true, fPayload, vo+len(body)-bi
		return sh
	}
	sh.proto = proto
	if !known {
		sh.portsAt = bi
	}
	switch proto {
	case 6:
		if step(seg{4, fPort, known}) {
			return sh
		}
		sh.tcpAt = bi
		for _, s := range []seg{{4, fSeq, false}, {4, fAck, false}} {
			if step(s) {
				return sh
			}
		}
		if step(seg{1, fTCPDoff, false}) {
			return sh
		}
		doff := int(body[bi-1]>>4) * 4
		for _, s := range []seg{{1, fTCPFlags, false}, {2, fFree, false}, {2, 0, true}, {2, fUrg, false}} {
			if step(s) {
				return sh
			}
		}
		sh.optOff, sh.optLen = bi, max(doff-20, 0)
		if step(seg{sh.optLen, fTCPOpt, false}) {
			return sh
		}
	case 17:
		for _, s := range []seg{{4, fPort, known}, {2, 0, true}, {2, 0, true}} {
			if step(s) {
				return sh
			}
		}
	}
	sh.inHdr, sh.hdrDone, sh.f, sh.virt, sh.payOff = false, true, fPayload, vo+len(body)-bi, bi
	return sh
}

// tcpOptionBytes narrows the next TCP option byte given the option bytes so
// far (opts) and the option space (total): kinds EOL, NOP, MSS, window
// scale (shift <= 14), SACK-permitted, SACK (1-4 blocks) and timestamps,
// each with its fixed length and fitting the space; after EOL only zeros.
func tcpOptionBytes(opts []byte, total int, syn bool, allowed *[256]bool) {
	only := func(vs ...int) {
		*allowed = [256]bool{}
		for _, v := range vs {
			allowed[v] = true
		}
	}
	i := 0
	for i < len(opts) {
		kind := opts[i]
		switch kind {
		case 0:
			only(0)
			return
		case 1:
			i++
			continue
		}
		if i+1 >= len(opts) { // the length byte is next
			room := total - i
			switch kind {
			case 2:
				only(4)
			case 3:
				only(3)
			case 4:
				only(2)
			case 8:
				only(10)
			case 5:
				*allowed = [256]bool{}
				for _, l := range []int{10, 18, 26, 34} {
					allowed[l] = l <= room
				}
			}
			return
		}
		l := int(opts[i+1])
		if i+l > len(opts) { // inside the option's value: any byte
			if kind == 3 { // window scale: shift count
				*allowed = [256]bool{}
				for v := 0; v <= 14; v++ {
					allowed[v] = true
				}
			}
			return
		}
		i += l
	}
	room := total - len(opts)
	*allowed = [256]bool{}
	allowed[0], allowed[1] = true, true
	for _, k := range []struct{ kind, n int }{{2, 4}, {3, 3}, {4, 2}, {5, 10}, {8, 10}} {
		// MSS, window scale and SACK-permitted belong to SYNs.
		allowed[k.kind] = k.n <= room && (syn || k.kind > 4)
	}
}

// rules follows one flow next to its codec.Grammar and adds the
// generation constraints of doc.go on top of the grammar's.
type rules struct {
	g *codec.Grammar
	// structured: an Ethernet flow whose first packet is IPv4 (IHL 5) or
	// IPv6 without extension headers, carrying TCP or UDP; the header rules
	// apply. Generated flows are structured by construction; a prompt flow
	// that is not gets only the token-level rules.
	structured bool
	etype      uint16 // the flow's, from its first packet (0: not yet)
	proto      uint8
	packets    int // packets started
	// phase of the current token within the flow.
	phase phase
	need  int // number bytes still due
	body  []byte
	mask  []bool // body bytes that are <mask>
	sh    shape  // classify(body) for the next byte, valid in pBody
	hdr   []codec.Token
	// promptEnd: the prompt ended inside a packet body; the next token
	// must end that packet (the prompt's packets are whole).
	promptEnd bool
	// maxTokens > 0: once the flow has this many tokens, it ends as soon as
	// the current packet may end.
	maxTokens, n int
	// app is the payload grammar of the flow's ports (nil: payloads are
	// free), chosen once the first packet's ports are known.
	app        *appProtocol
	appChecked bool
	appState   [2]int // per direction (c2s, s2c)
	free       bool   // no payload grammars (Options.FreePayloads)
	s2c        bool   // the current packet's direction
	// tcpNext is each direction's next sequence number once it has sent a
	// packet (tcpSeen): the sequence and acknowledgment numbers follow, as
	// in a capture without loss.
	tcpNext [2]uint32
	tcpSeen [2]bool
	// TCP shape (doc.go, "TCP shape"): handshake makes packets 1-3 SYN,
	// SYN-ACK, ACK without payload; close makes the flow end only once
	// closed (FIN both ways and the last FIN acknowledged, or RST),
	// closing it in time for maxPackets and maxTokens.
	handshake, close bool
	maxPackets       int
	fin              [2]bool // direction sent a FIN (completed packets)
	lastFin          int     // direction of the second FIN
	rst, closed      bool
	closing          bool // the current packet was forced to close the flow
	// tmpl, when set, is the flow's shape template (Options.Shapes):
	// directions, payload lengths and gaps the flow follows where the
	// other rules allow (shapes.go).
	tmpl *FlowShape
	// hosts, when set, is the endpoint pool the first packet's addresses
	// and server port come from (Options.Hosts, hosts.go).
	hosts []Endpoint
	// hostGroups deal the pool to flows by IP version and protocol, and
	// flowIdx is the flow's index, its place in each group's deal.
	hostGroups map[hostGroup][]int
	flowIdx    int
	// oneWay: the first packet's addresses allow no answer (oneWayFlow):
	// no server-to-client packets.
	oneWay bool
	// grammarOnly: no rule but the time bounds and maxTokens
	// (Options.GrammarOnly).
	grammarOnly bool
}

type phase uint8

const (
	pHeader      phase = iota // flow header
	pPacketOrEnd              // a packet or <end> is next
	pFlags                    // after <c2s>/<s2c>: flags or the time
	pTimeMag                  // after <neg>
	pTimeBytes                // time number bytes
	pBody                     // body (or <trunc>)
	pTruncMag                 // after <trunc>
	pTruncBytes
	pDone
)

func newRules(g *codec.Grammar) *rules {
	r := &rules{g: g, structured: true}
	g.Body = r.bodyHook
	return r
}

// bodyHook narrows body byte values (codec.Grammar.Body). It reads the
// body from the rules' own copy: the grammar's body argument also holds the
// time's number bytes when there are any.
func (r *rules) bodyHook(_, _ codec.Token, _ []byte, allowed *[256]bool) {
	if !r.structured || r.phase != pBody || r.grammarOnly {
		return
	}
	body, sh := r.body, r.sh
	only := func(vs ...int) {
		*allowed = [256]bool{}
		for _, v := range vs {
			allowed[v] = true
		}
	}
	if sh.virt >= MaxFrame {
		*allowed = [256]bool{}
		return
	}
	if set, ok := r.hostByte(); ok {
		// The endpoint pool stands for the address rules: real hosts
		// (a DHCP client's 0.0.0.0, a broadcast) are addresses too.
		for v := range 256 {
			allowed[v] = allowed[v] && set[v]
		}
		return
	}
	switch sh.f {
	case fMAC0:
		for v := 1; v < 256; v += 2 {
			allowed[v] = false
		}
	case fEtype0:
		if r.etype != 0 {
			only(int(r.etype >> 8))
		} else {
			only(0x08, 0x86)
			r.hostFamilies(allowed)
		}
	case fEtype1:
		if body[len(body)-1] == 0x08 {
			only(0x00)
		} else {
			only(0xdd)
		}
	case fV4VIHL:
		only(0x45)
	case fFrag0:
		only(0x00, 0x40)
	case fFrag1:
		only(0)
	case fTTL:
		allowed[0] = false
	case fIPAddr0:
		if sh.etype == 0x0800 {
			// Not 0/8 (zero is what <mask> gives), loopback 127/8, or
			// multicast and reserved (224 and up).
			allowed[0], allowed[127] = false, false
			for v := 224; v < 256; v++ {
				allowed[v] = false
			}
		} else {
			allowed[0xff] = false // multicast
		}
	case fProto:
		if r.proto != 0 {
			only(int(r.proto))
		} else if r.tmpl != nil && (r.tmpl.Proto == 6 || r.tmpl.Proto == 17) {
			only(int(r.tmpl.Proto))
		} else {
			only(6, 17)
			r.hostFamilies(allowed)
		}
	case fV6VTC:
		*allowed = [256]bool{}
		for v := 0x60; v <= 0x6f; v++ {
			allowed[v] = true
		}
	case fTCPDoff:
		*allowed = [256]bool{}
		for w := 5; w <= 15; w++ {
			allowed[w<<4] = true
		}
	case fTCPOpt:
		tcpOptionBytes(body[sh.optOff:], sh.optLen, body[sh.tcpAt+9]&0x02 != 0, allowed)
	case fSeq, fAck:
		if sh.f == fAck && r.handshake && r.packets == 1 {
			only(0) // the opening SYN acknowledges nothing
			break
		}
		d := r.dir()
		if sh.f == fAck {
			d = 1 - d
		}
		if r.tcpSeen[d] {
			only(int(byte(r.tcpNext[d] >> (24 - 8*sh.at))))
		}
	case fTCPFlags:
		d := r.dir()
		ack := body[sh.tcpAt+4 : sh.tcpAt+8]
		acked := ack[0]|ack[1]|ack[2]|ack[3] != 0
		for v := range 256 {
			if (r.tcpSeen[1-d] || acked) && v&0x10 == 0 || r.tcpSeen[d] && v&0x02 != 0 {
				allowed[v] = false
			}
		}
		if r.tmpl != nil && r.close && r.maxPackets-r.packets > 2 {
			// A shape template sets the flow's length: no FIN or RST
			// before its last three packets, where the close comes.
			for v := range 256 {
				if v&0x05 != 0 {
					allowed[v] = false
				}
			}
		}
		if fl, ok := r.shapeFlags(); ok {
			keep := allowed[fl]
			*allowed = [256]bool{}
			allowed[fl] = keep
		}
	case fUrg:
		if body[sh.tcpAt+9]&0x20 == 0 {
			only(0)
		}
	case fPayload:
		if sh.proto == 6 && (body[sh.tcpAt+9]&0x04 != 0 || r.shapeEmpty()) {
			// tshark reads a RST's payload as a reset cause (text); RSTs
			// carry none.
			*allowed = [256]bool{}
		} else if r.app != nil && sh.hdrDone {
			walkPayload(r.app.grammar, body[sh.payOff:], r.payloadLimit(), r.dirState(), allowed)
		}
	}
}

// dir is the current packet's direction: 0 client to server, 1 back.
func (r *rules) dir() int {
	if r.s2c {
		return 1
	}
	return 0
}

// dirState is the application state of the current packet's direction.
func (r *rules) dirState() int { return r.appState[r.dir()] }

// payloadLimit is the most payload bytes the current packet may have:
// what fits in MaxFrame, and no more than a shape template's length (so a
// payload grammar plans its messages to fit the template's length).
func (r *rules) payloadLimit() int {
	got := len(r.body) - r.sh.payOff
	lim := got + MaxFrame - r.sh.virt
	if p := r.tmplPacket(r.packets); p != nil {
		lim = min(lim, max(p.Payload, got))
	}
	return lim
}

// constrain narrows the grammar's allowed tokens (already in allowed) by
// the token-level rules: no flags (<raw>, <f:addr>, <f:len>, <f:csum>), no
// negative times, the first packet at time 0, times below 2^MaxTimeBits,
// <mask> only in maskable header fields, no packet end before the
// transport header is complete, and <end> as soon as it may come once the
// flow has maxTokens tokens.
func (r *rules) constrain(allowed []bool) {
	if r.grammarOnly {
		r.constrainGrammarOnly(allowed)
		return
	}
	switch r.phase {
	case pFlags, pTimeMag:
		for _, t := range []codec.Token{codec.RAW, codec.FADDR, codec.FLEN, codec.FCSUM, codec.NEG} {
			allowed[t] = false
		}
		for k := MaxTimeBits + 1; k <= 64; k++ {
			allowed[codec.Mag0+codec.Token(k)] = false
		}
		if r.packets == 1 {
			for k := 1; k <= 64; k++ {
				allowed[codec.Mag0+codec.Token(k)] = false
			}
		}
	case pBody:
		if r.promptEnd {
			for t := range allowed {
				allowed[t] = allowed[t] && (t == int(codec.PKTC2S) || t == int(codec.PKTS2C) || t == int(codec.END))
			}
			return
		}
		allowed[codec.TRUNC] = false
		allowed[codec.MASK] = false
		if !r.structured {
			return
		}
		sh := r.sh
		if sh.f.masks() && sh.inHdr && sh.virt < MaxFrame && !r.hostsMask() {
			allowed[codec.MASK] = true
		}
		if !sh.hdrDone || r.app != nil && len(r.body) > sh.payOff &&
			!walkPayload(r.app.grammar, r.body[sh.payOff:], r.payloadLimit(), r.dirState(), nil) {
			allowed[codec.PKTC2S], allowed[codec.PKTS2C], allowed[codec.END] = false, false, false
		} else {
			r.boundary(allowed)
		}
		r.tmplBody(allowed)
	case pPacketOrEnd:
		if r.packets == 0 && (r.handshake || r.close) {
			// The first packet is client to server by definition.
			allowed[codec.PKTS2C], allowed[codec.END] = false, false
		}
	}
	if (r.oneWay || r.packets == 1 && r.structured && r.phase == pBody && r.sh.hdrDone && oneWayFlow(r.body, r.sh.etype)) &&
		allowed[codec.PKTS2C] && (allowed[codec.PKTC2S] || allowed[codec.END]) {
		allowed[codec.PKTS2C] = false
	}
	if r.inTime() {
		r.tmplTime(allowed)
	}
	if r.phase == pBody && r.maxTokens > 0 && r.n >= r.maxTokens {
		if r.close && r.tcpShaped() && (allowed[codec.PKTC2S] || allowed[codec.PKTS2C] || allowed[codec.END]) {
			// The packet ends now; the flow closes (boundary).
			for t := range allowed {
				allowed[t] = allowed[t] && (t == int(codec.PKTC2S) || t == int(codec.PKTS2C) || t == int(codec.END))
			}
		} else if allowed[codec.END] {
			clear(allowed)
			allowed[codec.END] = true
		}
	}
}

// constrainGrammarOnly is constrain for Options.GrammarOnly: gaps
// non-negative and below 2^MaxTimeBits us (the Writer's timestamps), and
// <end> as soon as it may come once the flow has maxTokens tokens.
func (r *rules) constrainGrammarOnly(allowed []bool) {
	if r.phase == pFlags || r.phase == pTimeMag {
		allowed[codec.NEG] = false
		for k := MaxTimeBits + 1; k <= 64; k++ {
			allowed[codec.Mag0+codec.Token(k)] = false
		}
	}
	if r.phase == pBody && r.maxTokens > 0 && r.n >= r.maxTokens && allowed[codec.END] {
		clear(allowed)
		allowed[codec.END] = true
	}
}

// inTime reports whether the next token is part of a packet's time (its
// magnitude or number bytes).
func (r *rules) inTime() bool {
	return r.phase == pFlags || r.phase == pTimeMag || r.phase == pTimeBytes
}

// tcpShaped reports whether the TCP shape rules apply to the current
// packet's flow (doc.go, "TCP shape").
func (r *rules) tcpShaped() bool {
	return (r.handshake || r.close) && r.structured && r.phase == pBody && r.sh.proto == 6
}

// tcpAfter is the flow's TCP closing state once the current packet is
// counted (as far as its flags are known): FINs per direction, the
// direction of the second FIN, a RST seen, closed (RST, or the second FIN
// acknowledged by the other direction).
func (r *rules) tcpAfter() (fin [2]bool, lastFin int, rst, closed bool) {
	fin, lastFin, rst, closed = r.fin, r.lastFin, r.rst, r.closed
	sh := r.sh
	if sh.tcpAt < 0 || len(r.body) <= sh.tcpAt+9 {
		return
	}
	fl, d := r.body[sh.tcpAt+9], r.dir()
	if fl&0x04 != 0 {
		rst, closed = true, true
	}
	if fin[0] && fin[1] && fl&0x10 != 0 && d == 1-lastFin {
		closed = true
	}
	if fl&0x01 != 0 && !fin[d] {
		fin[d] = true
		if fin[1-d] {
			lastFin = d
		}
	}
	return
}

// closeNeed is the number of packets that still close a TCP flow in the
// given state: FIN, FIN, ACK; fewer once FINs were sent.
func closeNeed(fin [2]bool, closed bool) int {
	switch {
	case closed:
		return 0
	case fin[0] && fin[1]:
		return 1
	case fin[0] || fin[1]:
		return 2
	}
	return 3
}

// mustClose reports whether the packet after the current one has to start
// closing the flow: the packets left under maxPackets are just enough, or
// the flow has maxTokens tokens.
func (r *rules) mustClose(fin [2]bool, closed bool) bool {
	need := closeNeed(fin, closed)
	if need == 0 {
		return false
	}
	return r.maxPackets > 0 && r.maxPackets-r.packets <= need || r.maxTokens > 0 && r.n >= r.maxTokens
}

// boundary narrows what may follow a finished TCP packet (packet tokens
// and <end>) by the shape rules: the handshake's directions, no <end>
// before the flow is closed (unless the packets left cannot close it), and
// no packet after it is closed; the last ACK comes from the direction that
// received the second FIN, and a forced close takes turns.
func (r *rules) boundary(allowed []bool) {
	if !r.tcpShaped() {
		return
	}
	fin, lastFin, _, closed := r.tcpAfter()
	next := r.packets + 1
	set := func(c2s, s2c, end bool) {
		allowed[codec.PKTC2S] = allowed[codec.PKTC2S] && c2s
		allowed[codec.PKTS2C] = allowed[codec.PKTS2C] && s2c
		allowed[codec.END] = allowed[codec.END] && end
	}
	if r.handshake && (next == 2 || next == 3) && (r.maxPackets == 0 || next <= r.maxPackets) {
		set(next == 3, next == 2, false)
		return
	}
	if closed {
		set(false, false, true)
		return
	}
	if !r.close {
		return
	}
	if r.maxPackets > 0 && r.maxPackets-r.packets < closeNeed(fin, closed) {
		return // too few packets left to close: <end> stays allowed
	}
	switch {
	case fin[0] && fin[1]:
		set(lastFin == 1, lastFin == 0, false)
	case (fin[0] || fin[1]) && r.mustClose(fin, closed):
		set(fin[1], fin[0], false)
	default:
		set(true, true, false)
	}
}

// shapeFlags is the TCP flags byte the shape rules force on the current
// packet, if any: SYN, SYN-ACK, ACK for the handshake; FIN-ACK for a packet
// that must close; ACK for the last one and for a direction that sent its
// FIN.
func (r *rules) shapeFlags() (byte, bool) {
	d := r.dir()
	switch {
	case r.handshake && r.packets <= 3:
		return [4]byte{0, 0x02, 0x12, 0x10}[r.packets], true
	case !r.close:
		return 0, false
	case r.fin[0] && r.fin[1], r.fin[d]:
		return 0x10, true
	case r.closing:
		return 0x11, true
	}
	return 0, false
}

// shapeEmpty reports whether the shape rules leave the current TCP packet
// without payload (the handshake, and the closing packets that shapeFlags
// forces).
func (r *rules) shapeEmpty() bool {
	_, forced := r.shapeFlags()
	return forced
}

// push follows token t (already accepted by the grammar).
func (r *rules) push(t codec.Token) {
	r.promptEnd = false
	r.n++
	switch r.phase {
	case pHeader:
		r.hdr = append(r.hdr, t)
		if h, n, err := codec.ParseHeader(r.hdr); err == nil && n == len(r.hdr) {
			r.phase = pPacketOrEnd
			r.structured = h.LinkType == 1
		}
	case pPacketOrEnd:
		r.startPacket(t)
	case pFlags, pTimeMag:
		if t == codec.NEG {
			r.phase = pTimeMag
			return
		}
		if k, ok := codec.IsMag(t); ok {
			r.need = numberBytes(k)
			r.phase = pTimeBytes
			if r.need == 0 {
				r.enterBody()
			}
		}
	case pTimeBytes:
		if r.need--; r.need == 0 {
			r.enterBody()
		}
	case pBody:
		switch {
		case t == codec.TRUNC:
			r.phase = pTruncMag
		case codec.IsByte(t) || t == codec.MASK:
			r.body = append(r.body, byte(t))
			r.mask = append(r.mask, t == codec.MASK)
			r.classify()
		default:
			r.endPacket()
			r.startPacket(t)
		}
	case pTruncMag:
		if k, ok := codec.IsMag(t); ok {
			r.need = numberBytes(k)
			r.phase = pTruncBytes
			if r.need == 0 {
				r.phase = pBody
			}
		}
	case pTruncBytes:
		if r.need--; r.need == 0 {
			r.phase = pBody
		}
	}
}

func (r *rules) startPacket(t codec.Token) {
	switch t {
	case codec.PKTC2S, codec.PKTS2C:
		r.closing = r.close && r.proto == 6 && r.mustClose(r.fin, r.closed)
		r.packets++
		r.s2c = t == codec.PKTS2C
		r.phase = pFlags
	default:
		r.phase = pDone
	}
}

func (r *rules) enterBody() {
	r.phase = pBody
	r.body, r.mask = r.body[:0], r.mask[:0]
	r.classify()
}

func (r *rules) classify() {
	if !r.structured {
		return
	}
	r.sh = classify(r.body, r.packets > 1)
	if sh := r.sh; !r.appChecked && sh.hdrDone && sh.portsAt >= 0 {
		r.appChecked = true
		port := func(i int) uint16 {
			if r.mask[i] || r.mask[i+1] {
				return 0
			}
			return uint16(r.body[i])<<8 | uint16(r.body[i+1])
		}
		r.app = appGrammar(sh.proto, port(sh.portsAt), port(sh.portsAt+2))
	}
	// tshark also finds TLS on any TCP port by its record header; so does
	// the grammar, from the first record header on (the bytes so far are a
	// TLS prefix).
	if sh := r.sh; r.app == nil && !r.free && sh.hdrDone && sh.proto == 6 && len(r.body)-sh.payOff == 3 {
		if p := r.body[sh.payOff:]; p[0] == 22 && p[1] == 3 && p[2] >= 1 && p[2] <= 3 {
			tls := appProtocols[6<<16|443]
			r.app = &tls
		}
	}
}

// endPacket learns the flow's constants from its first packet, and decides
// for a prompt's first packet whether the header rules can apply.
func (r *rules) endPacket() {
	d := r.dir()
	if r.structured && r.sh.hdrDone && r.sh.proto == 6 {
		r.fin, r.lastFin, r.rst, r.closed = r.tcpAfter()
	}
	if r.app != nil && r.app.next != nil && r.sh.hdrDone && len(r.body) > r.sh.payOff {
		r.appState[d] = r.app.next(r.appState[d], r.body[r.sh.payOff:])
	}
	if sh := r.sh; r.structured && sh.hdrDone && sh.proto == 6 && sh.tcpAt >= 0 {
		b := r.body[sh.tcpAt:]
		next := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		next += uint32(len(r.body) - sh.payOff)
		if b[9]&0x02 != 0 { // SYN
			next++
		}
		if b[9]&0x01 != 0 { // FIN
			next++
		}
		r.tcpNext[d], r.tcpSeen[d] = next, true
	}
	if r.packets != 1 || !r.structured {
		return
	}
	sh := r.sh
	ok := sh.hdrDone && (sh.etype == 0x0800 || sh.etype == 0x86dd) && (sh.proto == 6 || sh.proto == 17) &&
		len(r.body) > 14 && !r.mask[12] && !r.mask[13]
	if ok && sh.etype == 0x0800 {
		ok = r.body[14] == 0x45
	}
	if !ok {
		r.structured = false
		return
	}
	r.etype, r.proto = sh.etype, sh.proto
	r.oneWay = oneWayFlow(r.body, sh.etype)
}

// numberBytes is codec's count of byte tokens after a magnitude token.
func numberBytes(k int) int {
	if k <= 1 {
		return 0
	}
	return (k - 1 + 7) / 8
}
