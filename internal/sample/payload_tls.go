package sample

// The TLS grammar (as tshark's TLS dissector reads it): a TCP segment holds
// whole records, each a content type, a version 3.1-3.3 and a length, with
// a body of exactly that length:
//   - change_cipher_spec: the single byte 1;
//   - alert: level 1 or 2 and any description;
//   - application_data: any bytes (TLS 1.3 sends all but the hellos so);
//   - handshake: messages filling the record, each a type, a 3-byte length
//     and a body of exactly that length, of the types the grammar can
//     write: ClientHello and ServerHello (below), ServerHelloDone (empty),
//     ServerKeyExchange and ClientKeyExchange in their ECDHE form, and
//     Finished (any bytes).
//     Certificates are left out: their DER is beyond a byte grammar, so a
//     TLS 1.2 server sends none.
//   - hellos: version, random, session id (0-32 bytes), cipher suites (an
//     even count of bytes) and compression methods (ClientHello) or one of
//     each (ServerHello), then extensions; extension types with a shape
//     the grammar writes (server_name, supported_groups, ec_point_formats,
//     signature_algorithms, ALPN, status_request, SCT, padding, encrypt-
//     then-MAC, extended master secret, session_ticket, supported_versions,
//     psk_key_exchange_modes, post_handshake_auth, key_share,
//     compress_certificate, record_size_limit, renegotiation_info, ALPS)
//     and GREASE values (any body).
// Records do not span segments.

// tlsMinBody is the smallest record body of each content type.
var tlsMinBody = map[int]int{20: 1, 21: 2, 22: 4, 23: 1}

func tlsStream(c *cursor) {
	for {
		c.boundary()
		room := c.room()
		typ := c.next(func(v int) bool {
			min, ok := tlsMinBody[v]
			return ok && 5+min <= room
		})
		c.eq(3)
		c.next(func(v int) bool { return v >= 1 && v <= 3 })
		end := c.i + 2 + room - 5
		n := c.length(2, end, func(n int) bool {
			switch typ {
			case 20:
				return n == 1
			case 21:
				return n == 2
			case 22:
				return n >= 4
			}
			return n >= 1
		}, func(int) bool { return true })
		end = c.i + n
		switch typ {
		case 20:
			c.eq(1)
		case 21:
			c.next(func(v int) bool { return v == 1 || v == 2 })
			c.any()
		case 22:
			for c.i < end {
				tlsHandshake(c, end)
			}
		default:
			c.skip(n)
		}
	}
}

// tlsHandshakeMin is the smallest body of each handshake type written.
// NewSessionTicket is left out: tshark reads it in its TLS 1.2 or 1.3 form
// by the session's version, which the grammar does not follow.
var tlsHandshakeMin = map[int]int{1: 2 + 32 + 1 + 4 + 2, 2: 2 + 32 + 1 + 3, 12: 9, 14: 0, 16: 2, 20: 1}

// tlsHandshake reads one handshake message inside a record ending at end;
// the message leaves either nothing or room for another.
func tlsHandshake(c *cursor, end int) {
	room := end - c.i - 4
	lenOK := func(typ, n int) bool {
		return n >= tlsHandshakeMin[typ] && (typ != 14 || n == 0) && (typ != 16 || n <= 256)
	}
	restOK := func(r int) bool { return r == 0 || r >= 4 }
	typ := c.next(func(v int) bool {
		if _, ok := tlsHandshakeMin[v]; !ok {
			return false
		}
		// Length rules are thresholds: the extremes decide.
		for _, n := range []int{room, room - 4, 0, 2, 9, 38, 41, 256} {
			if n >= 0 && n <= room && lenOK(v, n) && restOK(room-n) {
				return true
			}
		}
		return false
	})
	n := c.length(3, end, func(n int) bool { return lenOK(typ, n) }, restOK)
	mend := c.i + n
	switch typ {
	case 1, 2:
		tlsHello(c, mend, typ == 2)
	case 4: // lifetime, ticket
		c.skip(4)
		c.length(2, mend, anyLen, exactRest)
		c.skip(mend - c.i)
	case 12: // ECDHE: named curve, public key, signature algorithm, signature
		c.eq(3)
		c.skip(2)
		k := c.length(1, mend, nonEmpty, func(r int) bool { return r >= 4 })
		c.skip(k)
		c.skip(2)
		c.length(2, mend, anyLen, exactRest)
		c.skip(mend - c.i)
	case 16: // ECDHE public key
		c.length(1, mend, func(n int) bool { return n >= 1 }, exactRest)
		c.skip(mend - c.i)
	default: // Finished, ServerHelloDone
		c.skip(n)
	}
}

