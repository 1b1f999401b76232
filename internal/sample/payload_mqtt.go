package sample

// The MQTT grammar (version 3.1.1, as tshark's MQTT dissector reads it): a
// TCP segment holds whole control packets, each a fixed header (type and
// flags, remaining length) and a body of exactly that length.
//   - CONNECT: protocol name "MQTT", level 4, flags clean-session or none
//     (no will, user name or password), keep-alive, a printable client id
//     filling the rest;
//   - CONNACK: session-present 0/1, return code 0-5;
//   - PUBLISH: QoS 0-2 (DUP only with QoS > 0), a printable topic of at
//     least one byte, a packet id when QoS > 0, any payload;
//   - PUBACK, PUBREC, PUBREL (flags 2), PUBCOMP, UNSUBACK: a packet id;
//   - SUBSCRIBE (flags 2): a packet id, then topic filters each with a QoS
//     of 0-2; SUBACK: a packet id, then return codes 0, 1, 2 or 0x80;
//     UNSUBSCRIBE (flags 2): a packet id, then topic filters;
//   - PINGREQ, PINGRESP, DISCONNECT: empty.
// Version 5 is left out: its properties would need the CONNECT of the
// conversation to tell tshark which version the other packets are.

// mqttMinBody is the smallest remaining length of each first byte.
var mqttMinBody = func() map[int]int {
	m := map[int]int{0x10: 12, 0x20: 2, 0x40: 2, 0x50: 2, 0x62: 2, 0x70: 2, 0x82: 6, 0x90: 3, 0xa2: 5, 0xb0: 2,
		0xc0: 0, 0xd0: 0, 0xe0: 0}
	for qos := range 3 {
		for dup := range 2 {
			for retain := range 2 {
				if dup == 1 && qos == 0 {
					continue
				}
				m[0x30|dup<<3|qos<<1|retain] = 3 + min(qos, 1)*2
			}
		}
	}
	return m
}()

// mqttFixedBody marks the types whose remaining length is fixed.
var mqttFixedBody = map[int]bool{0x20: true, 0x40: true, 0x50: true, 0x62: true, 0x70: true, 0xb0: true,
	0xc0: true, 0xd0: true, 0xe0: true}

// varintLen is the size of an MQTT remaining-length number.
func varintLen(n int) int {
	switch {
	case n < 128:
		return 1
	case n < 16384:
		return 2
	case n < 2097152:
		return 3
	}
	return 4
}

func mqttStream(c *cursor) {
	for {
		c.boundary()
		room := c.room()
		typ := c.next(func(v int) bool {
			min, ok := mqttMinBody[v]
			return ok && 1+varintLen(min)+min <= room
		})
		n := mqttLength(c, room-1, mqttMinBody[typ], mqttFixedBody[typ])
		mqttBody(c, typ, c.i+n)
	}
}

// mqttLength reads a remaining length of at least min (exactly min when
// fixed) that fits, with its own bytes, in room. Frames are under 16384
// bytes, so it takes one or two bytes.
func mqttLength(c *cursor, room, min int, fixed bool) int {
	ok := func(n int) bool { return n >= min && (!fixed || n == min) && varintLen(n)+n <= room }
	b := c.next(func(b int) bool {
		if b < 128 {
			return ok(b)
		}
		for s := 1; s < 128; s++ {
			if ok(b&0x7f | s<<7) {
				return true
			}
		}
		return false
	})
	if b < 128 {
		return b
	}
	s := c.next(func(s int) bool { return s >= 1 && s < 128 && ok(b&0x7f|s<<7) })
	return b&0x7f | s<<7
}

// mqttString reads a 2-byte length and that many printable bytes; the
// length is at least lo and leaves a rest of which ok approves before end.
func mqttString(c *cursor, end, lo int, ok func(rest int) bool) {
	at := c.i
	n := c.u16(end-at-2, func(n int) bool { return n >= lo && at+2+n <= end && ok(end-at-2-n) })
	c.bytesIn(n, printable)
}

func mqttBody(c *cursor, typ, end int) {
	exact := func(rest int) bool { return rest == 0 }
	switch {
	case typ == 0x10: // CONNECT
		for _, v := range []int{0, 4, 'M', 'Q', 'T', 'T', 4} {
			c.eq(v)
		}
		c.next(func(v int) bool { return v == 0 || v == 2 })
		c.skip(2) // keep alive
		mqttString(c, end, 0, exact)
	case typ == 0x20: // CONNACK
		c.next(func(v int) bool { return v <= 1 })
		c.next(func(v int) bool { return v <= 5 })
	case typ&0xf0 == 0x30: // PUBLISH
		qos := typ >> 1 & 3
		id := 0
		if qos > 0 {
			id = 2
		}
		mqttString(c, end, 1, func(rest int) bool { return rest >= id })
		c.skip(end - c.i) // packet id, payload
	case typ == 0x82: // SUBSCRIBE
		c.skip(2)
		for c.i < end {
			// A filter of >= 1 byte and its QoS; then nothing or another.
			mqttString(c, end, 1, func(rest int) bool { return rest == 1 || rest >= 5 })
			c.next(func(v int) bool { return v <= 2 })
		}
	case typ == 0x90: // SUBACK
		c.skip(2)
		for c.i < end {
			c.next(func(v int) bool { return v <= 2 || v == 0x80 })
		}
	case typ == 0xa2: // UNSUBSCRIBE
		c.skip(2)
		for c.i < end {
			mqttString(c, end, 1, func(rest int) bool { return rest == 0 || rest >= 3 })
		}
	default: // a packet id or nothing
		c.skip(end - c.i)
	}
}
