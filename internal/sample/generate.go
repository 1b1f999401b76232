package sample

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

// Options configure Generate.
type Options struct {
	Sampling
	Seed uint64
	// Batch is the number of flows generated in parallel (rows of one
	// model.State); default 8.
	Batch int
	// MaxPackets > 0 ends a flow after that many packets (prompt packets
	// included); 0 means no limit.
	MaxPackets int
	// Lengths, when not empty, are packet counts of real flows (e.g.
	// ReadPacketCounts of a capture of the class): each flow draws one as
	// its own packet limit (capped by MaxPackets), so generated flows end
	// no later than real ones do and TCP flows close in time for it.
	Lengths []int
	// Shapes, when not empty, are real flows' shapes (ReadShapes of a
	// capture of the class): each flow draws one as its template and
	// follows its packets' directions, payload lengths and gaps, and its
	// packet count (capped by MaxPackets), where the grammar and the other
	// rules allow (doc.go, "Shapes"). Headers and payload bytes stay the
	// model's. Not with Lengths or Prompts.
	Shapes []FlowShape
	// ShapeMix makes each template a mix (mixShape): one flow's protocol,
	// packet count, directions and gaps with the payload lengths of
	// another flow like it (or, with none like it, each later packet's
	// payload length and gap from another flow at the same place), so
	// that no generated flow has a training flow's shape.
	ShapeMix bool
	// Hosts, when not empty, are real flows' endpoints (ReadHosts of a
	// capture of the class): each flow's first packet takes its addresses
	// and server port from one of them, dealt to flows without
	// replacement within the IP version and protocol the model chose
	// (doc.go, "Hosts"); the client port stays the model's.
	Hosts []Endpoint
	// shapeOrder is the permutation of Shapes flows take their templates
	// in (shapeOrder()).
	shapeOrder []int
	// hostGroups deal Hosts to flows (hostDeal()).
	hostGroups map[hostGroup][]int
	// MaxTokens > 0 ends a flow at the first packet boundary after that
	// many tokens (the packet being generated is finished first, up to its
	// transport header); 0 means no limit.
	MaxTokens int
	// Label >= 0 forces <label:Label> after <flow>; -1: no label token.
	Label int
	// Prompts, when not empty, are the forced beginnings of the flows: flow
	// i starts with Prompts[i % len(Prompts)] (a flow header and whole
	// packets, without <end>/<cut>; see CheckPrompt). Without prompts every
	// flow starts with the forced header <flow> [<label:i>] <link:eth>
	// <res:us>.
	Prompts [][]codec.Token
	// Refill > 0 lets a row whose flow ended go on with the next flow in
	// the same history (after the <end>) while the row's position is below
	// Refill (e.g. the training context); past it, or with 0, the row is
	// reset and the next flow starts from an empty history.
	Refill int
	// Handshake is the share of generated TCP flows (without a prompt)
	// held to open with a handshake: SYN, SYN-ACK, ACK, without payload
	// (doc.go, "TCP shape"); the others open as the model writes them.
	// Close is the share of TCP flows held to end closed: FIN both ways and
	// the last FIN acknowledged, or RST, closed in time for MaxPackets and
	// MaxTokens. 0: off; real captures measure 1 for both (doc.go).
	Handshake, Close float64
	// TimeSampling, when set, draws the time tokens (each packet's
	// inter-arrival magnitude and number bytes) instead of Sampling: the
	// command's default is the model's full distribution (temperature 1,
	// no top-k or top-p), since truncating it cuts the tails of the
	// inter-arrival times (long gaps, bursts) that real traffic has.
	TimeSampling *Sampling
	// NoCopy, when set, checks every finished flow against the training
	// payloads (doc.go, "Copies"): a flow with a packet that repeats
	// ShingleLen bytes of a training payload is sampled again from a new
	// stream, at most CopyRetries times, then refused (Flow.Refused).
	NoCopy      *CopyIndex
	CopyRetries int
	// FreePayloads turns the application payload grammars off (doc.go,
	// "Application payloads"): payloads are then the model's alone.
	FreePayloads bool
	// GrammarOnly turns every rule off but the codec grammar (which keeps
	// the tokens decodable into packets), non-negative gaps below
	// 2^MaxTimeBits us, MaxPackets and MaxTokens (doc.go, "Unconstrained
	// sampling"): headers, flags, lengths and checksums the model chooses
	// to write, payloads, TCP shape are all the model's. For measuring how
	// often a model writes packets that do not parse; not with Shapes,
	// validation or a handshake or close share.
	GrammarOnly bool
	// Validation (doc.go, "Validation"). CheckPackets: a sampled packet
	// the packet decoder rejects, or that breaks the flow's IP/TCP/UDP
	// consistency (checkPacket), is sampled again from the row's state
	// before it (model.SaveRow/RestoreRow), at most PacketRetries times;
	// a flow that still has such a packet is rejected as a whole.
	CheckPackets  bool
	PacketRetries int
	// CheckFlow, when set, judges finished flows CheckChunk (default 64)
	// at a time (e.g. TsharkCheck); a rejected flow is sampled again from
	// an empty history and a new stream, after the fresh flows, at most
	// FlowRetries times (a flow the decoder check rejects counts the
	// same); then it is kept with Flow.Invalid set or, with DropInvalid,
	// left out (Flow.Refused).
	CheckFlow   FlowCheck
	CheckChunk  int
	FlowRetries int
	DropInvalid bool
	// Progress, if set, is called after each finished flow.
	Progress func(flows int, tokens int64)
	// hook, in tests, narrows a row's allowed tokens after the rules.
	hook func(rw *row, allowed []bool)
}

