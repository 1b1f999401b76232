// Package evalgen compares generated captures with real ones: the whole of
// `trafficgpt eval generate` but its flags and printing.
//
// # Contract
//
// Run(ctx, Options) reads the real, generated and (optional) training
// captures (files or folders, pcap.Find), Workers files at a time, and
// merges per-file results in file order, so the Report is deterministic
// given the inputs and options (every random choice is seeded: discriminator
// seeds 1..Seeds, the memorisation sample with a fixed seed, the floor's
// halves with FloorSeed).
//
// Reading streams: each packet is decoded once (packet.Decode), assigned to
// a flow by flow.Assembler with flow.DefaultConfig and flow.Scope, folded
// into the side's header histograms at once and into its flow's O(1) state,
// which becomes one row of flow features (metric.FlowAcc) when the flow
// ends. Memory is O(flows + distinct header values), no packet bytes are
// kept. A file that does not start like a capture is an error; an error
// later in a file ends its flows there, counts in Validity.FileErrors and is
// passed to Options.Warn.
//
// Report (JSON keys in parentheses; the first version's keys are fixed,
// later versions only add keys):
//
//   - header_jsd: Jensen-Shannon divergence (bits, 0 = same, 1 = disjoint)
//     per header field (HeaderFields: ports, addresses, IP length, TTL, TCP
//     flags and window, IP protocol, inter-arrival time) and "mean" of the
//     paper's six;
//
//   - flow_jsd: JSD of each k-fingerprinting flow feature on its published
//     bins (metric.FlowFeatureBin) and "mean" of the paper's six;
//
//   - discriminator_f1 (_std): macro F1 of a random forest telling real from
//     generated flows on the flow features, over Seeds runs of n = min(real
//     flows, generated flows, MaxFlows) flows per side, 30% held out (0.5 =
//     indistinguishable);
//
//   - validity.real / validity.generated: packets and flows that decode,
//     IPv4 and TCP/UDP checksums, TCP flows that start with a SYN and
//     complete the handshake before data, ACKs that acknowledge no more
//     than the peer sent, and (tshark on) tshark's expert-info verdicts on
//     one multi-section pcapng stream per side (pcap.MultiWriter), read by
//     one tshark process (internal/tshark, the driver generation's
//     validation shares);
//
//   - memorization (with training captures): exact duplicates of a flow's
//     payload sequence (SHA-256 of direction, length and bytes of every
//     payload) in the training flows, and the distance of each flow's
//     features (log1p, z-scored on the training flows) to its nearest
//     training flow, for up to MaxFlows flows per side against up to
//     4*MaxFlows training flows; a generated median well below the real one
//     suggests copying.
//
//   - floor (version 2): the real flows split into halves A and B by flow
//     (a hash of FloorSeed, the file's index and the flow id: the same
//     split whatever the workers); header_jsd, flow_jsd and the
//     discriminator of A against B, the same of the generated flows against
//     B (generated_vs_b), and their ratio, metric by metric: 1 = as close
//     as two halves of real traffic, the best a generator can be expected
//     to reach with this much data;
//
//   - classes (version 2, Options.Labels "file" or "dir", named as dataset
//     build names them): per class present on both sides, the comparison,
//     its own floor and the TCP handshake shares, and (version 3, tshark
//     on) tshark's verdicts on the class's real and generated packets
//     (tshark_real, tshark_generated: clean share and malformed packets
//     per protocol when the classes are protocols);
//
//   - memorization.membership_* (version 2): as many training as held-out
//     real flows, each with its distance to the nearest generated flow;
//     membership_auc = P(a training flow is closer than a held-out one),
//     0.5 = no sign of memorisation (meaningful when the real captures are
//     traffic the generator was not trained on).
//
// Cost: the discriminator runs Seeds times for the main comparison, twice
// that for the floor, and three times that per class.
//
// Report.WritePlots draws one histogram per header field and flow feature.
package evalgen
