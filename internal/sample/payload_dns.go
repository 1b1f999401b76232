package sample

// The DNS grammar (RFC 1035 wire format, as tshark's DNS dissector reads
// it): one whole message per UDP datagram, or a stream of length-prefixed
// messages in a TCP segment.
//   - header: opcode QUERY; counts as the model likes up to 4 questions,
//     48 answers, 16 authority and 32 additional records, as long as the
//     smallest message with those counts fits the frame (a question takes
//     at least 5 bytes, a record 11);
//   - names: labels of 1-63 bytes, at most 255 bytes in all, ending in the
//     root label or a compression pointer to a label of a name already
//     complete (so pointers never loop or point forward);
//   - questions: any type and class;
//   - records: TTL below 2^31; types A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV and OPT,
//     with RDATA of the type's shape filling RDLENGTH exactly (OPT options:
//     NSID, cookie (8 or 16-40 bytes) and padding);
//   - the payload ends exactly where the message does.

// dnsRRTypes are the record types the grammar can write RDATA for, with
// the fewest RDATA bytes each takes.
var dnsRRTypes = map[int]int{1: 4, 2: 1, 5: 1, 6: 22, 12: 1, 15: 3, 16: 1, 28: 16, 33: 7, 41: 0}

// dnsMessage is the grammar of one DNS message filling a UDP payload.
func dnsMessage(c *cursor) {
	d := dnsWalker{c: c, base: c.i, limit: c.limit}
	d.message()
	c.end()
}

// dnsTCPStream is the grammar of DNS over TCP: messages, each after its
// 2-byte length, and the segment ends between messages.
func dnsTCPStream(c *cursor) {
	for {
		c.boundary()
		// Any length from the smallest message with a record (a header and
		// a root-named OPT record, 23 bytes) up is possible: the last
		// record's RDATA takes up the slack.
		room := c.room() - 2
		n := c.u16(room, func(v int) bool { return v >= 23 && v <= room })
		d := dnsWalker{c: c, base: c.i, limit: c.i + n, exact: true}
		d.message()
	}
}

type dnsWalker struct {
	c       *cursor
	base    int   // offset of the message in the payload (pointers count from it)
	limit   int   // the message ends at or before limit (exactly at it when exact)
	exact   bool  // the message must end exactly at limit
	targets []int // label offsets (in the message) of complete names
}

func (d *dnsWalker) message() {
	c := d.c
	c.skip(2) // ID
	// QR, opcode QUERY, AA, TC, RD; then RA, Z, AD, CD, RCODE.
	c.next(func(v int) bool { return v>>3&0xf == 0 })
	c.any()
	room := d.limit - d.base - 12
	rr := 0
	// count reads a section count; each entry takes at least per bytes.
	// In an exact message the last record's RDATA takes up the slack, so
	// there must be a record unless the header is all there is.
	// Counts are capped near what real messages carry (a question or a
	// few; answers, authority (13 root servers) and glue in the tens): a
	// model that loses its way would otherwise fill a frame with hundreds
	// of empty records.
	count := func(per, most int, isRR, last bool) int {
		n := c.u16(most, func(v int) bool {
			rrNow := rr
			if isRR {
				rrNow += v
			}
			return v <= most && v*per <= room && (!d.exact || rrNow > 0 || !last && v*per+11 <= room)
		})
		room -= n * per
		return n
	}
	qd := count(5, 4, false, false)
	rr += count(11, 48, true, false)
	rr += count(11, 16, true, false)
	rr += count(11, 32, true, true)
	anyRest := func(rest int) bool { return rest >= 0 }
	for q := range qd {
		// After the name: its type and class, the other questions, the
		// smallest records.
		reserve := 4 + 5*(qd-q-1) + 11*rr
		d.name(d.limit-reserve, anyRest)
		c.skip(4) // type, class: any
	}
	for k := range rr {
		reserve := 11 * (rr - k - 1)
		last := d.exact && k == rr-1
		end := d.limit - reserve
		// The owner name leaves room for the fixed fields and the
		// smallest RDATA of some type (OPT's is empty).
		d.name(end-10, anyRest)
		rd := c.i + 10 // where RDATA starts
		typ := c.u16(255, func(t int) bool {
			min, ok := dnsRRTypes[t]
			return ok && rd+min <= end && (!last || dnsRDLenOK(t, end-rd, d.hasTargets()))
		})
		c.skip(2)                                    // class
		c.next(func(v int) bool { return v < 0x80 }) // TTL: the top bit clear (RFC 2181)
		c.skip(3)
		rdlen := c.u16(end-rd, func(v int) bool {
			return rd+v <= end && (!last || rd+v == end) && dnsRDLenOK(typ, v, d.hasTargets())
		})
		d.rdata(typ, rd+rdlen)
	}
}