// FlowCheck judges finished flows: ok[i] says whether flows[i] passes. It
// must be a function of the flows alone (generation stays deterministic).
type FlowCheck func(ctx context.Context, flows []*Flow) (ok []bool, err error)

// Flow is one generated flow.
type Flow struct {
	Index  int           // 0..n-1
	Prompt int           // index into Options.Prompts, -1 without
	Forced int           // leading tokens that were forced (header or prompt)
	Repeat bool          // the prompt served an earlier flow too (i >= len(Prompts))
	Tokens []codec.Token // <flow> ... <end>; owned by the callee
	// Attempt counts the times the flow was sampled again (its stream is
	// (Seed, Index | Attempt<<48)): Copies times because it copied training
	// payload (Options.NoCopy), Rejected times because validation rejected
	// it. Refused: it is left out (Writer.AddFlow writes nothing of it):
	// it still copied after CopyRetries, or it is Invalid (still rejected
	// after FlowRetries) and Options.DropInvalid is set.
	Attempt, Copies, Rejected int
	Refused, Invalid          bool
	// Packets is the number of packets; BadPackets those the decoder check
	// still rejected after PacketRetries (Options.CheckPackets).
	Packets, BadPackets int
}

// Stats summarise a Generate call.
type Stats struct {
	Flows   int
	Packets int
	Steps   int64 // model.Step calls
	// RowSteps is the rows those calls computed: the busy rows, packed
	// first (idle rows are not stepped).
	RowSteps int64
	Tokens   int64 // tokens fed to the model (rows that were still generating)
	Sampled  int64 // tokens drawn from the model (the rest were forced)
	// Resampled counts flows sampled again for copying training payload;
	// Refused the flows left out after CopyRetries (Options.NoCopy).
	Resampled, Refused int
	// Validation: packets sampled again from the state before them
	// (CheckPackets), packets still rejected after PacketRetries, flows
	// sampled again (rejected by the decoder check or CheckFlow), flows
	// still rejected after FlowRetries (Invalid), and of those the ones
	// left out (DropInvalid).
	PacketResamples, BadPackets, FlowResamples, Invalid, Dropped int
	// ShapeResamples: of PacketResamples, those for a payload length off
	// its shape template (Options.Shapes with CheckPackets).
	ShapeResamples int
	Elapsed        time.Duration
}

