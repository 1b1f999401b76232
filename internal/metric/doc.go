// Package metric holds the evaluation arithmetic of trafficgpt as pure
// functions without I/O: classification scores, Jensen-Shannon divergence on
// published bins, k-fingerprinting flow features and a random forest (the
// generation discriminator and the classical classification baseline).
//
// # Classification
//
// Confusion(labels, preds, k) is the k x k matrix m[true][predicted].
// Report(labels, preds, k, names) gives a ClassReport (JSON keys accuracy,
// macro_precision, macro_recall, macro_f1, per_class, confusion, labels) with
// scikit-learn's conventions at zero_division=0: a class never predicted has
// precision 0, a class without support has recall 0, F1 is 0 when precision
// and recall are both 0, and the macro averages run over the classes that
// occur among the labels or the predictions (scikit-learn's default label
// set); classes that occur in neither are left out.
//
// # Jensen-Shannon divergence
//
// JSD(p, q) is in bits (log base 2), so it lies in [0, 1]: 0 for identical,
// 1 for disjoint distributions. Both histograms are normalised; an empty side
// gives NaN (reported as null). Categorical values are compared by value
// over the union of both sides' keys (CategoricalJSD). Numeric values are
// binned on fixed edges shared by both sides (Bins): with edges e0 < ... <
// e(n-1) there are n+1 cells, underflow x < e0, [e(i-1), e(i)), and overflow
// x >= e(n-1); NaN goes to the underflow cell. No sample is ever dropped.
//
// # Published bins
//
// The edges below are the whole definition; they are the package variables of
// the same names and never change without a new report version.
//
//	lengthBins (bytes), 49 edges: 0, 32, 64, ..., 1536 (step 32).
//	windowBins (raw TCP window field), 65 edges: 0, 1024, ..., 65536 (step 1024).
//	timeBins (seconds), 34 edges: 0, then 10^(k/4) for k = -24..8:
//	  0, 1e-06, 1.778e-06, 3.162e-06, 5.623e-06, 1e-05, ..., 10, 17.78, 31.62, 56.23, 100.
//	countBins (packets), 65 edges: 0, 1, ..., 7, then 2^j * {1, 1.25, 1.5, 1.75}
//	  for j = 3..16, then 131072: 0..7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, ..., 114688, 131072.
//	fractionBins, 22 edges: 0, 0.05, ..., 1, 1.05 (the cell [1, 1.05) holds exactly 1).
//	concentrationBins, 22 edges: 0, 1, ..., 21.
//	byteBins (bytes), 69 edges: 0, then round(2^(j/2)) for j = 1..68, i.e.
//	  0, 1, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, ..., 2^34 (half octaves).
//
// # Header fields (trafficgpt eval generate)
//
// One value per IP packet, from internal/packet's decoder; a packet without
// the layer a field needs contributes nothing to that field:
//
//	sport, dport     TCP/UDP ports, categorical
//	src_addr, dst_addr IP addresses (v4 or v6 text form), categorical
//	length           IP packet length (IPv4 total length, IPv6 40 + payload length), lengthBins
//	ttl              IPv4 TTL or IPv6 hop limit, categorical (0..255)
//	tcp_flags        the TCP flags byte, categorical
//	tcp_window       raw TCP window field, windowBins
//	ip_proto         transport protocol number after IPv6 extension headers, categorical
//	iat              time since the previous packet of the same flow, seconds, timeBins
//
// The header mean is over the paper's six: sport, dport, src_addr, dst_addr,
// length, ttl.
//
// # Flow features
//
// FlowFeatures(dst, pkts) appends, for one flow (packets in capture order,
// outgoing = client -> server, the direction of the flow's first packet
// unless the flow package says otherwise), in this order with these JSON
// names and bins:
//
//	incoming_packets          number of incoming packets          countBins
//	fraction_outgoing         outgoing / all                      fractionBins
//	fraction_incoming         incoming / all                      fractionBins
//	std_outgoing_order        population std of the 0-based positions of outgoing packets (0 if none)  countBins
//	outgoing_packets          number of outgoing packets          countBins
//	alternative_concentration outgoing packets per chunk of 20 packets, averaged over the chunks  concentrationBins
//	duration                  last - first timestamp, seconds     timeBins
//	bytes_outgoing            sum of outgoing packet sizes        byteBins
//	bytes_incoming            sum of incoming packet sizes        byteBins
//	mean_iat                  duration / (packets - 1), 0 for one packet   timeBins
//
// The first six are the k-fingerprinting features of the TrafficGPT paper
// (Hayes & Danezis, USENIX Security 2016) and the flow mean is over them.
// k-fingerprinting's alternative concentration sums the per-chunk outgoing
// counts in groups; the total of those sums is the outgoing count, so the
// scalar here is the mean per chunk (see FlowFeatures). FlowAcc computes the
// same features packet by packet in O(1) memory. FirstN appends the
// sizes, directions (+1/-1, 0 = padding) and inter-arrival times of the first
// n packets, for the classical classifier baseline.
//
// # Generation report (trafficgpt eval generate)
//
// The command computes, from these pieces:
//
//   - header_jsd: the JSD of each header field above, plus "mean" over the
//     paper's six; flow_jsd: each flow feature, plus "mean" over the six
//     k-fingerprinting features. Address and port JSDs compare exact
//     values, so two real captures of different hosts already score high on
//     them; the length, TTL, flag, window, protocol and timing fields and
//     the flow features are the ones that say whether traffic looks alike.
//   - discriminator_f1 (and _std over seeds 1..5): per seed, n = min(real
//     flows, generated flows, 5000) flows are drawn from each side, 30% of
//     each held out, a random forest (100 trees) trained on the ten flow
//     features, and the macro F1 of the two classes scored on the held-out
//     part: 0.5 is chance on this balanced split, 1 is always told apart.
//     The same flows on both sides score below 0.5 (a held-out flow's twin
//     is in the training part with the other label).
//   - validity per side: packets for which internal/packet.Decode reports
//     no error, flows whose packets all decode, IPv4 header and TCP/UDP
//     checksums (of headers and segments captured whole; UDP checksum 0 over
//     IPv4 is "none" and skipped), TCP flows whose first packet is a client
//     SYN and, of those, the ones with no payload before SYN and SYN/ACK,
//     ACKs that acknowledge no more than the peer has sent (mod 2^32, once
//     the peer has been seen), and, when tshark runs, packets with expert
//     info of severity error, group malformed and group checksum (checksum
//     validation turned on).
//   - memorization (with training captures): flows whose transport payload
//     sequence (direction, length and bytes of every TCP/UDP payload, SHA-256)
//     equals a training flow's, and the distance from each of up to 5000
//     flows to its nearest training flow in feature space (log1p of the ten
//     flow features, z-scored with the training flows' mean and std), for
//     generated flows and for real held-out flows; a generated median well
//     below the real one suggests copying.
//
// # Random forest
//
// Fit(X, y, k, opts) grows CART trees with Gini impurity on bootstrap samples,
// trying floor(sqrt(features)) random features per split (more while the ones
// drawn are constant), splitting at midpoints and sending x <= threshold
// left; leaves keep their class frequencies and PredictProba averages them
// over trees (scikit-learn's RandomForestClassifier). Tree t draws from
// PCG(Seed, t), and trees are built on opts.Workers goroutines (default 2),
// so a seed gives the same forest on any number of workers. Features must
// not be NaN. Memory: the forest's nodes plus one n-sample scratch per worker.
//
// # Nearest neighbours
//
// FitKNN(X, y, k, opts) keeps the training set standardised: with opts.Log
// each feature x is first mapped to sign(x)*log1p(|x|) (sizes, byte counts
// and times are heavy-tailed), then centred on the training mean and divided
// by the training (population) standard deviation; a feature constant in
// training is ignored. Predict ranks training samples by Euclidean distance
// (ties by training order), the opts.K nearest (default 1) vote, and a tied
// vote goes to the tied class whose nearest member ranks first. Cost: one
// pass over the training set per query, O(n*(d+K)); memory: the training set.
package metric
