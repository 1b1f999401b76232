package codec

import (
	"fmt"
	"slices"

	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// ParseHeader parses a flow header, FLOW [LABEL] link resolution, at the
// start of toks and returns it with the count of tokens used.
func ParseHeader(toks []Token) (Header, int, error) {
	h := Header{Label: -1}
	if len(toks) == 0 || toks[0] != FLOW {
		return h, 0, fmt.Errorf("%w: flow must start with <flow>", ErrGrammar)
	}
	i := 1
	if i < len(toks) && toks[i] >= Label0 && int(toks[i]) < int(Label0)+MaxLabels {
		h.Label = int(toks[i] - Label0)
		i++
	}
	if i >= len(toks) {
		return h, 0, fmt.Errorf("%w: flow header cut short", ErrGrammar)
	}
	switch toks[i] {
	case LinkEth:
		h.LinkType = 1
	case LinkRaw:
		h.LinkType = 101
	case LinkSLL:
		h.LinkType = 113
	case LinkSLL2:
		h.LinkType = 276
	case LinkNull:
		h.LinkType = 0
	case LinkLoop:
		h.LinkType = 108
	case LinkOther:
		if i+4 >= len(toks) {
			return h, 0, fmt.Errorf("%w: link type cut short", ErrGrammar)
		}
		for j := 1; j <= 4; j++ {
			if !IsByte(toks[i+j]) {
				return h, 0, fmt.Errorf("%w: link type byte expected, got %s", ErrGrammar, TokenName(toks[i+j]))
			}
			h.LinkType = h.LinkType<<8 | uint32(toks[i+j])
		}
		i += 4
	default:
		return h, 0, fmt.Errorf("%w: link token expected, got %s", ErrGrammar, TokenName(toks[i]))
	}
	i++
	if i >= len(toks) {
		return h, 0, fmt.Errorf("%w: flow header cut short", ErrGrammar)
	}
	switch toks[i] {
	case ResMicro:
		h.Resolution = pcap.Micro
	case ResNano:
		h.Resolution = pcap.Nano
	case ResOther:
		if i+1 >= len(toks) || !IsByte(toks[i+1]) {
			return h, 0, fmt.Errorf("%w: resolution byte expected", ErrGrammar)
		}
		h.Resolution = pcap.Resolution(toks[i+1])
		i++
	default:
		return h, 0, fmt.Errorf("%w: resolution token expected, got %s", ErrGrammar, TokenName(toks[i]))
	}
	return h, i + 1, nil
}

// FlowDecoder turns one flow's packet token groups back into packets. It
// keeps the flow's state: addresses seen so far and the last timestamp.
type FlowDecoder struct {
	hdr  Header
	addr addrState
	prev uint64
	body []byte
	out  []byte
	lay  layout
	// learning of the packet decoded last, applied by commit.
	pending Packet
	raw     bool
}

// Reset starts a new flow with header h whose first packet is at start.
func (d *FlowDecoder) Reset(h Header, start uint64) {
	d.hdr = h
	d.addr = addrState{}
	d.prev = start
}

// Header returns the flow's header.
func (d *FlowDecoder) Header() Header { return d.hdr }

// Packet decodes the tokens of one packet: from its <c2s>/<s2c> token up to,
// not including, the next packet, <end> or <cut>.
func (d *FlowDecoder) Packet(toks []Token) (Packet, error) {
	p, err := d.decode(toks)
	if err != nil {
		return Packet{}, err
	}
	d.commit()
	return p, nil
}

func (d *FlowDecoder) decode(toks []Token) (Packet, error) { return d.decodeN(toks, -1, nil) }

// decodeN decodes a packet; limit >= 0 converts only that many body tokens
// and skips the TCP/UDP checksum: the encoder's lockstep check, which only
// needs the headers back (payload bytes are copied verbatim by construction).
// tail holds body bytes that follow toks (the encoder's deferred tail).
func (d *FlowDecoder) decodeN(toks []Token, limit int, tail []byte) (Packet, error) {
	var p Packet
	if len(toks) == 0 || (toks[0] != PKTC2S && toks[0] != PKTS2C) {
		return p, fmt.Errorf("%w: packet must start with <c2s> or <s2c>", ErrGrammar)
	}
	p.C2S = toks[0] == PKTC2S
	i := 1
	var flags Token
	for ; i < len(toks); i++ {
		var f Token
		switch toks[i] {
		case RAW:
			f = flagRaw
		case FADDR:
			f = flagAddr
		case FLEN:
			f = flagLen
		case FCSUM:
			f = flagCsum
		}
		if f == 0 {
			break
		}
		if flags&f != 0 {
			return p, fmt.Errorf("%w: flag %s twice", ErrGrammar, TokenName(toks[i]))
		}
		flags |= f
	}
	if flags&flagRaw != 0 && flags != flagRaw {
		return p, fmt.Errorf("%w: <raw> with other flags", ErrGrammar)
	}
	neg := false
	if i < len(toks) && toks[i] == NEG {
		neg = true
		i++
	}
	delta, n, err := ReadNumber(toks[i:])
	if err != nil {
		return p, fmt.Errorf("time: %w", err)
	}
	i += n
	if neg {
		delta = -delta
	}
	var trunc uint64 // original length minus captured length, modulo 2^64
	if i < len(toks) && toks[i] == TRUNC {
		i++
		tneg := i < len(toks) && toks[i] == NEG
		if tneg {
			i++
		}
		trunc, n, err = ReadNumber(toks[i:])
		if err != nil {
			return p, fmt.Errorf("truncation: %w", err)
		}
		i += n
		if tneg {
			trunc = -trunc
		}
	}
	bt := toks[i:]
	nbody := len(bt) + len(tail)
	if limit >= 0 && limit < len(bt) {
		bt = bt[:limit]
	}
	headersOnly := limit >= 0
	if limit < 0 {
		limit = nbody
	}
	d.body = slices.Grow(d.body[:0], len(bt))[:len(bt)]
	for j, t := range bt {
		switch {
		case t < 256:
			d.body[j] = byte(t)
		case t == MASK:
			d.body[j] = 0
		default:
			return p, fmt.Errorf("%w: byte expected in packet body, got %s", ErrGrammar, TokenName(t))
		}
	}
	if k := limit - len(d.body); k > 0 {
		d.body = append(d.body, tail[:min(k, len(tail))]...)
	}
	d.raw = flags&flagRaw != 0
	if d.raw {
		d.out = append(d.out[:0], d.body...)
	} else if err := d.rebuild(flags, p.C2S, trunc, nbody, headersOnly); err != nil {
		return p, err
	}
	orig := uint64(len(d.out)) + trunc
	if orig > 1<<32-1 { // also catches negative lengths, which wrap
		return p, fmt.Errorf("%w: original length %d too large", ErrGrammar, orig)
	}
	p.OrigLen = uint32(orig)
	p.Ticks = d.prev + delta
	p.Data = d.out
	p.Raw = d.raw
	d.pending = p
	return p, nil
}

// rebuild fills d.out from d.body, putting back the fields left out.
func (d *FlowDecoder) rebuild(flags Token, c2s bool, trunc uint64, nbody int, headersOnly bool) error {
	w := walker{
		src:  walkSource{data: d.body, decode: true, lay: &d.lay},
		omit: func(k spanKind, n int) bool { return omitRule(&d.addr, flags, k, n) },
	}
	if !w.walk(d.hdr.LinkType) {
		return fmt.Errorf("%w: packet headers cut short (would need <raw>)", ErrGrammar)
	}
	lay := &d.lay
	omitted := 0
	for i := 0; i < lay.nspans; i++ {
		if lay.spans[i].omit {
			omitted += lay.spans[i].n
		}
	}
	total := nbody + omitted
	if cap(d.out) < total {
		d.out = make([]byte, total, total+total/2)
	}
	d.out = d.out[:total]
	src, dst := 0, 0
	for i := 0; i < lay.nspans; i++ {
		sp := &lay.spans[i]
		if !sp.omit {
			continue
		}
		if sp.off < dst || sp.off-dst > len(d.body)-src {
			return fmt.Errorf("%w: packet body too short for its headers", ErrGrammar)
		}
		src += copy(d.out[dst:sp.off], d.body[src:src+sp.off-dst])
		dst = sp.off
		field := d.out[dst : dst+sp.n]
		if v, ok := d.addr.get(sp.kind); ok {
			copySwapped(field, v, !c2s)
		} else {
			clear(field)
		}
		dst += sp.n
	}
	copy(d.out[dst:], d.body[src:])
	fillDerived(d.out, lay, len(d.out)+int(trunc), !headersOnly)
	return nil
}

// commit applies what the packet decoded last teaches about the flow.
func (d *FlowDecoder) commit() {
	d.prev = d.pending.Ticks
	if d.raw {
		return
	}
	for i := 0; i < d.lay.nspans; i++ {
		sp := &d.lay.spans[i]
		if sp.kind.class() == FADDR {
			d.addr.learn(sp.kind, d.out[sp.off:sp.off+sp.n], d.pending.C2S)
		}
	}
}

// DecodeFlow decodes a whole flow (header, packets, then <end> or <cut>, or
// the end of toks) and calls fn for each packet. Ticks start at start.
// Tokens after the flow's end (e.g. <cls>, <pad>) are ignored.
func DecodeFlow(toks []Token, start uint64, fn func(Packet) error) (Header, error) {
	h, i, err := ParseHeader(toks)
	if err != nil {
		return h, err
	}
	var d FlowDecoder
	d.Reset(h, start)
	np := 0
	for i < len(toks) {
		t := toks[i]
		if t == END || t == CUT || t == CLS || t == PAD {
			break
		}
		j := i + 1
		for j < len(toks) && !isStructural(toks[j]) {
			j++
		}
		p, err := d.Packet(toks[i:j])
		if err != nil {
			return h, fmt.Errorf("packet %d: %w", np, err)
		}
		if err := fn(p); err != nil {
			return h, err
		}
		np++
		i = j
	}
	return h, nil
}

// isStructural reports whether t starts a packet or ends a flow.
func isStructural(t Token) bool {
	switch t {
	case PKTC2S, PKTS2C, END, CUT, CLS, PAD, FLOW:
		return true
	}
	return false
}