// TokensPerSecond is the generation throughput (fed tokens per second).
func (s Stats) TokensPerSecond() float64 {
	return float64(s.Tokens) / max(s.Elapsed.Seconds(), 1e-9)
}

// Header is the forced flow header for a label (-1: none).
func Header(label int) []codec.Token {
	h := []codec.Token{codec.FLOW}
	if label >= 0 {
		h = append(h, codec.Label0+codec.Token(label))
	}
	return append(h, codec.LinkEth, codec.ResMicro)
}

// CheckPrompt reports whether toks can start a generated flow: a flow
// header with link type Ethernet, then whole packets the grammar accepts,
// and no <end>/<cut>.
func CheckPrompt(toks []codec.Token) error {
	h, _, err := codec.ParseHeader(toks)
	if err != nil {
		return err
	}
	if h.LinkType != 1 {
		return fmt.Errorf("sample: prompt flow has link type %d; generation writes Ethernet", h.LinkType)
	}
	g := codec.NewGrammar(maxBodyTokens)
	for i, t := range toks {
		if err := g.Push(t); err != nil {
			return fmt.Errorf("sample: prompt token %d: %w", i, err)
		}
		if g.Done() {
			return fmt.Errorf("sample: prompt token %d: the flow ends", i)
		}
	}
	return nil
}

// row is one generating flow of a batch.
type row struct {
	flow   *Flow
	j      job
	g      *codec.Grammar
	r      *rules
	rng    *rand.Rand
	forced []codec.Token
	active bool
	pc     *packetCheck // decoder-level validation (nil: off)
}

// job is one flow to sample: its index, its sample number (the stream
// (Seed, idx | attempt<<48)), and how many earlier samples copied training
// payload or were rejected by validation.
type job struct{ idx, attempt, copies, rejected int }

// newRow sets up the sample of job j (nothing pushed yet).
func newRow(j job, o *Options) *row {
	f := &Flow{Index: j.idx, Prompt: -1, Attempt: j.attempt, Copies: j.copies, Rejected: j.rejected}
	rw := &row{flow: f, j: j, active: true,
		rng: rand.New(rand.NewPCG(o.Seed, uint64(j.idx)|uint64(j.attempt)<<48))}
	maxPackets, tmpl := flowPlan(o, j.idx, rw.rng.IntN)
	// A share strictly between 0 and 1 takes one draw from the flow's
	// stream; 0 and 1 take none.
	draw := func(p float64) bool { return p >= 1 || p > 0 && rw.rng.Float64() < p }
	handshake := draw(o.Handshake) && len(o.Prompts) == 0
	close := draw(o.Close)
	rw.g, rw.r = newFlowRules(o, j.idx, maxPackets, handshake, close, tmpl)
	if len(o.Prompts) > 0 {
		f.Prompt = j.idx % len(o.Prompts)
		f.Repeat = j.idx >= len(o.Prompts)
		rw.forced = o.Prompts[f.Prompt]
	} else {
		rw.forced = Header(o.Label)
	}
	f.Forced = len(rw.forced)
	if o.CheckPackets {
		rw.pc = &packetCheck{}
	}
	return rw
}

// newFlowRules is flow idx's grammar with its generation rules.
func newFlowRules(o *Options, idx, maxPackets int, handshake, close bool, tmpl *FlowShape) (*codec.Grammar, *rules) {
	g := codec.NewGrammar(maxBodyTokens)
	g.MaxPackets = maxPackets
	r := newRules(g)
	r.maxTokens = o.MaxTokens
	r.appChecked, r.free = o.FreePayloads || o.GrammarOnly, o.FreePayloads || o.GrammarOnly
	r.grammarOnly = o.GrammarOnly
	r.maxPackets = maxPackets
	r.handshake, r.close = handshake, close
	r.tmpl = tmpl
	if !o.GrammarOnly {
		r.hosts = o.Hosts
		r.hostGroups, r.flowIdx = hostDeal(o), idx
	}
	return g, r
}

