// Package sample generates traffic from a model: grammar-constrained,
// batched, seeded sampling of whole flows (recurrent inference, constant
// cost per token), and a writer that turns them into one valid pcap.
//
// # Sampling
//
// Generate(ctx, m, n, opts, fn) samples n flows in Options.Batch rows of
// one model.State (batch B), one token per row per model.Step. Each row has
// its own position: when a row's flow ends and flows remain, the row takes
// the next flow at once, so rows stay busy until the last B flows; then
// the busy rows are packed first (model.MoveRow) and Step computes only
// them (Stats.RowSteps counts the rows stepped), so the last flows run at
// the speed of a smaller batch instead of a full one with idle rows. A
// flow comes out the same in any row. While the row's position is
// below Options.Refill the new flow goes on in the same history: the old
// flow's <end> is fed, then the new flow's <flow>, as flows follow each
// other in packed training windows (the command's default Refill is the
// training context, so that rows stay in the positions the model was
// trained on); otherwise the row is reset (model.ResetRow) and the flow
// starts at position 0. Rows with no flow left are not stepped. Step keeps the recurrent state (linear
// heads' S and z, local heads' ring of the last W+1 keys/values, token
// shift), so a token costs the same at any position and a flow may run past
// the training context.
//
// Each row's next token comes from, in order: the forced prefix (the header
// <flow> [<label:i>] <link:eth> <res:us>, or a prompt), else the model:
// the row's codec.Grammar says which tokens keep the flow decodable, the
// generation rules below narrow that set further, and Picker draws from the
// logits restricted to the set (tokens outside it get probability 0, i.e.
// logit -inf) after temperature, top-k, then top-p (Sampling). Temperature
// 0 is greedy. A packet's time tokens (magnitude and number bytes) are
// drawn with Options.TimeSampling when set (the command's default: the
// model's full distribution, temperature 1 without top-k or top-p, so
// that the inter-arrival times keep their tails). Flow i draws from its own PCG stream rand.NewPCG(Seed, i);
// a flow depends on the seed, its index, and (through the row it lands in,
// the flows before it in that row with Refill, and BLAS rounding with the
// batch size) on Batch and Refill, never on timing: the same options give
// the same flows. A flow ends at <end>, which the
// grammar forces after MaxPackets packets (prompt packets included), and
// the rules force once the flow has MaxTokens tokens and its current packet
// may end (TCP flows held to close first close, see "TCP shape"). The
// command's defaults let flows run whole: --max-packets 200 (a safety cap
// above most real flows) and no token cap; generation is recurrent, so a
// flow may run past the training context.
//
// Prompts (Options.Prompts): flow i is forced to start with prompt i mod
// len(Prompts), a real flow's header and first packets (codec.EncodeFlows
// with View{MaxPackets: K}, without the final <end>/<cut>; CheckPrompt
// tells which flows qualify: Ethernet, accepted by the grammar). The first
// sampled token after a prompt must start a packet or end the flow, so the
// prompt's packets stay whole; addresses then come from the prompt. A label
// token (Options.Label) is forced after <flow> when the model was trained
// with label tokens (the caller maps names through the dataset manifest).
//
// # Constraints
//
// The grammar alone makes every flow decode. The rules (constrain.go) add
// what tshark needs to read each packet cleanly, applied through the
// grammar's Body hook (byte values) and on the allowed set (other tokens):
//   - no flag tokens (<raw>, <f:addr>, <f:len>, <f:csum>): lengths and
//     checksums are always derived by the decoder, hence correct, and
//     addresses stay those of the flow's first packet (one 5-tuple per
//     flow, so re-tokenizing finds the same flow);
//   - times: the first packet at 0, no <neg>, gaps below 2^MaxTimeBits us;
//     no <trunc> (packets are whole);
//   - Ethernet: EtherType IPv4 or IPv6, the same for the whole flow (no
//     VLAN, ARP or LLC: their payloads would be the model's guess);
//     MAC first bytes even (unicast: either MAC is a source in one
//     direction);
//   - IPv4: version/IHL 0x45 (no options), flags 0 or DF and fragment
//     offset 0 (no fragments: they have no transport checksum), TTL > 0;
//     IPv6: version 6, no extension headers, hop limit > 0; the protocol
//     (next header) TCP or UDP, the same for the whole flow (ICMP's checksum
//     is not derived by the codec); addresses unicast (IPv4 first byte 1-223
//     but not 127, IPv6 not ff00::/8): each is a source in one direction;
//   - TCP: data offset 5..15 words with zero reserved bits, and the options
//     follow a small grammar (EOL, NOP, MSS/4, window scale/3 with shift
//     <= 14, SACK-permitted/2 (these three in SYNs only), SACK/10-34,
//     timestamps/10, each fitting the option space; zeros after EOL);
//     sequence and acknowledgment numbers follow as in a capture without
//     loss: once a direction has sent, its next packet's sequence number
//     is the last one plus its payload (plus one for SYN or FIN), and the
//     other direction acknowledges exactly that, with ACK set (ACK is set
//     too whenever the acknowledgment number is not zero); SYN only in a
//     direction's first packet; the urgent pointer zero without URG; no
//     payload after RST (tshark reads it as a reset cause);
//   - a packet cannot end before its transport header is complete, and a
//     frame stops growing at MaxFrame (1514) bytes;
//   - <mask> is allowed only where codec views put it (MAC, IP addresses,
//     ports, TTL, IP ID), for models trained on masked views; it decodes as
//     zero and the writer replaces it.
//
// # TCP shape
//
// Real TCP flows open with a handshake and end closed: in testdata/demo
// (575 TCP flows) and dev-v1/generated (797) every flow starts with SYN,
// SYN-ACK, ACK before any data, and 99.9% end with FIN both ways (88%..100%
// per capture) or a RST. Options.Handshake and Options.Close are the shares
// of TCP flows held to that (the command's default is 1 for both, as
// measured; a share below 1 draws once per flow from the flow's stream):
//   - handshake (flows without a prompt): packet 1 is client to server with
//     flags SYN and acknowledgment number 0, packet 2 server to client
//     SYN-ACK, packet 3 client to server ACK, none with payload (options
//     are the model's: MSS, window scale, SACK-permitted, timestamps);
//   - close: <end> only once the flow is closed: a RST, or FIN from both
//     directions and then an ACK from the direction that received the
//     second FIN; no packet after that. Which side closes first and when is
//     the model's (a FIN it writes starts the close), but a direction that
//     sent its FIN then sends only ACKs without payload. When the packets
//     left under MaxPackets are just enough to close (3 with no FIN yet),
//     or the flow has MaxTokens tokens, the close is forced: FIN-ACK, then
//     FIN-ACK from the other side, then the last ACK, without payload. With
//     too few packets left (MaxPackets below 6 with a handshake) <end> stays
//     allowed.
//
// # Shapes
//
// Options.Shapes (the command's --shapes CAPTURE) are real flows' shapes
// (ReadShapes: per flow its transport protocol and, per packet, direction,
// transport payload length by the IP length field, and gap since the
// previous packet in microseconds). The templates are dealt without
// replacement: flow i takes Shapes[order[i mod len(Shapes)]] for a
// permutation seeded by Seed, so n generated flows have the real shapes'
// distribution with no sampling noise of their own, and a flow sampled
// again keeps its template. The template's packet count, capped by
// MaxPackets, is the flow's budget (longestFirst orders by it), and the
// flow follows it where the grammar and the rules above allow:
//   - the IP protocol is the template's (TCP or UDP);
//   - packet k's time is the template's gap k (magnitude and number bytes
//     forced);
//   - once packet k's transport header is complete, its payload runs to
//     the template's length: no packet end before it, no byte after it;
//   - the next packet goes the template's direction, and the flow ends
//     after the template's last packet;
//   - a TCP flow held to close sends no FIN or RST before the template's
//     last three packets (where the close comes), so it does not close
//     early.
//
// Each of these narrows the allowed set only when it leaves something, so
// the other rules win where they disagree: the TCP handshake and close
// (a packet they keep empty stays empty, a FIN the model writes early
// closes the flow early), a payload grammar that cannot end its message
// at the template's length (the payload then runs to the next place it
// may end), and MaxFrame. Headers (flags, options, windows, TTLs) and
// payload bytes stay the model's. The template copies the real flows'
// sizes and timing: a generated flow's shape is a training flow's, which
// the memorisation report sees (membership); use it where the flow shapes
// are not private. Options.ShapeMix (--shape-mix) makes each template a
// mix instead: one flow's protocol, packet count, directions and gaps
// (timing stays whole: the gaps within a flow go together), and the
// payload lengths of another flow with the same protocol, packet count and
// directions drawn at random; where no other flow is like it, each later
// packet's payload length and gap come from another flow drawn at random
// that has a packet at that place going the same way (else the first
// flow's). The templates so keep the capture's distributions without
// being any one real flow (unless real flows share a shape).
//
// # Hosts
//
// Options.Hosts (the command's --hosts CAPTURE) is a pool of real flows'
// endpoints (ReadHosts: per flow its IP version, transport protocol, and
// the bytes the codec writes for its client address, server address and
// server port in the first packet; one entry per flow, so the pool has the
// capture's weights). In a generated flow's first packet the EtherType and
// protocol are narrowed to the pool's, and each address byte and server
// port byte to the endpoint dealt to the flow: the pool is split into
// groups by IP version and protocol, each group in a seeded permutation
// (rand.NewPCG(Seed, 2^61)), and flow i takes entry i mod the group's size
// of the group its first packet chooses (the model picks the EtherType and
// protocol among the pool's, by its own probabilities). Flows so take the
// real endpoints without replacement, as they take shapes, and share hosts
// and server port only as often as real flows do; a model left to choose
// favours a few pairs, and flows of one 5-tuple read back as one. Where the
// dealt endpoint does not continue the bytes so far (a prompt set them),
// each byte is narrowed to those that continue any endpoint of the group
// that matches. <mask> is not allowed there. The pool stands for the address rules, so a real
// DHCP client's 0.0.0.0 to 255.255.255.255 is possible; a flow whose
// addresses allow no answer (an IPv4 source in 0/8 or destination of 224
// and up, an unspecified IPv6 source or multicast destination) sends no
// server-to-client packet, as in a capture, where the answers come from
// the server's own address in another flow. The client port
// stays the model's: clients pick ephemeral ports. Where no endpoint
// matches (the model chose another IP version or protocol than any in the
// pool, or a prompt forced the bytes) the rules apply as without a pool.
// Hosts work with Lengths or Shapes, and without them.
//
// # Unconstrained sampling
//
// Options.GrammarOnly (the command's --constraints grammar) measures the
// model alone: only the codec grammar holds (every flow decodes into
// packets: the token syntax, MaxPackets), gaps stay non-negative and below
// 2^MaxTimeBits us so the Writer's timestamps are sane, and MaxTokens
// still ends a flow. Everything else is the model's: flag tokens (so it
// may write its own lengths, checksums and addresses), every header byte,
// the protocol, the TCP shape, payloads without grammars. The output then
// has the packets a model writes that do not parse (eval generate counts
// those packet.Decode rejects and tshark's malformed ones), which is what
// TrafficGPT's paper reports of RWKV and RetNet.
//
// # Application payloads
//
// tshark picks an application dissector by port (the lower port first), and
// a payload the model got slightly wrong is then a malformed packet. For the
// protocols below, chosen by the first packet's ports (a masked port names
// nothing), every packet's payload is held to a byte grammar of whole,
// well-formed messages (payload_*.go; each file's comment gives its
// grammar): the bytes the grammar cannot continue with are disallowed, and
// the packet may end only between messages. Messages never span packets.
//   - DNS: UDP 53, 5353 (mDNS) and 5355 (LLMNR): one message per datagram;
//     TCP 53: length-prefixed messages;
//   - MQTT 3.1.1: TCP 1883;
//   - TLS records and hellos (no certificates): TCP 443, 853, 8443, 8883;
//   - SSH: TCP 22: the banner, the key exchange in the clear, then (after
//     the direction's NEWKEYS) any bytes. SSH's grammar depends on what
//     the direction sent before, so such a protocol keeps a state per
//     direction, advanced at each packet's end.
//
// A grammar re-reads the packet's payload from its start at each byte
// (payloads are at most a frame). Other protocols' payloads are the model's
// own: tshark may flag them. The grammars are checked against tshark with
// thousands of random walks (payload_test.go).
//
// # Copies
//
// Options.NoCopy (the command's --no-copy DATASET, or "model" for the
// dataset named in the model's metadata) is a CopyIndex of the training
// data: the rolling hash of every ShingleLen (64) byte window of every
// packet's transport payload, over all splits, sorted (8 bytes per window;
// IndexDataset). When a flow ends, each of its packets' payload windows is
// looked up; a flow with a hit is sampled again in the same row from an
// empty history, from the stream rand.NewPCG(Seed, index | attempt<<48),
// at most CopyRetries times; if it still copies it is refused
// (Flow.Refused, Stats.Refused) and the Writer leaves it out. Copies that
// span packets are not looked for.
//
// # Validation
//
// The grammar and rules make every flow decode and keep its headers sane;
// what they cannot see (a payload tshark's dissector rejects on a protocol
// with no payload grammar, or a packet that slipped past a rule) is caught
// after sampling and sampled again (the command's --validate):
//   - decoder level (Options.CheckPackets): when a sampled packet ends, the
//     row decodes it (codec.FlowDecoder, then packet.Decode) and checks
//     what the Writer relies on: IPv4 or IPv6 without VLAN tags or
//     fragments, TCP or UDP, the IP length equal to the bytes carried, the
//     frame within MaxFrame, the EtherType, protocol and 5-tuple of the
//     flow's first packet (swapped for the other direction), and TCP
//     sequence and acknowledgment numbers that continue each direction's.
//     A rejected packet is sampled again from the state before it: at
//     every sampled packet start the row's recurrent state and the logits
//     its first token is drawn from are copied (model.SaveRow: per layer
//     2C + 2*SoftmaxHeads*(W+1)*D + GlobalHeads*(D*D+D) floats plus the
//     vocabulary, once per packet, about as much memory traffic as
//     the row's part of one Step; nothing is fed again); on a rejection
//     the row is restored (RestoreRow), its grammar and rules are replayed
//     from the flow's tokens up to that point (O(flow) work, only on a
//     rejection), and the packet's first token is drawn again from the
//     saved logits, among packet starts and <end> (the packet before keeps
//     its end). The flow's stream goes on, so the new draw differs. At
//     most PacketRetries times per packet; a flow that still has a
//     rejected packet (Flow.BadPackets) is rejected as a whole (below). A
//     check that rejects nothing changes no flow. With a shape template,
//     a packet that passes but whose payload length is not the
//     template's (a payload grammar or a TCP rule outweighed it) is
//     sampled again the same way (Stats.ShapeResamples), and kept as it
//     is after PacketRetries.
//   - flow level (Options.CheckFlow, e.g. TsharkCheck): finished flows wait
//     in a chunk (CheckChunk, default 64; the rest once every row has
//     finished, then again for each round of retries) and are judged
//     together: TsharkCheck
//     writes each as the Writer would (addresses, checksums, times) in its
//     own pcapng section of one stream read by one tshark process
//     (internal/tshark: about 0.3 s of CPU per call), and a flow passes when
//     none of its packets has an expert error or is malformed. A rejected
//     flow is sampled again from an empty history and the stream (Seed,
//     index | attempt<<48), after every fresh flow has started (so fresh
//     flows land in the same rows as without validation), at most
//     FlowRetries times; then it is kept with Flow.Invalid or, with
//     DropInvalid, left out (Flow.Refused). Stats count every resample,
//     rejection and drop.
//
// Both are deterministic: judgements are functions of the flows (the chunks
// are cut at fixed steps), so the same options give the same capture.
//
// # Output (Writer)
//
// NewWriter(w, n, opts) writes a classic pcap header (microseconds,
// Ethernet, snaplen 65535); AddFlow decodes each flow (codec.DecodeFlow),
// rewrites it and queues its packets; packets are written in timestamp
// order (ties: flow index, then packet order) as soon as no flow still to
// come can start before them, so memory holds the flows that overlap in
// time. Close writes the rest. The caller makes the file atomic.
//
// Start times: flow i starts at Epoch (default 2026-01-01T00:00:00Z) plus
// the sum of i+1 exponential gaps of mean 1/Rate seconds (default 10 flows
// per second), drawn from rand.NewPCG(Seed, 2^64-1) in index order; with
// WriteOptions.StartGaps (the command's --starts CAPTURE: the gaps between
// consecutive flow starts of a real capture, StartGaps) each gap is one of
// those instead, drawn uniformly, so arrivals keep the real bursts and
// lulls. Packet times are the start plus the generated inter-arrival times.
//
// Addresses (per flow, oriented client -> server by the first packet, which
// is client -> server by definition): with AddrAuto the fields the model
// left zero (masked) are replaced (but not a DHCP client's 0.0.0.0 source
// to 255.255.255.255, which is real: Options.Hosts), with AddrScheme every field of a flow
// without a prompt. Client i (flow index, from 1): IPv4 10.0.x.y (x, y from
// i-1; y in 1..254), IPv6 fd00:0:0:1::i, MAC 02:00:0a:00:hi:lo of i,
// ephemeral port 49152 + a draw below 16384 from rand.NewPCG(Seed, i|2^63)
// (also given to a flow whose prompt served an earlier flow, so that every
// flow keeps its own 5-tuple). Likewise a flow whose final 5-tuple an
// earlier flow of the file already has (the model wrote the same hosts and
// client port, which --hosts makes likely) gets a new ephemeral client port
// from the same stream, unless its client port is a well-known one (< 1024:
// DHCP's 68, NTP's 123), which real clients share: such a flow starts
// instead one second past WriteOptions.FlowIdle (the flow idle timeout,
// the command's --idle-timeout) after the last packet of the earlier flow
// with its 5-tuple, so that it reads back as a flow of its own, as real
// clients' repeats do (WriteStats.Delayed counts them). Tuples are recorded
// as flows are added; Render records none.
// Server s numbers the distinct (EtherType, protocol, server port) in order
// of first appearance, so all DNS flows share one server: IPv4 10.1.x.y,
// IPv6 fd00:0:0:2::s, MAC 02:00:0a:01:hi:lo; the server port is the
// model's (it names the service; a masked one stays 0). Both directions get
// the same pair, swapped. A zero TTL or hop limit becomes 64. When a packet
// changed, its IPv4 header checksum and TCP/UDP checksum are recomputed.
package sample
