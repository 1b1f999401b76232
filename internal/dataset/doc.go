// Package dataset turns labelled captures into token shards with
// leakage-safe splits, and streams batches from them for training.
//
// # Building
//
// Build tokenizes every input capture (in parallel over files) under a codec
// View, labels each flow (by folder, by file name, or from a per-flow CSV
// matched on the bidirectional 5-tuple), filters (minimum packets,
// duplicates, per-class cap), assigns splits and writes one shard per split
// plus manifest.json. Pass 1 writes each kept flow's tokens to per-worker
// temporary files, keeping only a small record per flow in memory, so memory
// is bounded by the flow count, not the input size (a flow longer than
// SpillTokens waits in an unlinked temporary file until it ends, so the
// longest flow does not count either); pass 2 copies the tokens
// into the shards in (file, flow) order. Everything is written into a
// temporary sibling directory that is renamed into place at the end: a failed
// or interrupted build leaves nothing that looks like a dataset. Malformed
// captures are skipped with a warning and listed in the manifest.
//
// # Splits
//
// Units are capture files (--group file, the default) or flows. Units that
// hold the same traffic are merged into one group: flows of one connection
// (the same TCP/UDP 5-tuple with overlapping first-last packet times, e.g.
// one connection captured twice), and with MergePayloads (--merge-payloads)
// flows sharing a payload of at least MinAuditPayload bytes. By default
// shared payloads are not merged: constant messages (a device model's DHCP,
// DNS or SSDP requests in every setup capture) are signal of the class, and
// merging them collapsed whole classes into one group. Groups go to splits
// in two phases: each class with at least one group per split first gets
// one of its smallest groups in every split where its share is at least half
// a flow; then the rest largest first (ties in seeded random order), each to
// the split with the largest per-label deficit against its target fraction.
// checkSplits then compares the result with the targets: a split more than
// SplitTolerance (5 points) from its fraction, or without a class that could
// fill it, is a line in Manifest.Warnings and fails the build (ErrSplits)
// unless AcceptSplitWarnings. With --presplit the split is the first folder
// under the input (INPUT/<split>/<label>/...). The audit counts files,
// connections, 5-tuples reused at other times and payloads (>=
// MinAuditPayload bytes, also per class) found in more than one split;
// Clean means no connection (nor file, grouping by file; nor payload, with
// MergePayloads) straddles splits. A build with no flows, or no class when
// labels were asked for, is ErrEmpty.
//
// # Labels
//
// Label ids index Manifest.Labels, sorted by name. Without label tokens only
// labels that have flows are kept; with --label-tokens the ids cover every
// label the inputs could produce (so the <label:i> token after <flow> matches
// the id) and must fit codec.MaxLabels. Unlabelled datasets have label -1.
//
// # Shard format (.tgs), version 2, little-endian
//
//	header (64 bytes): "TGSH" | version u32 | codec version u32 | index crc32c u32 |
//	                   flows u64 | tokens u64 | index offset u64 | reserved 20 |
//	                   header crc32c u32 (of bytes 0-59)
//	tokens:            uint16 per token, flows back to back (each <flow> ... <end>/<cut>)
//	index:             per flow 48 bytes: token offset u64 | length u32 | label i32 |
//	                   file u32 (index into manifest inputs) | packets u32 |
//	                   flow id u64 | payload hash u64 | tokens crc32c u32 | reserved 4
//
// Readers check the magic, versions, the header and index CRC-32C, that the
// flows tile the token area in order (so every byte is under a checksum)
// and each flow's CRC-32C when its tokens are read: a mismatch is an
// ErrChecksum naming the shard and the flow. Version 1 (the same layout,
// checksum fields zero) is still read, with Split.Unchecked set and a line
// in Dataset.Warnings.
//
// # Loaders
//
// LMLoader yields (tokens, targets) batches of Batch x Context: packed (a
// seeded permutation of flows per epoch, concatenated, cut into windows that
// tile the stream) or one flow per row (cut to Context+1, padded with <pad>,
// targets -1 on padding). ClsLoader yields a flow's first Context-1 tokens,
// then <cls>, padded, with the <cls> position and the label. Both hold one
// flow at a time and restore their position exactly (LoaderState).
package dataset