// Generate samples n flows from m (which must have the codec vocabulary)
// and calls fn with each as it ends (in completion order; Flow.Index says
// which). See doc.go for rows, refills, validation and seeds.
func Generate(ctx context.Context, m *model.Model, n int, o Options, fn func(*Flow) error) (Stats, error) {
	var stats Stats
	t0 := time.Now()
	if err := o.Sampling.Validate(); err != nil {
		return stats, err
	}
	if m.Config.Vocab != codec.VocabSize {
		return stats, fmt.Errorf("%w: model vocabulary %d, codec needs %d", ErrOptions, m.Config.Vocab, codec.VocabSize)
	}
	if o.Label >= codec.MaxLabels {
		return stats, fmt.Errorf("%w: label %d >= %d", ErrOptions, o.Label, codec.MaxLabels)
	}
	if !(o.Handshake >= 0 && o.Handshake <= 1 && o.Close >= 0 && o.Close <= 1) {
		return stats, fmt.Errorf("%w: handshake %g and close %g shares must be in [0, 1]", ErrOptions, o.Handshake, o.Close)
	}
	if o.CopyRetries < 0 || o.PacketRetries < 0 || o.FlowRetries < 0 || o.CheckChunk < 0 {
		return stats, fmt.Errorf("%w: copy retries %d, packet retries %d, flow retries %d and check chunk %d must be >= 0",
			ErrOptions, o.CopyRetries, o.PacketRetries, o.FlowRetries, o.CheckChunk)
	}
	for _, n := range o.Lengths {
		if n < 1 {
			return stats, fmt.Errorf("%w: packet count %d in lengths must be >= 1", ErrOptions, n)
		}
	}
	for i, s := range o.Shapes {
		if len(s.Packets) == 0 {
			return stats, fmt.Errorf("%w: shape %d has no packets", ErrOptions, i)
		}
	}
	if o.GrammarOnly && (len(o.Shapes) > 0 || len(o.Hosts) > 0 || o.CheckPackets || o.CheckFlow != nil || o.Handshake > 0 || o.Close > 0) {
		return stats, fmt.Errorf("%w: grammar-only sampling takes no shapes, hosts, validation, handshake or close", ErrOptions)
	}
	if o.ShapeMix && len(o.Shapes) == 0 {
		return stats, fmt.Errorf("%w: shape mix without shapes", ErrOptions)
	}
	if len(o.Shapes) > 0 && (len(o.Lengths) > 0 || len(o.Prompts) > 0) {
		return stats, fmt.Errorf("%w: shapes come with their own lengths and first packets: not with lengths or prompts", ErrOptions)
	}
	if o.MaxPackets < 0 || o.MaxTokens < 0 || o.Refill < 0 {
		return stats, fmt.Errorf("%w: max packets %d, max tokens %d and refill %d must be >= 0", ErrOptions, o.MaxPackets, o.MaxTokens, o.Refill)
	}
	for i, p := range o.Prompts {
		if len(p) == 0 || p[0] != codec.FLOW {
			return stats, fmt.Errorf("%w: prompt %d does not start with <flow>", ErrOptions, i)
		}
	}
	if o.CheckChunk == 0 {
		o.CheckChunk = 64
	}
	B := o.Batch
	if B <= 0 {
		B = 8
	}
	B = min(B, n)
	if B == 0 {
		stats.Elapsed = time.Since(t0)
		return stats, nil
	}
	gn := &generator{ctx: ctx, m: m, o: &o, n: n, fn: fn, stats: &stats, pick: &Picker{S: o.Sampling},
		allowed: make([]bool, codec.VocabSize), rows: make([]*row, B), in: make([]int32, B)}
	gn.timePick = gn.pick
	if o.TimeSampling != nil {
		if err := o.TimeSampling.Validate(); err != nil {
			return stats, err
		}
		gn.timePick = &Picker{S: *o.TimeSampling}
	}
	if o.CheckPackets {
		gn.snaps = make([]model.RowState, B)
	}
	gn.order = longestFirst(n, &o)
	var err error
	if gn.st, err = m.NewState(B); err != nil {
		return stats, err
	}
	err = gn.run()
	stats.Elapsed = time.Since(t0)
	return stats, err
}

