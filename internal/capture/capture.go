package capture

import (
	"errors"
	"time"
)

// Errors; each is wrapped with the details.
var (
	ErrUnsupported = errors.New("capture: live capture needs Linux (AF_PACKET)")
	ErrLinkType    = errors.New("capture: unsupported link type")
	ErrFilter      = errors.New("capture: bad filter")
	ErrInterface   = errors.New("capture: cannot open interface")
)

// Link types of the stream (pcap LINKTYPE_ values).
const (
	LinkEthernet uint32 = 1
	LinkRaw      uint32 = 101
)

// DefaultSnaplen is the longest packet kept whole (as tcpdump's default).
const DefaultSnaplen = 262144

// Options configure Open.
type Options struct {
	Interface string        // e.g. "eth0"
	Filter    string        // pcap-filter expression; "" keeps every packet
	Snaplen   int           // bytes kept per packet (0: DefaultSnaplen)
	Promisc   bool          // put the interface in promiscuous mode while open
	Count     int           // end the stream after this many packets (0: no limit)
	Duration  time.Duration // end the stream after this long (0: no limit)
	Netns     string        // network namespace of the interface ("": this process's)
}

// Stats are the socket's counters so far.
type Stats struct {
	Packets int    // packets handed on
	Bytes   int64  // stream bytes handed on
	Dropped uint32 // packets the kernel dropped (its buffer was full)
}

// pcapHeader is the stream's file header: little-endian, nanosecond magic.
func pcapHeader(snaplen int, link uint32) []byte {
	h := make([]byte, 24)
	le32(h[0:], 0xa1b23c4d)
	h[4], h[6] = 2, 4 // version 2.4, little-endian
	le32(h[16:], uint32(snaplen))
	le32(h[20:], link)
	return h
}

// appendRecord appends one packet record (16-byte header + data).
func appendRecord(b []byte, ts time.Time, data []byte, origLen int) []byte {
	var h [16]byte
	le32(h[0:], uint32(ts.Unix()))
	le32(h[4:], uint32(ts.Nanosecond()))
	le32(h[8:], uint32(len(data)))
	le32(h[12:], uint32(origLen))
	return append(append(b, h[:]...), data...)
}

func le32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
