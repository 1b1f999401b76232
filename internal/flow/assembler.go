package flow

import (
	"slices"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/packet"
)

// Config sets the flow timeouts. The zero value of a field means its default.
type Config struct {
	// IdleTimeout ends a flow that has seen no packet for longer than this.
	IdleTimeout time.Duration
	// TCPCloseGrace: after a RST, or FINs in both directions, the flow ends
	// once this passes without packets, or at once when a SYN without ACK
	// arrives for the same key.
	TCPCloseGrace time.Duration
	// FragTimeout is how long a first IP fragment's flow is remembered for
	// the later fragments of the same datagram; MaxFragments bounds how many
	// datagrams are remembered (the oldest is forgotten first).
	FragTimeout  time.Duration
	MaxFragments int
}

// Defaults; see the package documentation.
const (
	DefaultIdleTimeout   = 120 * time.Second
	DefaultTCPCloseGrace = 2 * time.Second
	DefaultFragTimeout   = 30 * time.Second
	DefaultMaxFragments  = 4096
)

// DefaultConfig returns the default timeouts.
func DefaultConfig() Config {
	return Config{
		IdleTimeout:   DefaultIdleTimeout,
		TCPCloseGrace: DefaultTCPCloseGrace,
		FragTimeout:   DefaultFragTimeout,
		MaxFragments:  DefaultMaxFragments,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = d.IdleTimeout
	}
	if c.TCPCloseGrace <= 0 {
		c.TCPCloseGrace = d.TCPCloseGrace
	}
	if c.FragTimeout <= 0 {
		c.FragTimeout = d.FragTimeout
	}
	if c.MaxFragments <= 0 {
		c.MaxFragments = d.MaxFragments
	}
	return c
}

// EndReason says why a flow ended.
type EndReason uint8

const (
	EndIdle EndReason = iota + 1 // IdleTimeout passed without packets
	EndFIN                       // FINs in both directions, then TCPCloseGrace or a new SYN
	EndRST                       // RST, then TCPCloseGrace or a new SYN
	EndEOF                       // still active at the end of the capture
)

func (r EndReason) String() string {
	switch r {
	case EndIdle:
		return "idle"
	case EndFIN:
		return "fin"
	case EndRST:
		return "rst"
	case EndEOF:
		return "eof"
	}
	return "unknown"
}

// Assignment is the flow a packet belongs to.
type Assignment struct {
	Flow uint64 // flow id: 0, 1, 2, ... in order of first appearance
	New  bool   // the packet is the flow's first
	C2S  bool   // same direction as the flow's first packet (client to server)
}

// Ended describes a flow that ended.
type Ended struct {
	Flow      uint64
	Key       packet.Key
	FirstAToB bool // direction of the first packet relative to Key (see Key.ClientServer)
	Reason    EndReason
	First     int64 // timestamp of the first packet (ns)
	Last      int64 // timestamp of the last packet (ns)
	Packets   int
}

// state of one active flow; slots are recycled through a free list.
type state struct {
	id         uint64
	key        packet.Key
	firstAToB  bool
	finA, finB bool
	closing    bool
	reason     EndReason // set when closing
	first      int64     // packet timestamp of the first packet
	lastTs     int64     // packet timestamp of the last packet
	last       int64     // assembler clock at the last packet (orders the lists)
	packets    int
	list       uint8 // listOpen or listClosing
	prev, next int32
}

const (
	listOpen    = 0
	listClosing = 1
	none        = int32(-1)
)

// list is an intrusive doubly-linked list of slots ordered by last.
type list struct{ head, tail int32 }

type fragKey struct {
	scope    uint64
	src, dst [16]byte
	proto    uint8
	id       uint32
}

type fragEntry struct {
	slot int32
	flow uint64
	c2s  bool
	at   int64 // clock when the first fragment was seen
}

// Assembler assigns packets to bidirectional flows and reports flows as
// they end. It is not safe for concurrent use.
type Assembler struct {
	cfg     Config
	idle    int64 // cfg.IdleTimeout in ns
	grace   int64
	fragTTL int64

	clock   int64 // latest timestamp seen
	started bool
	nextID  uint64

	byKey   map[packet.Key]int32
	slots   []state
	free    []int32
	lists   [2]list
	pending []Ended

	frags  map[fragKey]fragEntry
	fragQ  []fragKey // remembered datagrams in insertion order, from fragHd
	fragHd int
}