func anyLen(int) bool      { return true }
func nonEmpty(n int) bool  { return n >= 1 }
func exactRest(r int) bool { return r == 0 }

// extsRest: what follows the hello's fixed part may be nothing or an
// extension block (its 2-byte length, then extensions of >= 4 bytes each).
func extsRest(r int) bool { return r == 0 || r == 2 || r >= 6 }

func tlsHello(c *cursor, end int, server bool) {
	c.eq(3)
	c.next(func(v int) bool { return v >= 1 && v <= 3 })
	c.skip(32) // random
	if server {
		sid := c.length(1, end, func(n int) bool { return n <= 32 }, func(r int) bool { return r >= 3 && extsRest(r-3) })
		c.skip(sid)
		c.skip(3) // cipher suite, compression method
	} else {
		sid := c.length(1, end, func(n int) bool { return n <= 32 }, func(r int) bool { return r >= 6 })
		c.skip(sid)
		k := c.length(2, end, func(n int) bool { return n >= 2 && n%2 == 0 }, func(r int) bool { return r >= 2 })
		c.skip(k)
		k = c.length(1, end, func(n int) bool { return n >= 1 }, extsRest)
		c.skip(k)
	}
	if c.i == end {
		return
	}
	c.length(2, end, anyLen, exactRest)
	for c.i < end {
		tlsExtension(c, end, server)
	}
}

// tlsExtShape is the body of one extension type: ok says which body lengths
// it can fill; read reads a body of n bytes.
type tlsExtShape struct {
	ok   func(n int, server bool) bool
	read func(c *cursor, end int, server bool)
}

func grease(t int) bool { return t&0x0f0f == 0x0a0a && t>>12 == t>>4&0xf }

// listOf reads a list of length width w filling the body exactly, of items
// read by item (which gets the list's end).
func listOf(c *cursor, w, end int, itemsOK func(n int) bool, item func(c *cursor, end int)) {
	c.length(w, end, itemsOK, exactRest)
	for c.i < end {
		item(c, end)
	}
}

// str reads a string of a 1- or 2-byte length, at least lo printable bytes,
// leaving a rest of which rest approves.
func str(c *cursor, w, end, lo int, rest func(r int) bool) {
	n := c.length(w, end, func(n int) bool { return n >= lo }, rest)
	c.bytesIn(n, printable)
}

func bytesRead(c *cursor, end int, _ bool) { c.skip(end - c.i) }