// longestFirst orders the fresh flows by their packet budgets, largest
// first (ties in index order), when the budgets are known before sampling
// (Options.Lengths or Shapes): the long flows start first and the short ones fill the
// rows at the end, so fewer rows sit idle while the last flows finish (the
// scheduling rule "longest processing time first"). Each budget is the
// first draw of its flow's own stream, as newRow draws it, so a flow comes
// out the same in any order (without Refill, whose shared histories follow
// the order). nil without Lengths: index order.
func longestFirst(n int, o *Options) []int {
	if len(o.Lengths) == 0 && len(o.Shapes) == 0 {
		return nil
	}
	budget := make([]int, n)
	order := make([]int, n)
	for i := range n {
		rng := rand.New(rand.NewPCG(o.Seed, uint64(i)))
		budget[i], _ = flowPlan(o, i, rng.IntN)
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return budget[order[a]] > budget[order[b]] })
	return order
}

// generator is the state of one Generate call.
type generator struct {
	ctx            context.Context
	m              *model.Model
	o              *Options
	st             *model.State
	n, next        int     // flows; the next fresh flow index
	order          []int   // fresh flows in the order they start (nil: index order)
	retry          []job   // flows to sample again (validation), after the fresh ones
	pending        []*Flow // finished flows waiting for CheckFlow
	rows           []*row
	in             []int32
	live           int
	fn             func(*Flow) error
	stats          *Stats
	pick, timePick *Picker
	allowed        []bool
	snaps          []model.RowState // per row: the state before its current packet (CheckPackets)
}

// take returns the next flow to sample: fresh flows (in index order, or
// longest first, see longestFirst), then the flows validation sent back,
// in the order they were rejected.
func (gn *generator) take() (job, bool) {
	if gn.next < gn.n {
		gn.next++
		if gn.order != nil {
			return job{idx: gn.order[gn.next-1]}, true
		}
		return job{idx: gn.next - 1}, true
	}
	if len(gn.retry) > 0 {
		j := gn.retry[0]
		gn.retry = gn.retry[1:]
		return j, true
	}
	return job{}, false
}

// begin puts job j in row b from an empty history: its first forced token
// is fed at the coming Step.
func (gn *generator) begin(b int, j job) error {
	if err := gn.m.ResetRow(gn.st, b); err != nil {
		return err
	}
	rw := newRow(j, gn.o)
	if err := rw.push(rw.forced[0]); err != nil {
		return fmt.Errorf("sample: flow %d: %w", rw.flow.Index, err)
	}
	gn.in[b], gn.rows[b] = int32(rw.forced[0]), rw
	return nil
}