// NewAssembler returns an empty assembler; zero fields of cfg take their
// defaults.
func NewAssembler(cfg Config) *Assembler {
	cfg = cfg.withDefaults()
	return &Assembler{
		cfg:     cfg,
		idle:    int64(cfg.IdleTimeout),
		grace:   int64(cfg.TCPCloseGrace),
		fragTTL: int64(cfg.FragTimeout),
		byKey:   make(map[packet.Key]int32),
		lists:   [2]list{{none, none}, {none, none}},
		frags:   make(map[fragKey]fragEntry),
	}
}

// Active returns the number of active flows.
func (a *Assembler) Active() int { return len(a.byKey) }

// Add assigns a packet with timestamp tsNanos and flow key to a flow. aToB is
// its direction relative to key (from packet.KeyOf); tcpFlags and isTCP drive
// the TCP close logic. Flows that end because of this packet's time or flags
// become available from Ended.
func (a *Assembler) Add(tsNanos int64, key packet.Key, aToB bool, tcpFlags uint8, isTCP bool) Assignment {
	as, _ := a.add(tsNanos, key, aToB, tcpFlags, isTCP)
	return as
}

func (a *Assembler) add(tsNanos int64, key packet.Key, aToB bool, tcpFlags uint8, isTCP bool) (Assignment, int32) {
	a.advance(tsNanos)
	idx, ok := a.byKey[key]
	if ok && isTCP && a.slots[idx].closing && tcpFlags&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn {
		// A new connection reuses the 5-tuple of one that has closed.
		a.end(idx, a.slots[idx].reason)
		ok = false
	}
	var as Assignment
	if !ok {
		idx = a.open(tsNanos, key, aToB)
		as.New = true
	}
	s := &a.slots[idx]
	as.Flow = s.id
	as.C2S = aToB == s.firstAToB
	a.touch(idx, tsNanos)
	if isTCP && !s.closing {
		if tcpFlags&packet.TCPFin != 0 {
			if aToB {
				s.finA = true
			} else {
				s.finB = true
			}
		}
		switch {
		case tcpFlags&packet.TCPRst != 0:
			a.close(idx, EndRST)
		case s.finA && s.finB:
			a.close(idx, EndFIN)
		}
	}
	return as, idx
}

// AddLayers is Add for a packet decoded by packet.Decode, with its key's
// Scope set to scope. It also assigns IP fragments: a non-first fragment
// goes to the flow of its datagram's first fragment when that was seen less
// than FragTimeout ago (and the flow is still active), otherwise to its
// (address pair, protocol) flow.
func (a *Assembler) AddLayers(tsNanos int64, l *packet.Layers, data []byte, scope uint64) Assignment {
	key, aToB := packet.KeyOf(l, data)
	key.Scope = scope
	if !l.Fragment || l.IPVersion == 0 {
		return a.Add(tsNanos, key, aToB, l.TCPFlags, l.IsTCP())
	}
	fk := fragKey{scope: scope, proto: l.Proto, id: l.FragID}
	if l.IPVersion == 4 {
		s, d := l.Src.As4(), l.Dst.As4()
		copy(fk.src[:], s[:])
		copy(fk.dst[:], d[:])
	} else {
		fk.src, fk.dst = l.Src.As16(), l.Dst.As16()
	}
	if l.FragOffset == 0 {
		as, idx := a.add(tsNanos, key, aToB, l.TCPFlags, l.IsTCP())
		a.rememberFrag(fk, as, idx)
		return as
	}
	a.advance(tsNanos)
	if e, ok := a.frags[fk]; ok && a.clock-e.at <= a.fragTTL && e.slot < int32(len(a.slots)) && a.slots[e.slot].id == e.flow {
		a.touch(e.slot, tsNanos)
		return Assignment{Flow: e.flow, C2S: e.c2s}
	}
	return a.Add(tsNanos, key, aToB, 0, false)
}

func (a *Assembler) rememberFrag(fk fragKey, as Assignment, slot int32) {
	e := fragEntry{slot: slot, flow: as.Flow, c2s: as.C2S, at: a.clock}
	if _, ok := a.frags[fk]; ok {
		// The same datagram id again: refresh it in place, so that the
		// queue keeps exactly one item per remembered datagram.
		a.frags[fk] = e
		return
	}
	// Forget datagrams that are too old or too many, oldest first.
	for a.fragHd < len(a.fragQ) {
		front := a.fragQ[a.fragHd]
		if len(a.frags) < a.cfg.MaxFragments && a.clock-a.frags[front].at <= a.fragTTL {
			break
		}
		delete(a.frags, front)
		a.fragHd++
	}
	if a.fragHd > 64 && a.fragHd*2 > len(a.fragQ) {
		n := copy(a.fragQ, a.fragQ[a.fragHd:])
		a.fragQ = a.fragQ[:n]
		a.fragHd = 0
	}
	a.frags[fk] = e
	a.fragQ = append(a.fragQ, fk)
}