var tlsExtensions = func() map[int]tlsExtShape {
	empty := tlsExtShape{func(n int, _ bool) bool { return n == 0 }, bytesRead}
	list1 := tlsExtShape{func(n int, _ bool) bool { return n >= 1 && n <= 256 }, func(c *cursor, end int, _ bool) {
		c.length(1, end, anyLen, exactRest)
		c.skip(end - c.i)
	}}
	// Lists tshark wants non-empty: one item at least.
	list1ne := tlsExtShape{func(n int, _ bool) bool { return n >= 2 && n <= 256 }, list1.read}
	list2even := tlsExtShape{func(n int, _ bool) bool { return n >= 4 && n%2 == 0 }, func(c *cursor, end int, _ bool) {
		c.length(2, end, anyLen, exactRest)
		c.skip(end - c.i)
	}}
	strings1 := tlsExtShape{func(n int, _ bool) bool { return n >= 4 }, func(c *cursor, end int, _ bool) {
		listOf(c, 2, end, func(n int) bool { return n >= 2 }, func(c *cursor, end int) {
			str(c, 1, end, 1, func(r int) bool { return r == 0 || r >= 2 })
		})
	}}
	m := map[int]tlsExtShape{
		0: {func(n int, server bool) bool { return n == 0 || !server && n >= 6 }, func(c *cursor, end int, _ bool) {
			if c.i == end {
				return
			}
			listOf(c, 2, end, func(n int) bool { return n >= 4 }, func(c *cursor, end int) {
				c.eq(0)
				str(c, 2, end, 1, func(r int) bool { return r == 0 || r >= 4 })
			})
		}},
		5: {func(n int, server bool) bool { return server && n == 0 || !server && n == 5 }, func(c *cursor, end int, _ bool) {
			if c.i < end {
				for _, v := range []int{1, 0, 0, 0, 0} {
					c.eq(v)
				}
			}
		}},
		10: list2even, 11: list1ne, 13: list2even, 16: strings1, 17513: strings1,
		18: empty, 22: empty, 23: empty, 49: empty,
		21: {func(int, bool) bool { return true }, func(c *cursor, end int, _ bool) {
			c.bytesIn(end-c.i, func(v int) bool { return v == 0 })
		}},
		35:    {func(int, bool) bool { return true }, bytesRead},
		45:    list1ne,
		65281: list1,
		28:    {func(n int, _ bool) bool { return n == 2 }, bytesRead},
		27:    {func(n int, _ bool) bool { return n >= 3 && n <= 256 && n%2 == 1 }, func(c *cursor, end int, _ bool) { list1.read(c, end, false) }},
		43: {func(n int, server bool) bool { return server && n == 2 || !server && n >= 3 && n <= 256 && n%2 == 1 },
			func(c *cursor, end int, server bool) {
				if !server {
					c.length(1, end, anyLen, exactRest)
				}
				c.skip(end - c.i)
			}},
		51: {func(n int, server bool) bool { return server && n >= 5 || !server && (n == 2 || n >= 7) }, func(c *cursor, end int, server bool) {
			if server {
				c.skip(2)
				c.length(2, end, nonEmpty, exactRest)
				c.skip(end - c.i)
				return
			}
			listOf(c, 2, end, anyLen, func(c *cursor, end int) {
				c.skip(2)
				k := c.length(2, end, nonEmpty, func(r int) bool { return r == 0 || r >= 5 })
				c.skip(k)
			})
		}},
	}
	// Extensions a ClientHello carries but a ServerHello does not (tshark
	// reads some of them differently there).
	for _, t := range []int{10, 13, 18, 21, 27, 45, 49, 17513} {
		s := m[t]
		m[t] = tlsExtShape{func(n int, server bool) bool { return !server && s.ok(n, server) }, s.read}
	}
	return m
}()

// tlsExtension reads one extension inside an extension block ending at end;
// it leaves nothing or room for another.
func tlsExtension(c *cursor, end int, server bool) {
	at := c.i
	room := end - at - 4
	// The shapes' length rules are thresholds and parities: the body may
	// fill the block (room) or leave >= 4 bytes, so small lengths and the
	// largest ones below room-3 decide.
	fitsSome := func(s tlsExtShape) bool {
		for _, n := range []int{room, room - 4, room - 5, 0, 1, 2, 3, 4, 5, 6, 7, 8} {
			if r := room - n; n >= 0 && (r == 0 || r >= 4) && s.ok(n, server) {
				return true
			}
		}
		return false
	}
	var cands []int
	for t, s := range tlsExtensions {
		if fitsSome(s) {
			cands = append(cands, t)
		}
	}
	if room >= 0 {
		for g := range 16 {
			cands = append(cands, g<<12|0xa<<8|g<<4|0xa)
		}
	}
	typ := c.u16Of(cands)
	s, ok := tlsExtensions[typ]
	if !ok || grease(typ) {
		s = tlsExtShape{func(int, bool) bool { return true }, bytesRead}
	}
	n := c.length(2, end, func(n int) bool { return s.ok(n, server) }, func(r int) bool { return r == 0 || r >= 4 })
	s.read(c, c.i+n, server)
}
