package codec

import "fmt"

// Grammar follows one flow's tokens as they are generated and says which
// tokens may come next, so that constrained sampling only produces flows
// that decode (the codec's grammar as a state machine). Derived fields
// (lengths, checksums) are left out by the grammar itself and filled in by
// the decoder, so they are correct by construction.
type Grammar struct {
	state   gstate
	need    int // bytes still expected (number bytes, link/res bytes)
	maxBody int
	pkt     []Token // tokens of the current packet
	dec     FlowDecoder
	hdr     []Token
	decodes bool // the current packet decodes at its current length
	packets int
	bodyAt  int // index in pkt where the current packet's body starts
	// MaxPackets > 0 forces <end> after that many packets.
	MaxPackets int
	// Body, when set, is consulted for every body byte the grammar would
	// allow: it gets the packet's body bytes so far (flags, direction) and
	// may narrow the allowed byte values (e.g. to keep header fields sane).
	Body func(dir Token, flags Token, body []byte, allowed *[256]bool)
}

type gstate uint8

const (
	gFlow gstate = iota
	gLabelOrLink
	gLinkBytes
	gRes
	gResByte
	gPacketOrEnd
	gFlags
	gTimeMag
	gTimeBytes
	gTruncOrBody
	gTruncMag
	gTruncBytes
	gBody
	gDone
)

// NewGrammar starts a flow. maxBody bounds a packet's body tokens
// (e.g. 1514 for Ethernet).
func NewGrammar(maxBody int) *Grammar {
	return &Grammar{maxBody: maxBody}
}

// Done reports whether the flow has ended.
func (g *Grammar) Done() bool { return g.state == gDone }

// Packets is the number of packets completed so far.
func (g *Grammar) Packets() int { return g.packets }

// Allowed fills allowed[t] for every token t (len(allowed) >= VocabSize).
func (g *Grammar) Allowed(allowed []bool) {
	clear(allowed[:VocabSize])
	set := func(ts ...Token) {
		for _, t := range ts {
			allowed[t] = true
		}
	}
	bytes := func() {
		for i := 0; i < 256; i++ {
			allowed[i] = true
		}
	}
	switch g.state {
	case gFlow:
		set(FLOW)
	case gLabelOrLink:
		for i := 0; i < MaxLabels; i++ {
			allowed[Label0+Token(i)] = len(g.hdr) == 1
		}
		set(LinkEth, LinkRaw, LinkSLL, LinkSLL2, LinkNull, LinkLoop, LinkOther)
	case gLinkBytes, gResByte, gTimeBytes, gTruncBytes:
		bytes()
	case gRes:
		set(ResMicro, ResNano, ResOther)
	case gPacketOrEnd:
		if g.MaxPackets > 0 && g.packets >= g.MaxPackets {
			set(END)
			return
		}
		set(PKTC2S, PKTS2C, END)
		if g.packets == 0 {
			allowed[END] = false
			allowed[PKTS2C] = false // the client speaks first, by definition
		}
	case gFlags:
		// Flags in order: <raw> alone, or <f:addr> <f:len> <f:csum>. A
		// generated flow's first packet needs no <f:addr>; checksums and
		// lengths are best derived, so only <f:addr> is offered later.
		f := g.flags()
		if f == 0 {
			set(NEG)
			for k := 0; k <= 40; k++ {
				allowed[Mag0+Token(k)] = true
			}
			if g.packets > 0 {
				set(FADDR)
			}
			return
		}
		set(NEG)
		for k := 0; k <= 40; k++ {
			allowed[Mag0+Token(k)] = true
		}
	case gTimeMag:
		for k := 0; k <= 40; k++ {
			allowed[Mag0+Token(k)] = true
		}
	case gTruncOrBody:
		g.bodyAllowed(allowed)
	case gTruncMag:
		for k := 1; k <= 32; k++ {
			allowed[Mag0+Token(k)] = true
		}
	case gBody:
		g.bodyAllowed(allowed)
	}
}

func (g *Grammar) flags() Token {
	var f Token
	for _, t := range g.pkt[1:] {
		switch t {
		case RAW:
			f |= flagRaw
		case FADDR:
			f |= flagAddr
		case FLEN:
			f |= flagLen
		case FCSUM:
			f |= flagCsum
		}
	}
	return f
}

func (g *Grammar) bodyLen() int {
	if g.state != gBody {
		return 0
	}
	return len(g.pkt) - g.bodyAt
}

func (g *Grammar) bodyAllowed(allowed []bool) {
	n := g.bodyLen()
	if n < g.maxBody {
		var b [256]bool
		for i := range b {
			b[i] = true
		}
		if g.Body != nil {
			body := make([]byte, 0, n)
			for _, t := range g.pkt[len(g.pkt)-n:] {
				body = append(body, byte(t))
			}
			g.Body(g.pkt[0], g.flags(), body, &b)
		}
		for i := range b {
			allowed[i] = b[i]
		}
	}
	if g.decodes {
		allowed[PKTC2S], allowed[PKTS2C], allowed[END] = true, true, true
		if g.MaxPackets > 0 && g.packets+1 >= g.MaxPackets {
			allowed[PKTC2S], allowed[PKTS2C] = false, false
		}
	}
	if g.state == gTruncOrBody {
		allowed[TRUNC] = false // generated packets are whole
	}
	any := false
	for _, a := range allowed[:VocabSize] {
		any = any || a
	}
	if !any { // nothing fits: end the packet with what it has
		allowed[END] = true
	}
}

