package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
)

// FlowEncoder turns the packets of one flow into tokens, packet by packet,
// so a flow never has to be held in memory. Reset it for each flow.
//
// With the lossless View it checks every packet by decoding it again (the
// decoder's state runs in lockstep); a packet whose fields the grammar would
// not reproduce exactly (an unusual header the walker misreads) is written
// <raw> instead. Lossless is therefore guaranteed, not hoped for.
type FlowEncoder struct {
	view    View
	hdr     Header
	addr    addrState
	prev    uint64
	packets int
	tokens  int
	cut     bool
	lay     layout
	mirror  FlowDecoder
	tmp     []Token
	// NoCheck skips the lockstep decode (faster; lossless views only rely on
	// the walker being right).
	NoCheck bool
	// proved holds header layouts whose lockstep check passed in this flow.
	proved  [4]layoutSig
	nproved int
	// Stats counts what the encoder did, for reports.
	Stats EncodeStats
	// PayloadHash is an FNV-1a hash of the flow's transport payload bytes
	// (both directions, in order) and PayloadLen their count: the dataset
	// builder's duplicate-payload audit.
	PayloadHash uint64
	PayloadLen  int64
	// HashPayload turns PayloadHash on.
	HashPayload bool
	// deferTail makes Packet leave the packet's final run of verbatim byte
	// tokens out of its result and keep it in Tail (the archive writes it
	// straight from the packet bytes).
	deferTail bool
	Tail      []byte
}

// EncodeStats counts packets by how they were written.
type EncodeStats struct {
	Packets, Raw, FlagAddr, FlagLen, FlagCsum, Fallback int
	// Bytes left out of the tokens, by reason, and the tokens spent on
	// timing (direction token excluded): what each grammar choice saves.
	SavedAddr, SavedLen, SavedCsum, TimeTokens int64
}

// NewFlowEncoder returns an encoder for the given view.
func NewFlowEncoder(v View) *FlowEncoder { return &FlowEncoder{view: v} }

// View returns the encoder's view.
func (e *FlowEncoder) View() View { return e.view }

// Begin starts a new flow: it resets the state and appends the flow header.
// start is the timestamp of the flow's first packet (the archive keeps it;
// the tokens carry only deltas). label < 0 means no label token.
func (e *FlowEncoder) Begin(dst []Token, h Header, start uint64) []Token {
	e.hdr = h
	e.addr = addrState{}
	e.prev = start
	e.packets, e.tokens, e.cut = 0, 0, false
	e.PayloadHash, e.PayloadLen = fnvOffset, 0
	e.mirror.Reset(h, start)
	e.nproved = 0
	n := len(dst)
	dst = append(dst, FLOW)
	if h.Label >= 0 && h.Label < MaxLabels {
		dst = append(dst, Label0+Token(h.Label))
	}
	dst = appendLink(dst, h.LinkType)
	dst = appendRes(dst, h.Resolution)
	e.tokens = len(dst) - n
	return dst
}

// Cut reports whether the view has stopped taking packets.
func (e *FlowEncoder) Cut() bool { return e.cut }

// Packet appends one packet. c2s is its direction; ticks its timestamp in the
// flow's resolution (ignored when hasTime is false, as for pcapng simple
// packet blocks); origLen its length on the wire; data the captured bytes.
func (e *FlowEncoder) Packet(dst []Token, c2s bool, ticks uint64, hasTime bool, origLen uint32, data []byte) []Token {
	if e.cut {
		return dst
	}
	if e.view.MaxPackets > 0 && e.packets >= e.view.MaxPackets {
		e.cut = true
		return dst
	}
	var delta uint64
	if hasTime {
		delta = ticks - e.prev
	}
	n := len(dst)
	raw := false
	dst, raw = e.appendPacket(dst, c2s, delta, origLen, data, false, -1)
	if e.view.MaxTokens > 0 && e.tokens+len(dst)-n > e.view.MaxTokens-1 {
		room := e.view.MaxTokens - 1 - e.tokens
		if e.packets > 0 || room <= 0 {
			e.cut = true
			return dst[:n]
		}
		// The first packet alone is too long: keep as much of it as fits.
		over := len(dst) - n - room
		dst, raw = e.appendPacket(dst[:n], c2s, delta, origLen, data, false, max(0, len(data)-over-8))
		if len(dst)-n > room {
			e.cut = true
			return dst[:n]
		}
	}
	if e.view.Lossless() && !e.NoCheck && e.knownLayout(raw) {
		// A header layout this flow already proved: the decoder walks the
		// same present bytes to the same holes, so the check would pass.
		if hasTime {
			e.mirror.prev = ticks
		}
	} else if e.view.Lossless() && !e.NoCheck {
		if !e.check(dst[n:], raw, c2s, ticks, hasTime, origLen, data) {
			e.Stats.Fallback++
			dst, raw = e.appendPacket(dst[:n], c2s, delta, origLen, data, true, -1)
			if p, err := e.mirror.decodeN(dst[n:], -1, e.Tail); err != nil || !bytes.Equal(p.Data, data) || p.OrigLen != origLen {
				// Kept on purpose: the raw fallback spells the bytes out, so it
				// decodes back for every input (FuzzPacketRoundTrip); failing
				// here is a codec bug, and writing on would store a capture
				// that does not round-trip while reporting success.
				panic(fmt.Sprintf("codec: raw packet does not round-trip: %v", err))
			}
		}
		e.mirror.commit()
		e.rememberLayout(raw)
	}
	if e.HashPayload && !raw && e.lay.hdrEnd < len(data) {
		e.PayloadHash = fnv1a(e.PayloadHash, data[max(e.lay.hdrEnd, 0):])
		e.PayloadLen += int64(len(data) - max(e.lay.hdrEnd, 0))
	}
	if !raw {
		for i := 0; i < e.lay.nspans; i++ {
			sp := &e.lay.spans[i]
			if sp.kind.class() == FADDR {
				e.addr.learn(sp.kind, data[sp.off:sp.off+sp.n], c2s)
			}
		}
	}
	if hasTime {
		e.prev = ticks
	}
	e.packets++
	e.tokens += len(dst) - n
	e.Stats.Packets++
	if raw {
		e.Stats.Raw++
	}
	return dst
}