// Ended appends to dst the flows that ended since the last call (in the
// order they ended: by deadline, then id) and forgets them.
func (a *Assembler) Ended(dst []Ended) []Ended {
	dst = append(dst, a.pending...)
	clear(a.pending)
	a.pending = a.pending[:0]
	return dst
}

// Finish ends every active flow (EndEOF), appends to dst the pending ended
// flows and then those, ordered by id, and resets the assembler's flows.
func (a *Assembler) Finish(dst []Ended) []Ended {
	dst = a.Ended(dst)
	idx := make([]int32, 0, len(a.byKey))
	for _, i := range a.byKey {
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(x, y int32) int {
		if a.slots[x].id < a.slots[y].id {
			return -1
		}
		return 1
	})
	for _, i := range idx {
		a.end(i, EndEOF)
	}
	return a.Ended(dst)
}

// advance moves the clock to ts (never backwards) and ends the flows whose
// timeout has passed.
func (a *Assembler) advance(ts int64) {
	if !a.started || ts > a.clock {
		a.clock = ts
		a.started = true
	}
	for {
		ho, hc := a.lists[listOpen].head, a.lists[listClosing].head
		var do, dc int64
		okO, okC := false, false
		if ho != none {
			do = a.slots[ho].last + a.idle
			okO = a.clock > do
		}
		if hc != none {
			dc = a.slots[hc].last + a.grace
			okC = a.clock > dc
		}
		switch {
		case okO && (!okC || do < dc || do == dc && a.slots[ho].id < a.slots[hc].id):
			a.end(ho, EndIdle)
		case okC:
			a.end(hc, a.slots[hc].reason)
		default:
			return
		}
	}
}

func (a *Assembler) open(ts int64, key packet.Key, aToB bool) int32 {
	var idx int32
	if n := len(a.free); n > 0 {
		idx = a.free[n-1]
		a.free = a.free[:n-1]
	} else {
		a.slots = append(a.slots, state{})
		idx = int32(len(a.slots) - 1)
	}
	a.slots[idx] = state{id: a.nextID, key: key, firstAToB: aToB, first: ts, last: a.clock, prev: none, next: none, list: listOpen}
	a.nextID++
	a.byKey[key] = idx
	a.push(listOpen, idx)
	return idx
}

// touch records a packet of slot idx and moves it to the end of its list.
func (a *Assembler) touch(idx int32, ts int64) {
	s := &a.slots[idx]
	s.packets++
	s.lastTs = ts
	s.last = a.clock
	a.unlink(idx)
	a.push(s.list, idx)
}

func (a *Assembler) close(idx int32, why EndReason) {
	s := &a.slots[idx]
	s.closing = true
	s.reason = why
	a.unlink(idx)
	s.list = listClosing
	a.push(listClosing, idx)
}

func (a *Assembler) end(idx int32, why EndReason) {
	s := &a.slots[idx]
	a.pending = append(a.pending, Ended{
		Flow: s.id, Key: s.key, FirstAToB: s.firstAToB, Reason: why,
		First: s.first, Last: s.lastTs, Packets: s.packets,
	})
	a.unlink(idx)
	delete(a.byKey, s.key)
	*s = state{id: ^uint64(0), prev: none, next: none}
	a.free = append(a.free, idx)
}

func (a *Assembler) push(l uint8, idx int32) {
	lst := &a.lists[l]
	s := &a.slots[idx]
	s.prev, s.next = lst.tail, none
	if lst.tail != none {
		a.slots[lst.tail].next = idx
	} else {
		lst.head = idx
	}
	lst.tail = idx
}

func (a *Assembler) unlink(idx int32) {
	s := &a.slots[idx]
	lst := &a.lists[s.list]
	if s.prev != none {
		a.slots[s.prev].next = s.next
	} else if lst.head == idx {
		lst.head = s.next
	}
	if s.next != none {
		a.slots[s.next].prev = s.prev
	} else if lst.tail == idx {
		lst.tail = s.prev
	}
	s.prev, s.next = none, none
}
