package sample

// Application payload rules (doc.go, "Application payloads"): for the
// protocols that tshark picks by port and whose generated payloads would
// otherwise be read as malformed, each packet's payload is held to a small
// grammar of whole, well-formed messages. The grammars are prefix walkers:
// walk re-reads the payload so far from its start (payloads are at most a
// frame, so this costs microseconds against a model step of milliseconds)
// and either stops at the next byte, narrowing its values, or finds that
// the payload may end there.

// payloadGrammar walks a payload prefix with a cursor (see walkPayload).
type payloadGrammar func(c *cursor)

// appProtocol is a port-selected grammar. A protocol whose messages depend
// on what came before in the same direction (SSH: banner, clear key
// exchange, then encrypted) has a state per direction: next gives the
// state after a packet with payload p (states start at 0), and the grammar
// reads it from cursor.state.
type appProtocol struct {
	name    string
	grammar payloadGrammar
	next    func(state int, p []byte) int
}

// appProtocols names the port-selected grammars: transport protocol and
// port to grammar, as tshark chooses dissectors (the lower port first).
var appProtocols = map[uint32]appProtocol{
	17<<16 | 53:   {"dns", dnsMessage, nil},
	17<<16 | 5353: {"mdns", dnsMessage, nil},
	17<<16 | 5355: {"llmnr", dnsMessage, nil},
	6<<16 | 53:    {"dns-tcp", dnsTCPStream, nil},
	6<<16 | 1883:  {"mqtt", mqttStream, nil},
	6<<16 | 443:   {"tls", tlsStream, nil},
	6<<16 | 8443:  {"tls", tlsStream, nil},
	6<<16 | 853:   {"tls", tlsStream, nil},
	6<<16 | 8883:  {"tls", tlsStream, nil},
	6<<16 | 22:    {"ssh", sshStream, sshNext},
}

// appGrammar returns the grammar tshark's choice of dissector for a flow
// between ports a and b of transport proto implies, if any: the lower port
// is tried first. A zero port (masked) names nothing.
func appGrammar(proto uint8, a, b uint16) *appProtocol {
	if a > b {
		a, b = b, a
	}
	for _, p := range []uint16{a, b} {
		if p == 0 {
			continue
		}
		if g, ok := appProtocols[uint32(proto)<<16|uint32(p)]; ok {
			return &g
		}
	}
	return nil
}

// cursor reads a payload prefix p for a grammar. Reading past the prefix
// stops the walk (a panic with stopWalk, recovered by walkPayload): the
// grammar's constraint on that byte is applied to allowed, and whether the
// payload may end there is recorded.
type cursor struct {
	p       []byte
	i       int
	limit   int        // the payload may not grow past limit bytes
	allowed *[256]bool // narrowed at the stop; nil when only asking complete
	state   int        // the direction's state at the packet's start (appProtocol)
	atEnd   bool       // the walk stopped where the payload may end
}

type stopWalk struct{}

// walkPayload walks payload p (at most limit bytes in all) with g. It
// narrows allowed (if not nil) to the values g accepts for byte len(p), and
// reports whether the payload may end after p. A p that g cannot read (not
// produced under g: the grammar stops inside it) may end.
func walkPayload(g payloadGrammar, p []byte, limit, state int, allowed *[256]bool) (complete bool) {
	c := &cursor{p: p, limit: limit, allowed: allowed, state: state}
	stopped := false
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stopWalk); !ok {
					panic(r)
				}
				stopped = true
			}
		}()
		g(c)
	}()
	if !stopped || c.i < len(p) {
		return true
	}
	return c.atEnd
}

// next reads one byte whose value must satisfy ok (nil: any value).
func (c *cursor) next(ok func(v int) bool) int {
	if c.i < len(c.p) {
		// Bytes of the prefix were chosen under the same constraints (or
		// forced by a prompt, when the constraints do not matter): they
		// are not checked again, which keeps a walk linear.
		c.i++
		return int(c.p[c.i-1])
	}
	if c.allowed != nil {
		if c.i >= c.limit {
			*c.allowed = [256]bool{}
		} else if ok != nil {
			for v := range 256 {
				if c.allowed[v] && !ok(v) {
					c.allowed[v] = false
				}
			}
		}
	}
	panic(stopWalk{})
}

// end marks the end of the payload: nothing may follow.
func (c *cursor) end() {
	if c.i == len(c.p) {
		c.atEnd = true
		if c.allowed != nil {
			*c.allowed = [256]bool{}
		}
	}
	panic(stopWalk{})
}

// boundary marks a point where the payload may end or go on (a new
// message of a stream).
func (c *cursor) boundary() {
	if c.i == len(c.p) {
		c.atEnd = true
	}
}

func (c *cursor) any() int { return c.next(nil) }

// skip reads n bytes of any value.
func (c *cursor) skip(n int) {
	for range n {
		c.next(nil)
	}
}

// bytesIn reads n bytes, each satisfying ok.
func (c *cursor) bytesIn(n int, ok func(v int) bool) {
	for range n {
		c.next(ok)
	}
}

// eq reads a byte that must be v.
func (c *cursor) eq(v int) int { return c.next(func(x int) bool { return x == v }) }

// u16 reads a big-endian 16-bit number satisfying ok. The high byte may be
// h if ok holds for some value h<<8|l with h <= max>>8.
func (c *cursor) u16(max int, ok func(v int) bool) int {
	hi := c.next(func(h int) bool {
		if h > max>>8 {
			return false
		}
		for l := range 256 {
			if ok(h<<8 | l) {
				return true
			}
		}
		return false
	})
	lo := c.next(func(l int) bool { return ok(hi<<8 | l) })
	return hi<<8 | lo
}

// room is how many bytes may still follow before the limit.
func (c *cursor) room() int { return c.limit - c.i }

// printable reports a visible ASCII byte (topics, client ids).
func printable(v int) bool { return v > 0x20 && v < 0x7f }

// length reads a length field of width 1, 2 or 3 bytes (3: the first byte
// zero) that starts a part ending by end: the part's n bytes must satisfy
// ok(n) and the rest left before end must satisfy rest.
func (c *cursor) length(width, end int, ok func(n int) bool, rest func(r int) bool) int {
	at := c.i
	fits := func(n int) bool { r := end - at - width - n; return r >= 0 && ok(n) && rest(r) }
	switch width {
	case 1:
		return c.next(fits)
	case 3:
		c.eq(0)
	}
	return c.u16(max(end-at-width, 0), fits)
}

// u16Of reads a big-endian 16-bit number from the candidates.
func (c *cursor) u16Of(cands []int) int {
	hi := c.next(func(h int) bool {
		for _, v := range cands {
			if v>>8 == h {
				return true
			}
		}
		return false
	})
	lo := c.next(func(l int) bool {
		for _, v := range cands {
			if v == hi<<8|l {
				return true
			}
		}
		return false
	})
	return hi<<8 | lo
}