func (gn *generator) run() error {
	for b := range gn.rows {
		j, _ := gn.take()
		if err := gn.begin(b, j); err != nil {
			return err
		}
		gn.live++
	}
	V := codec.VocabSize
	for {
		// Idle rows take the flows validation sent back.
		for b, rw := range gn.rows {
			if rw.active {
				continue
			}
			j, ok := gn.take()
			if !ok {
				break
			}
			if err := gn.begin(b, j); err != nil {
				return err
			}
			gn.live++
		}
		if gn.live == 0 {
			if len(gn.pending) == 0 {
				return nil
			}
			if err := gn.check(); err != nil {
				return err
			}
			continue
		}
		if err := gn.ctx.Err(); err != nil {
			return err
		}
		k, err := gn.pack()
		if err != nil {
			return err
		}
		logits, err := gn.m.Step(gn.st, gn.in[:k])
		if err != nil {
			return err
		}
		gn.stats.Steps++
		gn.stats.RowSteps += int64(k)
		for b, rw := range gn.rows[:k] {
			if !rw.active {
				continue
			}
			gn.stats.Tokens++
			if err := gn.advance(b, rw, logits[b*V:(b+1)*V:(b+1)*V]); err != nil {
				return err
			}
		}
	}
}

// pack moves the busy rows to the front of the batch (model.MoveRow: the
// last busy row into the first idle one, with its sampling state and
// snapshot) and returns their number k: Step computes rows [0, k) only, so
// a row with no flow left costs nothing while the last flows finish. A
// row's flow comes out the same in any row.
func (gn *generator) pack() (int, error) {
	busy := func(b int) bool { return gn.rows[b] != nil && gn.rows[b].active }
	k := len(gn.rows)
	for k > 0 && !busy(k-1) {
		k--
	}
	for b := 0; b < k; b++ {
		if busy(b) {
			continue
		}
		r := k - 1
		if err := gn.m.MoveRow(gn.st, b, r); err != nil {
			return 0, err
		}
		gn.rows[b], gn.rows[r] = gn.rows[r], gn.rows[b]
		gn.in[b], gn.in[r] = gn.in[r], gn.in[b]
		if gn.snaps != nil {
			gn.snaps[b], gn.snaps[r] = gn.snaps[r], gn.snaps[b]
		}
		for k > 0 && !busy(k-1) {
			k--
		}
	}
	return k, nil
}

// sample draws row rw's next token from lg under the grammar and rules;
// startsOnly further allows only a packet start or <end> (a packet sampled
// again from the state before it).
func (gn *generator) sample(rw *row, lg []float32, startsOnly bool) (codec.Token, error) {
	f, allowed := rw.flow, gn.allowed
	rw.r.promptEnd = len(f.Tokens) == len(rw.forced) && f.Prompt >= 0
	rw.g.Allowed(allowed)
	rw.r.constrain(allowed)
	if gn.o.hook != nil {
		gn.o.hook(rw, allowed)
	}
	if startsOnly {
		for t := range allowed {
			allowed[t] = allowed[t] && (t == int(codec.PKTC2S) || t == int(codec.PKTS2C) || t == int(codec.END))
		}
	}
	p := gn.pick
	if rw.r.inTime() {
		p = gn.timePick
	}
	id := p.Pick(lg, allowed, rw.rng)
	if id < 0 {
		return 0, fmt.Errorf("sample: flow %d: no token allowed after %d tokens", f.Index, len(f.Tokens))
	}
	gn.stats.Sampled++
	return codec.Token(id), nil
}

// advance gives row b its next token from the Step's logits lg (or its
// forced prefix), and handles the end of its packet and of its flow.
func (gn *generator) advance(b int, rw *row, lg []float32) error {
	f := rw.flow
	var t codec.Token
	sampled := len(f.Tokens) >= len(rw.forced)
	if !sampled {
		t = rw.forced[len(f.Tokens)]
	} else {
		var err error
		if t, err = gn.sample(rw, lg, false); err != nil {
			return err
		}
	}
	for {
		phase := rw.r.phase
		if err := rw.push(t); err != nil {
			return fmt.Errorf("sample: flow %d token %d: %w", f.Index, len(f.Tokens), err)
		}
		if rw.pc == nil {
			break
		}
		again, err := gn.checkPacket(b, rw, phase, t)
		if err != nil {
			return err
		}
		if !again {
			break
		}
		// The packet was rejected and the row is back before it: draw
		// its first token again from the logits of that point.
		if t, err = gn.sample(rw, gn.snaps[b].Logits, true); err != nil {
			return err
		}
	}
	gn.in[b] = int32(t)
	if !rw.g.Done() {
		return nil
	}
	return gn.finish(b, rw)
}