// End appends <end>, or <cut> when the view stopped early.
func (e *FlowEncoder) End(dst []Token) []Token {
	if e.cut {
		return append(dst, CUT)
	}
	return append(dst, END)
}

// appendPacket writes one packet's tokens. forceRaw writes every byte;
// limit >= 0 caps the captured bytes kept (first packet under MaxTokens).
func (e *FlowEncoder) appendPacket(dst []Token, c2s bool, delta uint64, origLen uint32, data []byte, forceRaw bool, limit int) ([]Token, bool) {
	lossless := e.view.Lossless()
	w := walker{
		src:  walkSource{data: data, lay: &e.lay},
		omit: func(spanKind, int) bool { return false },
	}
	raw := forceRaw || !w.walk(e.hdr.LinkType)
	lay := &e.lay
	var flags Token
	if raw {
		flags = flagRaw
		lay.nspans = 0
	} else {
		for i := 0; i < lay.nspans; i++ {
			sp := &lay.spans[i]
			field := data[sp.off : sp.off+sp.n]
			switch sp.kind {
			case spanMAC, spanIPAddr, spanPorts:
				if v, ok := e.addr.get(sp.kind); ok && len(v) == sp.n && !equalSwapped(field, v, !c2s) {
					flags |= flagAddr
				}
			case spanIPLen:
				if binary.BigEndian.Uint16(field) != predictIPLen(lay, int(origLen)) {
					flags |= flagLen
				}
			case spanUDPLen:
				if binary.BigEndian.Uint16(field) != predictUDPLen(data, lay) {
					flags |= flagLen
				}
			case spanIPCsum:
				if lossless && binary.BigEndian.Uint16(field) != ipv4HeaderChecksum(data[lay.netOff:lay.netOff+int(data[lay.netOff]&0x0f)*4]) {
					flags |= flagCsum
				}
			case spanL4Csum:
				if lossless && binary.BigEndian.Uint16(field) != predictL4Checksum(data, lay) {
					flags |= flagCsum
				}
			}
		}
		for i := 0; i < lay.nspans; i++ {
			sp := &lay.spans[i]
			sp.omit = omitRule(&e.addr, flags, sp.kind, sp.n)
		}
	}
	// Views may cut payload, never headers: the decoder relies on them.
	hdrEnd := lay.hdrEnd
	for i := 0; i < lay.nspans; i++ {
		hdrEnd = max(hdrEnd, lay.spans[i].off+lay.spans[i].n)
	}
	keep := len(data)
	if !raw {
		if pl := e.view.payloadLimit(); pl >= 0 && hdrEnd+pl < keep {
			keep = hdrEnd + pl
		}
	}
	if limit >= 0 && limit < keep {
		keep = max(limit, hdrEnd)
		if raw {
			keep = limit
		}
	}
	keep = min(keep, len(data))
	if c2s {
		dst = append(dst, PKTC2S)
	} else {
		dst = append(dst, PKTS2C)
	}
	for f, t := range [...]Token{flagRaw: RAW, flagAddr: FADDR, flagLen: FLEN, flagCsum: FCSUM} {
		if t != 0 && flags&Token(f) != 0 {
			dst = append(dst, t)
		}
	}
	if flags&flagAddr != 0 {
		e.Stats.FlagAddr++
	}
	if flags&flagLen != 0 {
		e.Stats.FlagLen++
	}
	if flags&flagCsum != 0 {
		e.Stats.FlagCsum++
	}
	for i := 0; i < lay.nspans; i++ {
		if sp := &lay.spans[i]; sp.omit {
			switch sp.kind.class() {
			case FADDR:
				e.Stats.SavedAddr += int64(sp.n)
			case FLEN:
				e.Stats.SavedLen += int64(sp.n)
			case FCSUM:
				e.Stats.SavedCsum += int64(sp.n)
			}
		}
	}
	nt := len(dst)
	if int64(delta) < 0 {
		dst = append(dst, NEG)
		dst = AppendNumber(dst, -delta)
	} else {
		dst = AppendNumber(dst, delta)
	}
	e.Stats.TimeTokens += int64(len(dst) - nt)
	switch {
	case uint64(keep) < uint64(origLen):
		dst = append(dst, TRUNC)
		dst = AppendNumber(dst, uint64(origLen)-uint64(keep))
	case uint64(keep) > uint64(origLen): // broken captures: more bytes than on the wire
		dst = append(dst, TRUNC, NEG)
		dst = AppendNumber(dst, uint64(keep)-uint64(origLen))
	}
	pos := 0
	for i := 0; i < lay.nspans && pos < keep; i++ {
		sp := &lay.spans[i]
		if !sp.omit && !e.view.Mask.masks(sp.kind) {
			continue
		}
		if pos < sp.off {
			dst = appendBytes(dst, data[pos:min(sp.off, keep)])
			pos = min(sp.off, keep)
		}
		if sp.omit {
			pos = sp.off + sp.n
			continue
		}
		for ; pos < sp.off+sp.n && pos < keep; pos++ {
			dst = append(dst, MASK)
		}
	}
	if e.deferTail {
		e.Tail = data[pos:keep]
		return dst, raw
	}
	e.Tail = nil
	return appendBytes(dst, data[pos:keep]), raw
}

