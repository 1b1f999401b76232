// Package capture reads packets live from a network interface and hands them
// on as a classic pcap byte stream, so everything that reads captures
// (pcap.NewReader, flow.ReadFlows, codec.EncodeFlows, classify) reads an
// interface exactly as it reads a file or a pipe: one record stream, one
// code path, memory bounded by active flows downstream.
//
// # Stream
//
// Open returns a Source, an io.ReadCloser whose bytes are a classic pcap
// file: the 24-byte little-endian header with the nanosecond magic
// (0xa1b23c4d), version 2.4, the snaplen and the link type, then one record
// per packet (16-byte header: seconds, nanoseconds, caplen, original length;
// then the captured bytes). Read blocks until a packet arrives; it returns
// io.EOF (after the last whole record) when the context passed to Open is
// done, when Count packets were read or when Duration has passed, so a
// consumer sees a clean end of capture and finishes its flows. Timestamps are
// the kernel's receive times (SO_TIMESTAMPNS).
//
// Link types: Ethernet and loopback devices give LINKTYPE_ETHERNET (1),
// devices without a link header (tun, ARPHRD_NONE) LINKTYPE_RAW (101); others
// are ErrLinkType. On loopback every packet is seen twice by a packet socket
// (sent and received); the sent copy is dropped, as tcpdump does. The kernel
// strips 802.1Q tags before a packet socket sees them (they are not put back).
//
// # Mechanism: AF_PACKET through golang.org/x/sys/unix
//
// A SOCK_RAW packet socket bound to the interface, no cgo and no libpcap at
// run time: the binary stays one static Go program (the purego build has no
// C at all), and CI needs no libpcap-dev. The socket is created with
// protocol 0 (it receives nothing), the filter is attached, and only then is
// it bound to ETH_P_ALL, so no packet that fails the filter is ever read.
// Promiscuous mode is a PACKET_ADD_MEMBERSHIP that ends with the socket.
// Drops (the kernel's PACKET_STATISTICS) are in Stats.
//
// # Filters
//
// Filter is a pcap-filter(7) expression ("tcp port 443", "host 10.0.0.1 and
// not udp"), the syntax tcpdump and Wireshark capture filters share. It is
// compiled to classic BPF by libpcap's own compiler through `tcpdump -ddd`
// (tcpdump is a packaged tool; it is needed only when a filter is given), and
// the program is attached to the socket (SO_ATTACH_FILTER), so filtering runs
// in the kernel. Writing a second compiler for a subset of the syntax would
// give a filter language that differs from tcpdump's in its corner cases;
// linking libpcap through cgo would make every build need libpcap-dev. A
// program that does not parse is ErrFilter with tcpdump's message.
//
// # Namespaces
//
// Netns names a network namespace (a name under /var/run/netns, as `ip netns
// add` makes, or a path such as /proc/PID/ns/net): the socket is created
// inside it, so one can capture a container's interface from outside; the
// rest of the program stays where it is.
//
// Linux only; elsewhere Open returns ErrUnsupported.
package capture
