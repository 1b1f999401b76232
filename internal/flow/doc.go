// Package flow groups the packets of a capture into bidirectional flows.
//
// # Contract
//
// Every packet record belongs to exactly one flow. Flows are keyed by
// packet.Key (5-tuple for TCP/UDP, address pair and protocol for other IP
// traffic, MAC pair and EtherType for non-IP frames, link type for
// undecodable records; Scope(section, interface) separates interfaces and
// pcapng sections: the one definition of a flow's scope). Flow ids are 0, 1, 2, ... in order of first appearance; a
// flow's client is the sender of its first packet, and Assignment.C2S says
// whether a packet goes the same way.
//
// A flow ends (defaults in DefaultConfig):
//   - idle: no packet for more than IdleTimeout (120 s, the CICFlowMeter
//     and nfstream order of magnitude);
//   - TCP close: after a RST, or after FINs in both directions, the flow
//     ends once TCPCloseGrace (2 s) passes without a packet, or at once
//     when a SYN without ACK arrives for the same key; that SYN starts a new
//     flow (port reuse);
//   - EOF: Finish ends all active flows, ordered by id.
//
// Time is the latest timestamp seen so far (the clock never goes backwards):
// timestamps that go backwards in a capture neither crash nor reorder
// anything; such a packet counts as seen at the clock's time. Ended reports
// flows in the order their deadlines passed (ties by id), and everything is
// deterministic given the input.
//
// IP fragments: a non-first fragment is assigned (by Assembler.AddLayers) to
// the flow of its datagram's first fragment, found by (scope, source,
// destination, protocol, fragment id), when the first fragment was seen no
// more than FragTimeout (30 s) earlier and that flow is still active; at most
// MaxFragments (4096) datagrams are remembered. Otherwise it goes to the
// (address pair, protocol) flow.
//
// Community ID (communityid.go): CommunityID hashes a Tuple as the
// Community ID spec v1 says (SHA-1 over seed, ordered endpoints, protocol
// and, for TCP/UDP/SCTP/ICMP/ICMPv6, ports or ICMP type and counterpart),
// "1:" plus base64; seed 0 is what Zeek, Suricata and tshark log. A flow's
// Community ID is its first packet's (PacketCommunityID, Flow.CommunityID);
// it is "" for non-IP flows and for a first packet whose ports were not
// captured. It is checked against the spec's baseline and tshark.
//
// Cost and memory: Add is O(1) amortised (a hash lookup, and expiry pops from
// the heads of two intrusive lists ordered by last activity: open flows
// with the idle timeout, closing TCP flows with the grace timeout). Memory is
// O(active flows + remembered fragments); ended flows are forgotten once
// returned by Ended.
//
// Scan is the one loop from a capture to flows (the codec, hence dataset
// building and `flows`, and the generation evaluation all use it): every
// record, every packet decoded once with its Assignment, every flow's end,
// streaming with the Assembler's memory. A reader error is returned without
// ending the active flows. ReadFlows is the whole-flow view on top of Scan:
// it holds the copied packets of active flows only and hands each flow to
// its callback as it ends.
package flow
