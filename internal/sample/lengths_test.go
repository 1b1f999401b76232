package sample

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// flowPackets counts the packets of a generated flow.
func flowPackets(t *testing.T, f *Flow) int {
	t.Helper()
	n := 0
	if _, err := codec.DecodeFlow(f.Tokens, 0, func(codec.Packet) error { n++; return nil }); err != nil {
		t.Fatalf("flow %d: %v", f.Index, err)
	}
	return n
}

// TestLengths: with Options.Lengths every flow of a random model (which
// left alone runs to MaxPackets) ends within the packet count it drew, the
// draws depend on the seed only, and they follow the given counts (both
// values of {1, 6} appear as limits).
func TestLengths(t *testing.T) {
	m := tinyModel(t, 3)
	gen := func(lengths []int, seed uint64) []int {
		o := Options{Sampling: Sampling{Temperature: 1}, Seed: seed, Batch: 4, MaxPackets: 30, Label: -1,
			Handshake: 1, Close: 1, Lengths: lengths}
		pc, _, flows := generatePcap(t, m, 24, o, WriteOptions{Seed: seed})
		checkPackets(t, pc)
		counts := make([]int, len(flows))
		for _, f := range flows {
			counts[f.Index] = flowPackets(t, f)
		}
		return counts
	}
	free := gen(nil, 7)
	if slices.Max(free) <= 6 {
		t.Fatalf("without lengths the random model's flows are short already (%v): the test cannot fail", free)
	}
	got := gen([]int{1, 6}, 7)
	ones, sixes := 0, 0
	for i, n := range got {
		if n > 6 {
			t.Errorf("flow %d: %d packets, more than any drawn limit", i, n)
		}
		if n == 1 {
			ones++
		}
		if n > 1 {
			sixes++
		}
	}
	if ones == 0 || sixes == 0 {
		t.Errorf("packet counts %v: both limits 1 and 6 should occur among 24 flows", got)
	}
	if again := gen([]int{1, 6}, 7); !slices.Equal(again, got) {
		t.Errorf("same seed, other packet counts: %v then %v", got, again)
	}
	if _, err := Generate(context.Background(), m, 2, Options{Sampling: Sampling{Temperature: 1}, Label: -1, Lengths: []int{0}}, func(*Flow) error { return nil }); err == nil {
		t.Error("a packet count of 0 in Lengths was accepted")
	}
}