// finish handles row b's ended flow: the copy check, validation, delivery,
// and the row's next flow.
func (gn *generator) finish(b int, rw *row) error {
	f, o := rw.flow, gn.o
	if o.NoCopy != nil {
		copied, err := o.NoCopy.Copies(f.Tokens)
		if err != nil {
			return fmt.Errorf("sample: flow %d: %w", f.Index, err)
		}
		if copied && f.Copies < o.CopyRetries {
			gn.stats.Resampled++
			return gn.begin(b, job{f.Index, f.Attempt + 1, f.Copies + 1, f.Rejected})
		}
		if copied {
			gn.stats.Refused++
			f.Refused = true
		}
	}
	switch {
	case f.Refused:
		if err := gn.deliver(f); err != nil {
			return err
		}
	case f.BadPackets > 0:
		// The decoder still rejected a packet after PacketRetries.
		if err := gn.judged(f, false); err != nil {
			return err
		}
	case o.CheckFlow != nil:
		gn.pending = append(gn.pending, f)
		if len(gn.pending) >= o.CheckChunk {
			if err := gn.check(); err != nil {
				return err
			}
		}
	default:
		if err := gn.deliver(f); err != nil {
			return err
		}
	}
	if gn.next < gn.n && gn.st.Pos(b) < o.Refill {
		// The row goes on with the next flow after this one's <end> (fed
		// now), as flows follow each other in packed training windows.
		j, _ := gn.take()
		gn.rows[b] = newRow(j, o)
		return nil
	}
	if j, ok := gn.take(); ok {
		return gn.begin(b, j)
	}
	rw.active = false
	gn.in[b] = int32(codec.PAD)
	gn.live--
	return nil
}

// check runs CheckFlow on the waiting flows.
func (gn *generator) check() error {
	flows := gn.pending
	gn.pending = nil
	ok, err := gn.o.CheckFlow(gn.ctx, flows)
	if err != nil {
		return err
	}
	if len(ok) != len(flows) {
		return fmt.Errorf("sample: flow check judged %d of %d flows", len(ok), len(flows))
	}
	for i, f := range flows {
		if err := gn.judged(f, ok[i]); err != nil {
			return err
		}
	}
	return nil
}

// judged delivers a validated flow, or sends a rejected one back to be
// sampled again (at most FlowRetries times), then keeps it as Invalid or,
// with DropInvalid, leaves it out.
func (gn *generator) judged(f *Flow, ok bool) error {
	o := gn.o
	if !ok && f.Rejected < o.FlowRetries {
		gn.stats.FlowResamples++
		gn.retry = append(gn.retry, job{f.Index, f.Attempt + 1, f.Copies, f.Rejected + 1})
		return nil
	}
	if !ok {
		f.Invalid = true
		gn.stats.Invalid++
		if o.DropInvalid {
			f.Refused = true
			gn.stats.Dropped++
		}
	}
	return gn.deliver(f)
}

// deliver hands a finished flow to the caller.
func (gn *generator) deliver(f *Flow) error {
	if !f.Refused {
		gn.stats.Flows++
		gn.stats.Packets += f.Packets
	}
	if err := gn.fn(f); err != nil {
		return err
	}
	if gn.o.Progress != nil {
		gn.o.Progress(gn.stats.Flows, gn.stats.Tokens)
	}
	return nil
}

func (rw *row) push(t codec.Token) error {
	if err := rw.g.Push(t); err != nil {
		return err
	}
	rw.r.push(t)
	rw.flow.Tokens = append(rw.flow.Tokens, t)
	rw.flow.Packets = rw.g.Packets()
	return nil
}