// Push advances the grammar by one token; it fails if t is not allowed.
func (g *Grammar) Push(t Token) error {
	bad := func() error {
		return fmt.Errorf("%w: %s not allowed here", ErrGrammar, TokenName(t))
	}
	switch g.state {
	case gFlow:
		if t != FLOW {
			return bad()
		}
		g.hdr = append(g.hdr[:0], t)
		g.state = gLabelOrLink
	case gLabelOrLink:
		g.hdr = append(g.hdr, t)
		switch {
		case t >= Label0 && int(t) < int(Label0)+MaxLabels && len(g.hdr) == 2:
		case t == LinkOther:
			g.state, g.need = gLinkBytes, 4
		case t >= LinkEth && t <= LinkLoop:
			g.state = gRes
		default:
			return bad()
		}
	case gLinkBytes:
		if !IsByte(t) {
			return bad()
		}
		g.hdr = append(g.hdr, t)
		if g.need--; g.need == 0 {
			g.state = gRes
		}
	case gRes:
		g.hdr = append(g.hdr, t)
		switch t {
		case ResMicro, ResNano:
			return g.startFlow()
		case ResOther:
			g.state = gResByte
		default:
			return bad()
		}
	case gResByte:
		if !IsByte(t) {
			return bad()
		}
		g.hdr = append(g.hdr, t)
		return g.startFlow()
	case gPacketOrEnd:
		switch t {
		case PKTC2S, PKTS2C:
			g.pkt = append(g.pkt[:0], t)
			g.state = gFlags
		case END, CUT:
			if g.packets == 0 {
				return bad()
			}
			g.state = gDone
		default:
			return bad()
		}
	case gFlags:
		switch {
		case t == RAW || t == FADDR || t == FLEN || t == FCSUM:
			g.pkt = append(g.pkt, t)
		case t == NEG:
			g.pkt = append(g.pkt, t)
			g.state = gTimeMag
		default:
			return g.timeMag(t)
		}
	case gTimeMag:
		return g.timeMag(t)
	case gTimeBytes, gTruncBytes:
		if !IsByte(t) {
			return bad()
		}
		g.pkt = append(g.pkt, t)
		if g.need--; g.need == 0 {
			if g.state == gTruncBytes {
				g.state = gBody
			} else {
				g.state = gTruncOrBody
			}
			g.bodyAt = len(g.pkt)
			g.check()
		}
	case gTruncOrBody, gBody:
		switch {
		case IsByte(t) || t == MASK:
			if g.state == gTruncOrBody {
				g.bodyAt = len(g.pkt)
			}
			g.pkt = append(g.pkt, t)
			g.state = gBody
			g.check()
		case t == TRUNC && g.state == gTruncOrBody:
			g.pkt = append(g.pkt, t)
			g.state = gTruncMag
		case (t == PKTC2S || t == PKTS2C || t == END || t == CUT) && g.decodes:
			if _, err := g.dec.Packet(g.pkt); err != nil {
				return fmt.Errorf("codec: grammar: packet does not decode: %w", err)
			}
			g.packets++
			g.state = gPacketOrEnd
			return g.Push(t)
		default:
			return bad()
		}
	case gTruncMag:
		k, ok := IsMag(t)
		if !ok {
			return bad()
		}
		g.pkt = append(g.pkt, t)
		if g.need = numberBytes(k); g.need == 0 {
			g.state = gBody
			g.bodyAt = len(g.pkt)
		} else {
			g.state = gTruncBytes
		}
	case gDone:
		return bad()
	}
	return nil
}

func (g *Grammar) timeMag(t Token) error {
	k, ok := IsMag(t)
	if !ok {
		return fmt.Errorf("%w: %s not allowed here (time expected)", ErrGrammar, TokenName(t))
	}
	g.pkt = append(g.pkt, t)
	if g.need = numberBytes(k); g.need == 0 {
		g.state = gTruncOrBody
		g.bodyAt = len(g.pkt)
		g.check()
	} else {
		g.state = gTimeBytes
	}
	return nil
}

func (g *Grammar) startFlow() error {
	h, _, err := ParseHeader(g.hdr)
	if err != nil {
		return err
	}
	g.dec.Reset(h, 0)
	g.state = gPacketOrEnd
	return nil
}

// check decides whether the packet so far would decode (without changing
// the flow's state).
func (g *Grammar) check() {
	g.decodes = false
	if g.bodyLen() == 0 && g.flags()&flagRaw == 0 {
		return
	}
	save := g.dec.addr
	_, err := g.dec.decode(g.pkt)
	g.dec.addr = save
	g.decodes = err == nil
}

// Header returns the flow header pushed so far.
func (g *Grammar) Header() []Token { return g.hdr }