// TestReadPacketCounts reads the packet counts of a shipped capture's
// flows: each >= 1, summing to the capture's records (but the few that
// belong to no flow); a folder gives its captures' flows in order, a file
// that is no capture and a folder without flows are errors.
func TestReadPacketCounts(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "demo", "dns.pcap")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := ReadPacketCounts(context.Background(), path, flow.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range counts {
		if n < 1 {
			t.Fatalf("a flow of %d packets", n)
		}
		total += n
	}
	pr, err := pcap.NewReader(bytes.NewReader(data), pcap.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	records := 0
	for {
		if _, err := pr.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		records++
	}
	if total > records || total < records-5 || len(counts) < 2 { // a record outside any flow (ARP) is not counted
		t.Errorf("%d flows with %d packets in all; the capture has %d records", len(counts), total, records)
	}
	dir := t.TempDir()
	for _, name := range []string{"a.pcap", "b.pcap"} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	both, err := ReadPacketCounts(context.Background(), dir, flow.DefaultConfig())
	if err != nil || !slices.Equal(both, append(slices.Clone(counts), counts...)) {
		t.Errorf("folder of two copies: %d counts (%v), want the file's twice", len(both), err)
	}
	bad := filepath.Join(t.TempDir(), "x.pcap")
	if err := os.WriteFile(bad, []byte("not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPacketCounts(context.Background(), bad, flow.DefaultConfig()); err == nil {
		t.Error("a file that is no capture gave packet counts")
	}
	if _, err := ReadPacketCounts(context.Background(), t.TempDir(), flow.DefaultConfig()); err == nil {
		t.Error("a folder without captures gave packet counts")
	}
}

// TestLongestFirst: with Lengths the fresh flows start in the order of
// their drawn packet budgets, largest first (ties by index); each flow is
// the same as when it runs alone (batch 1), so the order changes only when
// a flow is sampled, not what it is.
func TestLongestFirst(t *testing.T) {
	o := Options{Sampling: Sampling{Temperature: 1}, Seed: 5, MaxPackets: 30, Label: -1, Lengths: []int{1, 2, 9}}
	order := longestFirst(24, &o)
	budget := func(i int) int {
		return packetBudget(o.Lengths, o.MaxPackets, rand.New(rand.NewPCG(o.Seed, uint64(i))).IntN)
	}
	seen := make([]bool, 24)
	for k, i := range order {
		seen[i] = true
		if k > 0 {
			a, b := budget(order[k-1]), budget(i)
			if a < b || a == b && order[k-1] > i {
				t.Fatalf("order %v: flow %d (budget %d) before flow %d (budget %d)", order, order[k-1], a, i, b)
			}
		}
	}
	if slices.Contains(seen, false) || budget(order[0]) != 9 || budget(order[23]) != 1 {
		t.Fatalf("order %v is not a permutation from budget 9 down to 1", order)
	}
	if longestFirst(24, &Options{}) != nil {
		t.Fatal("without lengths the flows are not in index order")
	}

	m := tinyModel(t, 3)
	run := func(batch int) (started []int, tokens [][]codec.Token) {
		o := o
		o.Batch = batch
		tokens = make([][]codec.Token, 24)
		last := -1
		o.hook = func(rw *row, _ []bool) {
			if rw.flow.Index != last && !slices.Contains(started, rw.flow.Index) {
				started = append(started, rw.flow.Index)
			}
			last = rw.flow.Index
		}
		if _, err := Generate(context.Background(), m, 24, o, func(f *Flow) error {
			tokens[f.Index] = f.Tokens
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return started, tokens
	}
	started, four := run(4)
	if !slices.Equal(started[:4], order[:4]) {
		t.Errorf("batch 4 started flows %v, want the four longest first %v", started[:4], order[:4])
	}
	// With Refill a row goes on with the next flow in its history: the
	// next in the same order, every flow once.
	o.Refill = 4096
	_, refill := run(4)
	for i, tok := range refill {
		if len(tok) == 0 {
			t.Errorf("refill: flow %d was not generated", i)
		}
	}
	o.Refill = 0
	_, one := run(1)
	for i := range four {
		if !slices.Equal(four[i], one[i]) {
			t.Errorf("flow %d differs between batch 4 and batch 1", i)
		}
	}
}

// TestPackedRows: once no flow is left to start, the busy rows are packed
// first and only they are stepped (every row stepped is busy, fewer than
// the batch on average), and each flow is token for token the one batch 1
// gives, with the decoder check's snapshots moving with their rows.
func TestPackedRows(t *testing.T) {
	m := tinyModel(t, 3)
	run := func(batch int) (Stats, [][]codec.Token) {
		o := Options{Sampling: Sampling{Temperature: 1}, Seed: 9, Batch: batch, MaxPackets: 30, Label: -1,
			Lengths: []int{2, 6, 12}, Handshake: 1, Close: 1, CheckPackets: true, PacketRetries: 3}
		// Every packet after the first is an ARP frame the first time it
		// is sampled: the decoder check rejects it and the row goes back
		// to its snapshot, in whatever row it now sits.
		o.hook = func(rw *row, allowed []bool) {
			if rw.r.phase == pBody && rw.r.structured && rw.r.packets >= 2 && rw.r.sh.f == fEtype1 && rw.pc.tries == 0 {
				clear(allowed)
				allowed[0x06] = true
			}
		}
		tokens := make([][]codec.Token, 10)
		st, err := Generate(context.Background(), m, 10, o, func(f *Flow) error {
			tokens[f.Index] = f.Tokens
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return st, tokens
	}
	st, four := run(4)
	if st.PacketResamples == 0 {
		t.Error("no packet sampled again: the snapshots that move with their rows are not used")
	}
	if st.RowSteps != st.Tokens || st.RowSteps >= 4*st.Steps {
		t.Errorf("batch 4: %d rows stepped in %d steps for %d tokens: want every stepped row busy, fewer than 4 a step", st.RowSteps, st.Steps, st.Tokens)
	}
	_, one := run(1)
	for i := range four {
		if !slices.Equal(four[i], one[i]) {
			t.Errorf("flow %d differs between batch 4 (packed rows) and batch 1", i)
		}
	}
}