// equalSwapped compares a field seen in a packet with the flow's value,
// exchanging halves for the server-to-client direction.
func equalSwapped(field, v []byte, swap bool) bool {
	if !swap {
		return bytes.Equal(field, v)
	}
	h := len(v) / 2
	return bytes.Equal(field[:h], v[h:]) && bytes.Equal(field[h:], v[:h])
}

// appendBytes appends byte tokens.
func appendBytes(dst []Token, b []byte) []Token {
	n := len(dst)
	dst = slices.Grow(dst, len(b))[:n+len(b)]
	out := dst[n:]
	for i, c := range b {
		out[i] = Token(c)
	}
	return dst
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnv1a is FNV-1a over 8-byte little-endian words (then the tail bytes):
// 8 times fewer multiplications than byte-wise FNV, same quality for
// duplicate detection.
func fnv1a(h uint64, b []byte) uint64 {
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * fnvPrime
		b = b[8:]
	}
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

// check decodes the packet's tokens with the mirror decoder and compares the
// result with the packet. Payload bytes after the headers are copied
// verbatim by both sides, so only the headers are rebuilt and compared (the
// transport checksum, a function of the compared bytes and the verbatim
// payload, is skipped); lengths are compared in full.
func (e *FlowEncoder) check(toks []Token, raw, c2s bool, ticks uint64, hasTime bool, origLen uint32, data []byte) bool {
	limit := -1
	hdr := len(data)
	var l4cs *span
	if !raw {
		hdr = max(e.lay.hdrEnd, 0)
		omitted := 0
		for i := 0; i < e.lay.nspans; i++ {
			sp := &e.lay.spans[i]
			hdr = max(hdr, sp.off+sp.n)
			if sp.omit {
				omitted += sp.n
				if sp.kind == spanL4Csum {
					l4cs = sp
				}
			}
		}
		hdr = min(hdr, len(data))
		limit = hdr - omitted
	}
	p, err := e.mirror.decodeN(toks, limit, e.Tail)
	if err != nil || p.C2S != c2s || p.OrigLen != origLen || len(p.Data) != len(data) || (hasTime && p.Ticks != ticks) {
		return false
	}
	if l4cs == nil {
		return bytes.Equal(p.Data[:hdr], data[:hdr])
	}
	return bytes.Equal(p.Data[:l4cs.off], data[:l4cs.off]) && bytes.Equal(p.Data[l4cs.off+2:hdr], data[l4cs.off+2:hdr])
}

// layoutSig is what the lockstep check depends on: where the holes are and
// which header bytes the walker read to find them.
type layoutSig struct {
	spans  [maxSpans]span
	nspans int
	netOff int
	l4Off  int
	hdrEnd int
}

func (e *FlowEncoder) sig() layoutSig {
	l := &e.lay
	return layoutSig{spans: l.spans, nspans: l.nspans, netOff: l.netOff, l4Off: l.l4Off, hdrEnd: l.hdrEnd}
}

// knownLayout reports whether the packet just encoded has a layout that a
// full check already proved in this flow, and teaches the mirror decoder
// nothing new (every address field it has is known to the mirror).
func (e *FlowEncoder) knownLayout(raw bool) bool {
	if raw || e.nproved == 0 {
		return false
	}
	for i := 0; i < e.lay.nspans; i++ {
		if k := e.lay.spans[i].kind; k.class() == FADDR {
			if v, ok := e.mirror.addr.get(k); !ok || len(v) != e.lay.spans[i].n {
				return false
			}
		}
	}
	s := e.sig()
	for i := 0; i < min(e.nproved, len(e.proved)); i++ {
		if e.proved[i] == s {
			return true
		}
	}
	return false
}

func (e *FlowEncoder) rememberLayout(raw bool) {
	if raw || e.Stats.Fallback > 0 {
		return
	}
	e.proved[e.nproved%len(e.proved)] = e.sig()
	e.nproved++
}
