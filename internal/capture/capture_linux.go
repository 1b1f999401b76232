//go:build linux

package capture

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Source is a live capture as a pcap byte stream (see the package doc).
type Source struct {
	ctx      context.Context
	fd       int
	o        Options
	link     uint32
	loopback bool
	deadline time.Time
	buf      []byte // one packet (snaplen)
	oob      []byte
	pending  []byte // stream bytes not yet read
	off      int
	stats    Stats
	done     bool
}

// poll wakes Read this often to check the context and the deadline.
const pollInterval = 100 * time.Millisecond

// htons for the protocol field of packet sockets.
func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Open starts capturing on o.Interface. The stream ends (io.EOF) when ctx
// is done, or after o.Count packets or o.Duration.
func Open(ctx context.Context, o Options) (*Source, error) {
	if o.Snaplen <= 0 {
		o.Snaplen = DefaultSnaplen
	}
	if o.Interface == "" {
		return nil, fmt.Errorf("%w: no interface named", ErrInterface)
	}
	s := &Source{ctx: ctx, o: o, fd: -1}
	var err error
	if o.Netns != "" {
		err = inNetns(o.Netns, s.open)
	} else {
		err = s.open()
	}
	if err != nil {
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
		return nil, err
	}
	if o.Duration > 0 {
		s.deadline = time.Now().Add(o.Duration)
	}
	s.buf = make([]byte, o.Snaplen)
	s.oob = make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{}))))
	s.pending = pcapHeader(o.Snaplen, s.link)
	return s, nil
}

// open creates, filters and binds the socket (in the current thread's
// network namespace).
func (s *Source) open() error {
	o := s.o
	ifi, err := net.InterfaceByName(o.Interface)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInterface, o.Interface, err)
	}
	arphrd, err := hwType(o.Interface)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInterface, o.Interface, err)
	}
	switch arphrd {
	case unix.ARPHRD_ETHER:
		s.link = LinkEthernet
	case unix.ARPHRD_LOOPBACK:
		s.link, s.loopback = LinkEthernet, true
	case unix.ARPHRD_NONE:
		s.link = LinkRaw
	default:
		return fmt.Errorf("%w: %s has ARPHRD type %d (Ethernet, loopback and raw IP are supported)", ErrLinkType, o.Interface, arphrd)
	}
	// Protocol 0: nothing is received before bind, so the filter applies to
	// every packet read.
	s.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%w: %s: packet socket: %v (needs root or CAP_NET_RAW)", ErrInterface, o.Interface, err)
	}
	if o.Filter != "" {
		prog, err := CompileFilter(o.Filter, s.link, o.Snaplen)
		if err != nil {
			return err
		}
		fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
		if err := unix.SetsockoptSockFprog(s.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp); err != nil {
			return fmt.Errorf("%w: %q: attach: %v", ErrFilter, o.Filter, err)
		}
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fmt.Errorf("%w: %s: timestamps: %v", ErrInterface, o.Interface, err)
	}
	// A larger receive buffer rides out bursts while the consumer computes.
	_ = unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	if o.Promisc {
		mr := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(s.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr); err != nil {
			return fmt.Errorf("%w: %s: promiscuous mode: %v", ErrInterface, o.Interface, err)
		}
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}
	if err := unix.Bind(s.fd, sa); err != nil {
		return fmt.Errorf("%w: %s: bind: %v", ErrInterface, o.Interface, err)
	}
	return nil
}

// hwType reads the interface's ARPHRD type with SIOCGIFHWADDR.
func hwType(name string) (uint16, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return 0, err
	}
	// struct ifreq: name[16], then struct sockaddr hwaddr: sa_family first.
	raw := (*[unix.IFNAMSIZ + 2]byte)(unsafe.Pointer(ifr))
	return binary.NativeEndian.Uint16(raw[unix.IFNAMSIZ:]), nil
}

// inNetns runs fn on a locked thread moved into the named network namespace.
func inNetns(name string, fn func() error) error {
	path := name
	if !strings.ContainsRune(name, '/') {
		path = filepath.Join("/var/run/netns", name)
	}
	target, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: netns %s: %v", ErrInterface, name, err)
	}
	defer target.Close()
	runtime.LockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("%w: own netns: %v", ErrInterface, err)
	}
	defer self.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("%w: enter netns %s: %v", ErrInterface, name, err)
	}
	ferr := fn()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays locked and dies with this goroutine's end
		// instead of serving others in the wrong namespace.
		return fmt.Errorf("%w: leave netns %s: %v", ErrInterface, name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// LinkType is the stream's pcap link type.
func (s *Source) LinkType() uint32 { return s.link }

// Stats returns the counters so far.
func (s *Source) Stats() Stats {
	// The kernel resets its counters on every read: add them up here.
	if ts, err := unix.GetsockoptTpacketStats(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		s.stats.Dropped += ts.Drops
	}
	return s.stats
}

// Read reads stream bytes; it blocks until a packet arrives or the stream
// ends.
func (s *Source) Read(p []byte) (int, error) {
	for s.off == len(s.pending) {
		if s.done {
			return 0, io.EOF
		}
		if err := s.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.pending[s.off:])
	s.off += n
	s.stats.Bytes += int64(n)
	return n, nil
}

// next waits for one packet and puts its record in pending, or sets done.
func (s *Source) next() error {
	s.pending, s.off = s.pending[:0], 0
	for {
		if s.ctx.Err() != nil || (s.o.Count > 0 && s.stats.Packets >= s.o.Count) {
			s.done = true
			return nil
		}
		wait := pollInterval
		if !s.deadline.IsZero() {
			left := time.Until(s.deadline)
			if left <= 0 {
				s.done = true
				return nil
			}
			wait = min(wait, left)
		}
		fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(wait.Milliseconds())+1)
		if err == unix.EINTR || n == 0 {
			continue
		}
		if err != nil {
			return fmt.Errorf("capture: %s: poll: %w", s.o.Interface, err)
		}
		size, oobn, _, from, err := unix.Recvmsg(s.fd, s.buf, s.oob, unix.MSG_TRUNC|unix.MSG_DONTWAIT)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("capture: %s: receive: %w", s.o.Interface, err)
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && s.loopback && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		ts := receiveTime(s.oob[:oobn])
		s.pending = appendRecord(s.pending, ts, s.buf[:min(size, len(s.buf))], size)
		s.stats.Packets++
		return nil
	}
}

// receiveTime is the kernel's SO_TIMESTAMPNS time, or now without one.
func receiveTime(oob []byte) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
				ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
				return time.Unix(ts.Unix())
			}
		}
	}
	return time.Now()
}

// Close ends the capture.
func (s *Source) Close() error {
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	return err
}