func (d *dnsWalker) hasTargets() bool { return len(d.targets) > 0 }

// dnsRDLenOK reports whether RDATA of type t can fill exactly n bytes.
func dnsRDLenOK(t, n int, targets bool) bool {
	nameOK := func(n int) bool { return n == 1 || n == 2 && targets || n >= 3 && n <= 255 }
	switch t {
	case 1:
		return n == 4
	case 28:
		return n == 16
	case 2, 5, 12:
		return nameOK(n)
	case 15:
		return n >= 2 && nameOK(n-2)
	case 33:
		return n >= 6 && nameOK(n-6)
	case 6:
		return n >= 22 && n-20 <= 510
	case 16:
		return n >= 1
	case 41:
		return n == 0 || n >= 4
	}
	return false
}

// rdata reads the RDATA of type t, which ends at offset end.
func (d *dnsWalker) rdata(t, end int) {
	c := d.c
	exact := func(rest int) bool { return rest == 0 }
	switch t {
	case 1, 28:
		c.skip(end - c.i)
	case 2, 5, 12:
		d.name(end, exact)
	case 15:
		c.skip(2)
		d.name(end, exact)
	case 33:
		c.skip(6)
		d.name(end, exact)
	case 6:
		// MNAME and RNAME share the bytes before the 20 bytes of numbers.
		d.name(end-20, func(rest int) bool { return rest <= 255 && (rest == 1 || rest >= 3 || rest == 2 && d.hasTargets()) })
		d.name(end-20, exact)
		c.skip(20)
	case 16:
		// Character strings without NUL (tshark reads them as C strings).
		for c.i < end {
			n := c.next(func(v int) bool { return c.i+1+v <= end })
			c.bytesIn(n, func(v int) bool { return v != 0 })
		}
	case 41:
		for c.i < end {
			room := end - c.i
			c.eq(0)
			code := c.next(func(v int) bool { return (v == 3 || v == 12) && room >= 4 || v == 10 && (room == 12 || room >= 16) })
			left := room - 4
			n := c.u16(left, func(v int) bool {
				if v > left || left-v != 0 && left-v < 4 {
					return false
				}
				return code != 10 || v == 8 || v >= 16 && v <= 40
			})
			c.skip(n)
		}
	}
}

// name reads a domain name that ends at or before end; after(rest) says
// whether the name may stop with rest bytes left before end.
func (d *dnsWalker) name(end int, after func(rest int) bool) {
	c := d.c
	wire := 0 // bytes of the name so far
	var labels []int
	// fits reports whether a name suffix can start at offset at and end
	// within end (with after accepting what is left) in at most room bytes.
	fits := func(at, room int) bool {
		for s := 1; s <= min(end-at, room); s++ {
			if (s == 1 || s == 2 && d.hasTargets() || s >= 3) && after(end-at-s) {
				return true
			}
		}
		return false
	}
	for {
		at := c.i
		v := c.next(func(v int) bool {
			switch {
			case v == 0:
				return after(end - at - 1)
			case v <= 63:
				return wire+1+v+1 <= 255 && at+1+v < end && fits(at+1+v, 255-wire-1-v)
			case v >= 0xc0:
				return at+2 <= end && after(end-at-2) && d.pointsTo(v&0x3f, -1)
			}
			return false
		})
		switch {
		case v == 0:
			d.complete(labels)
			return
		case v >= 0xc0:
			c.next(func(l int) bool { return d.pointsTo(v&0x3f, l) })
			d.complete(labels)
			return
		}
		labels = append(labels, at-d.base)
		wire += 1 + v
		c.skip(v)
	}
}

// pointsTo reports whether a compression pointer with high bits hi and low
// byte lo (lo < 0: any) names a label of a complete name.
func (d *dnsWalker) pointsTo(hi, lo int) bool {
	for _, t := range d.targets {
		if t>>8 == hi && (lo < 0 || t&0xff == lo) {
			return true
		}
	}
	return false
}

func (d *dnsWalker) complete(labels []int) {
	for _, l := range labels {
		if l < 0x4000 {
			d.targets = append(d.targets, l)
		}
	}
}
