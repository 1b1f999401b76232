package sample

import "strings"

// The SSH grammar (RFC 4253, as tshark's SSH dissector reads it), with a
// state per direction:
//   - sshBanner: the first payload is the identification line
//     "SSH-2.0-" + printable characters + CR LF (at most 255 bytes);
//   - sshClear: binary packets in the clear, whole in the segment: a
//     length, a padding length of 4 or more, a message and the padding;
//     messages KEXINIT (cookie, ten printable name-lists, a boolean, zero),
//     NEWKEYS, and the ECDH KEX_ECDH_INIT (a string) and KEX_ECDH_REPLY (a
//     host key of type ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa
//     with that type's strings, the server's key, a signature of a type and
//     a blob);
//   - sshEncrypted: after the direction's NEWKEYS, any bytes (tshark cannot
//     read encrypted packets), at least 32 in a segment.
// tshark picks the key exchange's messages by the negotiated method, so a
// model that names a Diffie-Hellman group exchange first may still see its
// 30/31 messages read as that method's.

const (
	sshBanner = iota
	sshClear
	sshEncrypted
)

// sshNext moves a direction on after a packet: past the banner, and past a
// NEWKEYS message.
func sshNext(state int, p []byte) int {
	switch state {
	case sshBanner:
		if len(p) >= 4 && string(p[:4]) == "SSH-" {
			return sshClear
		}
	case sshClear:
		for i := 0; i+6 <= len(p); {
			n := int(p[i])<<24 | int(p[i+1])<<16 | int(p[i+2])<<8 | int(p[i+3])
			if p[i+5] == 21 {
				return sshEncrypted
			}
			if n <= 0 || n > len(p) {
				break
			}
			i += 4 + n
		}
	}
	return state
}

// sshMinMessage is the smallest payload (message code included) of each
// message written in the clear.
// KEX_ECDH_REPLY: the host key (a length and the smallest blob, 19 bytes),
// the server's key (4) and the signature (12).
var sshMinMessage = map[int]int{20: 1 + 16 + 10*4 + 1 + 4, 21: 1, 30: 1 + 4 + 1, 31: 1 + 4 + 19 + 4 + 1 + 12}

// sshHostKeys are the host key types written, with the number of strings
// after the type name in their blob.
var sshHostKeys = map[string]int{"ssh-ed25519": 1, "ecdsa-sha2-nistp256": 2, "ecdsa-sha2-nistp384": 2,
	"ecdsa-sha2-nistp521": 2, "ssh-rsa": 2}

func sshStream(c *cursor) {
	switch c.state {
	case sshBanner:
		// The line must fit: "SSH-2.0-", a character at least, CR LF.
		c.boundary()
		c.next(func(v int) bool { return v == 'S' && c.room() >= 11 })
		for _, v := range "SH-2.0-" {
			c.eq(int(v))
		}
		for n := 8; ; n++ {
			v := c.next(func(v int) bool {
				return v >= 0x20 && v < 0x7f && n < 253 && c.room() >= 3 || v == '\r' && n > 8
			})
			if v == '\r' {
				c.eq('\n')
				c.end()
			}
		}
	case sshEncrypted:
		// tshark reads an encrypted packet's length and MAC: a segment of
		// a few bytes is a malformed packet to it. 32 bytes is the least an
		// OpenSSH packet takes (length, a padded block, a 16-byte MAC).
		c.boundary()
		c.next(func(int) bool { return c.room() >= 32 })
		c.skip(31)
		for {
			c.boundary()
			c.any()
		}
	}
	for {
		c.boundary()
		room := c.room()
		at := c.i
		// Packet length < 2^16; padding >= 4; the message fills the rest.
		c.next(func(v int) bool { return v == 0 && room >= 10 })
		c.eq(0)
		n := c.u16(room-4, func(n int) bool { return n >= 6 && at+4+n <= c.limit })
		end := at + 4 + n
		pad := c.next(func(p int) bool {
			m := n - 1 - p
			return p >= 4 && (m == 1 || m >= 6)
		})
		mend := end - pad
		m := mend - c.i
		code := c.next(func(v int) bool {
			min, ok := sshMinMessage[v]
			return ok && m >= min && (v != 21 || m == 1) && (v != 30 || m <= 1+4+1025)
		})
		switch code {
		case 20:
			c.skip(16) // cookie
			for k := range 10 {
				left := 10 - k - 1
				sshString(c, mend, func(r int) bool {
					if left == 0 {
						return r == 5
					}
					return r >= 4*left+5
				}, printable)
			}
			c.next(func(v int) bool { return v <= 1 })
			for range 4 {
				c.eq(0)
			}
		case 30:
			sshKey(c, mend, exactRest)
		case 31:
			sshHostKey(c, mend)
			sshKey(c, mend, func(r int) bool { return r >= 12 }) // server's ephemeral key
			// The signature: a string holding a type name and a blob.
			sshLength(c, mend, exactRest)
			sshString(c, mend, func(r int) bool { return r >= 4 }, printable)
			sshString(c, mend, exactRest, nil)
		}
		c.skip(end - c.i) // padding
	}
}

// sshLength reads a 4-byte length (below 2^16) of a part ending before end,
// leaving a rest of which rest approves.
func sshLength(c *cursor, end int, rest func(r int) bool) int {
	at := c.i
	c.eq(0)
	c.eq(0)
	return c.u16(max(end-at-4, 0), func(n int) bool { r := end - at - 4 - n; return r >= 0 && rest(r) })
}

// sshKey reads an ephemeral public key: ECDH's Q_C or Q_S, which tshark
// reads as the Diffie-Hellman e or f (an mpint of 1-1025 bytes) while it
// does not know the negotiated method.
func sshKey(c *cursor, end int, rest func(r int) bool) {
	at := c.i
	n := sshLength(c, end, func(r int) bool { n := end - at - 4 - r; return n >= 1 && n <= 1025 && rest(r) })
	c.skip(n)
}

// sshString reads a string (4-byte length, bytes each satisfying ok).
func sshString(c *cursor, end int, rest func(r int) bool, ok func(v int) bool) {
	n := sshLength(c, end, rest)
	c.bytesIn(n, ok)
}

// sshHostKey reads K_S, a string holding a host key type name and the
// type's strings, the last filling the blob; the server's key and the
// signature (>= 17 bytes) follow before end.
func sshHostKey(c *cursor, end int) {
	at0 := c.i
	blob := sshLength(c, end, func(r int) bool { return r >= 17 && end-at0-4-r >= 19 })
	bend := c.i + blob
	// The type name's length must be one of the known names', leaving room
	// for their strings.
	at := c.i
	tlen := sshLength(c, bend, func(r int) bool {
		for name, k := range sshHostKeys {
			if len(name) == bend-at-4-r && r >= 4*k {
				return true
			}
		}
		return false
	})
	start := c.i
	for j := range tlen {
		c.next(func(v int) bool {
			for name, k := range sshHostKeys {
				if len(name) == tlen && name[j] == byte(v) && string(c.p[start:start+j]) == name[:j] && bend-start-tlen >= 4*k {
					return true
				}
			}
			return false
		})
	}
	name := string(c.p[start : start+tlen])
	k := sshHostKeys[name]
	for s := range k {
		left := k - s - 1
		var ok func(v int) bool
		if s == 0 && strings.HasPrefix(name, "ecdsa") {
			ok = printable // the curve's name, e.g. nistp256
		}
		sshString(c, bend, func(r int) bool {
			if left == 0 {
				return r == 0
			}
			return r >= 4*left
		}, ok)
	}
}
