// Package tshark runs Wireshark's dissectors as a judge of captures: one
// tshark process reads a capture stream from its standard input, with the
// IPv4, TCP and UDP checksum checks on, and says for each packet, in order,
// whether its expert info holds an error, a malformed packet or a checksum
// error (Verdict). It is the one driver of tshark in the module: the
// generation evaluation (evalgen) counts the verdicts of whole captures,
// generation (sample) resamples the flows tshark rejects.
//
// Run(ctx, write, fn): write produces the capture (any format tshark
// reads: classic pcap, or pcapng with many sections, pcap.MultiWriter) into
// tshark's standard input, concurrently with the reading of tshark's
// output; fn gets one Verdict per packet tshark read. tshark starts once
// per Run (about 0.3 s of CPU), so callers batch many packets in one
// stream. Expert severities and groups are Wireshark's PI_* constants
// (PI_ERROR, PI_MALFORMED, PI_CHECKSUM).
//
// Available reports whether tshark is on the PATH. The package imports
// nothing of the module.
package tshark
