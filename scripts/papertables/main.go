// Command papertables is the helper of scripts/paper-tables.sh: it writes
// the model config of each attention variant and, once the script's runs
// are done, the Markdown tables shaped like TrafficGPT's (arXiv 2403.05822)
// with the paper's numbers beside ours, and the PNG of the fine-tuning
// length sweep.
//
//	papertables config PRESET ATTENTION          config JSON on stdout
//	papertables tables -o OUT -variants ... -ctx ... -speed-ctx ... -lens ... -main-len N
//
// tables reads the layout the script writes under OUT:
//
//	runs/V-cC/model/       trafficgpt pretrain (train.jsonl: steps, tokens, losses of the run)
//	runs/V-cC/cls-L.json   trafficgpt eval classify --json (model V pre-trained at C, fine-tuned at L)
//	runs/V-cC/gen.json     trafficgpt eval generate --json
//	runs/V-cC/gen-free.json  the same for generate --constraints grammar (the model alone)
//	speed/V-cC/            a short pre-training run (train.jsonl), speed/V-cC.rss its peak RSS (kB)
//
// and writes OUT/tables.md and OUT/sweep.png. A variant need not run at
// every context: rows and columns are those whose runs/V-cC exists (the
// script makes it before pre-training), and what did not finish is "-".
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/trafficgpt/trafficgpt/internal/model"
	"github.com/trafficgpt/trafficgpt/internal/plot"
	"github.com/trafficgpt/trafficgpt/internal/train"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "papertables:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: papertables config PRESET ATTENTION | tables -o OUT ...")
	}
	switch args[0] {
	case "config":
		if len(args) != 3 {
			return errors.New("usage: papertables config PRESET ATTENTION")
		}
		c, err := variantConfig(args[1], args[2])
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(c)
	case "tables":
		fs := flag.NewFlagSet("tables", flag.ContinueOnError)
		var o tableOptions
		var variants, ctxs, speedCtxs, lens string
		fs.StringVar(&o.out, "o", "", "the script's output directory")
		fs.StringVar(&variants, "variants", "linear,retention,rwkv", "attention variants")
		fs.StringVar(&ctxs, "ctx", "3072,12032", "pre-training contexts of any variant (short first)")
		fs.IntVar(&o.sweepCtx, "sweep-ctx", 0, "context of the models of the sweep and of the paper's 12k column (0: 12032 if in -ctx, else the last)")
		fs.StringVar(&speedCtxs, "speed-ctx", "3072,12032,32768", "contexts of the speed table")
		fs.StringVar(&lens, "lens", "32,128,256,4096", "fine-tuning lengths of the sweep")
		fs.IntVar(&o.mainLen, "main-len", 256, "fine-tuning length of the classification table")
		fs.StringVar(&o.data, "data", "", "name of the data set (table headings)")
		fs.StringVar(&o.desc, "desc", "", "how the runs were made (labels, splits, preset, budget)")
		fs.StringVar(&o.command, "command", "", "the command that produced the runs (written under the tables)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if o.out == "" {
			return errors.New("tables: need -o OUT")
		}
		o.variants = strings.Split(variants, ",")
		var err error
		if o.ctxs, err = ints(ctxs); err != nil {
			return err
		}
		if o.speedCtxs, err = ints(speedCtxs); err != nil {
			return err
		}
		if o.lens, err = ints(lens); err != nil {
			return err
		}
		if o.sweepCtx == 0 {
			o.sweepCtx = o.ctxs[len(o.ctxs)-1]
			for _, c := range o.ctxs {
				if c == 12032 {
					o.sweepCtx = c
				}
			}
		}
		md, err := tables(o)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.out, "tables.md"), []byte(md), 0o644); err != nil {
			return err
		}
		return sweepPlot(o)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// variantConfig is a preset with attention variant v: an Attention kind,
// or KIND-pure for a decay family without local softmax heads (every head
// the family's, the same inner width), as the paper's RWKV and RetNet
// baselines.
//
// preset is a preset name or a config JSON file (pretrain --config's keys).
func variantConfig(preset, v string) (model.Config, error) {
	c, err := model.Preset(preset)
	if err != nil {
		b, rerr := os.ReadFile(preset)
		if rerr != nil {
			return c, fmt.Errorf("%w (nor a config file: %v)", err, rerr)
		}
		c = model.Config{}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("%s: %w", preset, err)
		}
	}
	kind, pure := strings.CutSuffix(v, "-pure")
	c.Attention = kind
	if pure {
		if kind != model.AttentionRetention && kind != model.AttentionRWKV {
			return c, fmt.Errorf("variant %q: -pure is for %s and %s", v, model.AttentionRetention, model.AttentionRWKV)
		}
		c.GlobalHeads += c.LocalHeads
		c.LocalHeads = 0
	}
	return c, c.Validate()
}

// variantName is the tables' name of a variant.
func variantName(v string) string {
	kind, pure := strings.CutSuffix(v, "-pure")
	n, ok := familyName[kind]
	if !ok {
		n = kind
	}
	if pure {
		n += ", no local heads"
	}
	return n
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		out = append(out, n)
	}
	return out, nil
}

type tableOptions struct {
	out, data, desc string
	command         string
	variants        []string
	ctxs, speedCtxs []int
	lens            []int
	mainLen         int
	sweepCtx        int
}

// clsReport and genReport are the parts of the eval reports the tables use.
type clsReport struct {
	MacroF1  float64 `json:"macro_f1"`
	Baseline *struct {
		MacroF1 float64 `json:"macro_f1"`
	} `json:"baseline"`
}

type genReport struct {
	Header   map[string]*float64 `json:"header_jsd"`
	Flow     map[string]*float64 `json:"flow_jsd"`
	Disc     *float64            `json:"discriminator_f1"`
	DiscStd  *float64            `json:"discriminator_f1_std"`
	Validity map[string]struct {
		Packets *float64 `json:"ip_transport_share"`
		Tshark  *struct {
			Clean *float64 `json:"clean_share"`
		} `json:"tshark"`
	} `json:"validity"`
}

func readJSON(path string, v any) bool {
	b, err := os.ReadFile(path)
	return err == nil && json.Unmarshal(b, v) == nil
}

func runDir(o tableOptions, v string, ctx int) string {
	return filepath.Join(o.out, "runs", fmt.Sprintf("%s-c%d", v, ctx))
}

// ran says whether variant v has a run at context ctx (finished or not).
func ran(o tableOptions, v string, ctx int) bool {
	st, err := os.Stat(runDir(o, v, ctx))
	return err == nil && st.IsDir()
}

// paperKey is the paperCls row beside variant v at context ctx: linear's
// 12k row at the sweep context, its 3k row at the shortest context when
// that is shorter, a decay family's row at the sweep context ("" if none).
func paperKey(o tableOptions, v string, ctx int) string {
	kind, _ := strings.CutSuffix(v, "-pure")
	switch {
	case ctx == o.sweepCtx && v == model.AttentionLinear:
		return "linear-12k"
	case ctx == o.ctxs[0] && ctx < o.sweepCtx && v == model.AttentionLinear:
		return "linear-3k"
	case ctx == o.sweepCtx && v != model.AttentionLinear:
		return kind
	}
	return ""
}

func cls(o tableOptions, v string, ctx, l int) (clsReport, bool) {
	var r clsReport
	ok := readJSON(filepath.Join(runDir(o, v, ctx), fmt.Sprintf("cls-%d.json", l)), &r)
	return r, ok
}

func f4(x float64, ok bool) string {
	if !ok || math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.4f", x)
}

func pf(p *float64) string {
	if p == nil {
		return "-"
	}
	return f4(*p, true)
}

// ctxName is "3k" for 3072, "12k" for 12032, else the number.
func ctxName(c int) string {
	switch c {
	case 3072:
		return "3k"
	case 12032:
		return "12k"
	case 32768:
		return "32k"
	}
	return strconv.Itoa(c)
}

// familyName is the paper's name of an attention variant.
var familyName = map[string]string{
	model.AttentionLinear: "TrafficGPT (linear)", model.AttentionRetention: "RetNet (retention)",
	model.AttentionRWKV: "RWKV", model.AttentionQuadratic: "softmax (quadratic)",
}

// The paper's numbers (docs: /work/shared/reference/trafficgpt.md): macro-F1
// on CP-iOS, CP-Android, ISCX-VPN-App, USTC-TFC.
var paperCls = map[string][4]string{
	"linear-12k": {"0.9863", "0.9498", "1.0000", "0.9877"},
	"linear-3k":  {"0.9829", "0.9483", "0.9912", "0.9854"},
	"rwkv":       {"0.8992", "0.8269", "0.9750", "0.9946"},
	"retention":  {"0.9629", "0.9190", "0.9906", "0.9856"},
	"baseline":   {"0.9644 (YaTC)", "0.9246 (ET-BERT)", "0.9958 (Lens)", "0.9937 (Lens)"},
}

// Header fields and flow features of the paper's JSD tables: our report's
// key, the paper's name, its 3k and 12k values.
var paperHeader = [][4]string{
	{"sport", "src port", "0.1156", "0.1346"},
	{"dport", "dst port", "0.1347", "0.1551"},
	{"src_addr", "src address", "0.1689", "0.1684"},
	{"dst_addr", "dst address", "0.1779", "0.2304"},
	{"length", "packet length", "0.1736", "0.1874"},
	{"ttl", "TTL", "0.2803", "0.0872"},
	{"mean", "**mean**", "0.1752", "0.1605"},
}

var paperFlow = [][4]string{
	{"incoming_packets", "number of incoming packets", "0.7417", "0.4028"},
	{"fraction_outgoing", "fraction of outgoing packets", "0.2613", "0.2529"},
	{"fraction_incoming", "fraction of incoming packets", "0.1161", "0.1146"},
	{"std_outgoing_order", "std of outgoing packet ordering", "0.4051", "0.3043"},
	{"outgoing_packets", "number of outgoing packets", "0.2931", "0.2581"},
	{"alternative_concentration", "alternative concentration", "0.2465", "0.1046"},
	{"mean", "**mean**", "0.3440", "0.2396"},
}

// paperFor picks the paper's number for a run: the 3k or 12k column for
// linear, the family's for the others (the paper gives their header mean
// only: RWKV 0.9931, RetNet 0.9318).
func paperHeaderMean(v string) string {
	switch v {
	case model.AttentionRWKV:
		return "0.9931"
	case model.AttentionRetention:
		return "0.9318"
	}
	return "-"
}

func tables(o tableOptions) (string, error) {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	name := o.data
	if name == "" {
		name = "ours"
	}
	w("# TrafficGPT's tables on %s\n\n", name)
	if o.desc != "" {
		w("Runs: %s.\n\n", o.desc)
	}
	w("Produced by `scripts/paper-tables.sh` (see `docs/models.md`). Each variant is pre-trained under the same token\n")
	w("budget at each context, fine-tuned, generates flows and is evaluated with the project's protocol (splits by the\n")
	w("data set's grouping, addresses and ports masked, JSD base 2 over fixed published bins, random-forest\n")
	w("discriminator). The paper's numbers are on its own data sets and models (750K steps on 189 GB): compare shapes\n")
	w("and orderings, not values.\n\n")

	// How much each run learned: the budget is the same in tokens, so the
	// steps differ with the context.
	w("## Pre-training runs (same token budget per run)\n\n| run | steps | tokens | wall (s) | last train loss | valid loss (nats/token) | valid header-byte loss |\n|---|---|---|---|---|---|---|\n")
	for _, v := range o.variants {
		for _, c := range o.ctxs {
			if !ran(o, v, c) {
				continue
			}
			steps, tokens, wall, loss, valid, header := "-", "-", "-", "-", "-", "-"
			last, validStep := 0, 0
			if log, err := train.ReadLog(filepath.Join(runDir(o, v, c), "model")); err == nil {
				for _, l := range log {
					switch {
					case l.Kind == "train":
						last = l.Step
						steps, tokens = strconv.Itoa(l.Step), strconv.FormatInt(l.Tokens, 10)
						wall, loss = fmt.Sprintf("%.0f", l.Elapsed), f4(l.Loss, true)
					case l.Kind == "valid" && l.Valid != nil:
						valid = f4(l.Valid.Loss, true)
						h, ok := l.Valid.KindLoss["header"]
						header = f4(h, ok)
						validStep = l.Step
					}
				}
			}
			if valid != "-" && validStep != last {
				// A run stopped by its time limit keeps its last
				// evaluation, which may be from long before.
				valid += fmt.Sprintf(" (step %d)", validStep)
				header += fmt.Sprintf(" (step %d)", validStep)
			}
			w("| %s %s | %s | %s | %s | %s | %s | %s |\n", v, ctxName(c), steps, tokens, wall, loss, valid, header)
		}
	}
	w("\nA byte of random or encrypted payload cannot be predicted below ln 256 = 5.545 nats; the header bytes are where a\n")
	w("model shows what it learned.\n\n")

	// Table I-III: classification.
	w("## Classification macro-F1 (test split, fine-tuning length %d)\n\n", o.mainLen)
	w("| model | ours: %s | paper: CP-iOS | paper: CP-Android | paper: ISCX-VPN-App | paper: USTC-TFC |\n|---|---|---|---|---|---|\n", name)
	var baseline *float64
	for _, v := range o.variants {
		for i := len(o.ctxs) - 1; i >= 0; i-- {
			c := o.ctxs[i]
			if !ran(o, v, c) {
				continue
			}
			r, ok := cls(o, v, c, o.mainLen)
			if ok && r.Baseline != nil && baseline == nil {
				x := r.Baseline.MacroF1
				baseline = &x
			}
			p, okp := paperCls[paperKey(o, v, c)]
			if !okp {
				p = [4]string{"-", "-", "-", "-"}
			}
			w("| %s %s | %s | %s | %s | %s | %s |\n", variantName(v), ctxName(c), f4(r.MacroF1, ok), p[0], p[1], p[2], p[3])
		}
	}
	pb := paperCls["baseline"]
	w("| random forest on flow features (ours) / best baseline (paper) | %s | %s | %s | %s | %s |\n\n", pf(baseline), pb[0], pb[1], pb[2], pb[3])
	w("The paper's RWKV and RetNet rows give no context length; they stand beside our %s runs.\n\n", ctxName(o.sweepCtx))

	// Tables IV-VI: generation.
	gens, free := map[string]genReport{}, map[string]genReport{}
	var cols []string
	for _, v := range o.variants {
		for _, c := range o.ctxs {
			if !ran(o, v, c) {
				continue
			}
			k := fmt.Sprintf("%s %s", v, ctxName(c))
			var g genReport
			if readJSON(filepath.Join(runDir(o, v, c), "gen.json"), &g) {
				gens[k] = g
			}
			var gf genReport
			if readJSON(filepath.Join(runDir(o, v, c), "gen-free.json"), &gf) {
				free[k] = gf
			}
			cols = append(cols, k)
		}
	}
	jsdTable := func(title string, rows [][4]string, get func(genReport) map[string]*float64, meanNote bool) {
		w("## %s (JSD base 2, lower is better)\n\n| field | ", title)
		for _, k := range cols {
			w("ours: %s | ", k)
		}
		w("paper 3k | paper 12k |")
		if meanNote {
			w(" paper RWKV | paper RetNet |")
		}
		w("\n|---|")
		for range cols {
			w("---|")
		}
		w("---|---|")
		if meanNote {
			w("---|---|")
		}
		w("\n")
		for _, r := range rows {
			w("| %s | ", r[1])
			for _, k := range cols {
				g, ok := gens[k]
				var p *float64
				if ok {
					p = get(g)[r[0]]
				}
				w("%s | ", pf(p))
			}
			w("%s | %s |", r[2], r[3])
			if meanNote {
				if r[0] == "mean" {
					w(" %s | %s |", paperHeaderMean(model.AttentionRWKV), paperHeaderMean(model.AttentionRetention))
				} else {
					w(" - | - |")
				}
			}
			w("\n")
		}
		w("\n")
	}
	jsdTable("Header-field JSD", paperHeader, func(g genReport) map[string]*float64 { return g.Header }, true)
	jsdTable("Flow-feature JSD (k-fingerprinting)", paperFlow, func(g genReport) map[string]*float64 { return g.Flow }, false)

	w("## Real-vs-generated discriminator and validity\n\n")
	w("| run | discriminator F1 (0.5 = indistinguishable) | paper | generated packets that parse | tshark clean | unconstrained: packets that parse | unconstrained: tshark clean |\n|---|---|---|---|---|---|---|\n")
	validity := func(g genReport, ok bool) (dec, ts string) {
		dec, ts = "-", "-"
		if v, found := g.Validity["generated"]; ok && found {
			dec = pf(v.Packets)
			if v.Tshark != nil {
				ts = pf(v.Tshark.Clean)
			}
		}
		return dec, ts
	}
	for _, k := range cols {
		g, ok := gens[k]
		disc := "-"
		if ok {
			disc = pf(g.Disc)
			if g.DiscStd != nil {
				disc += " +- " + pf(g.DiscStd)
			}
		}
		dec, ts := validity(g, ok)
		gf, okf := free[k]
		fdec, fts := validity(gf, okf)
		// The paper's 12k and 3k models stand beside our longest and
		// shortest linear contexts.
		paper := "-"
		switch k {
		case model.AttentionLinear + " " + ctxName(o.sweepCtx):
			paper = "0.6683 +- 0.0232"
		case model.AttentionLinear + " " + ctxName(o.ctxs[0]):
			if o.ctxs[0] < o.sweepCtx {
				paper = "0.6634"
			}
		}
		w("| %s | %s | %s | %s | %s | %s | %s |\n", k, disc, paper, dec, ts, fdec, fts)
	}
	w("\nThe paper blames RWKV's and RetNet's header JSD on packets that do not parse; the parse and tshark columns\n")
	w("measure that directly (parse: IPv4 or IPv6, not a fragment, a whole TCP or UDP header, the IP length within the\n")
	w("captured bytes; tshark clean: no expert error).\n\n")
	w("Our generation holds every packet to the token grammar and the protocol rules, so its packets parse whatever\n")
	w("the model; the unconstrained columns sample the same model under the token grammar\n")
	w("alone (`generate --constraints grammar`: headers, flags, lengths, checksums and TCP shape are the model's),\n")
	w("which is the comparison the paper's claim needs.\n\n")

	// Speed and memory.
	w("## Training speed and peak memory (batch 1, one process)\n\n| variant | ")
	for _, c := range o.speedCtxs {
		w("%s tokens/s | %s peak RSS (MB) | ", ctxName(c), ctxName(c))
	}
	w("\n|---|")
	for range o.speedCtxs {
		w("---|---|")
	}
	w("\n")
	for _, v := range o.variants {
		w("| %s | ", variantName(v))
		for _, c := range o.speedCtxs {
			tps, rss := speed(o, v, c)
			w("%s | %s | ", tps, rss)
		}
		w("\n")
	}
	w("\nThe paper reports no speed or memory figures. Tokens/s is the median step rate of a short pre-training\n")
	w("run after its first step (shared machine: read ratios between rows of one run, not absolute values).\n\n")

	w("## Fine-tuning length sweep (Fig. 3)\n\nmacro-F1 by fine-tuning length, model pre-trained at %s; plot: `sweep.png`.\n\n| variant | ", ctxName(o.sweepCtx))
	for _, l := range o.lens {
		w("%d | ", l)
	}
	w("\n|---|")
	for range o.lens {
		w("---|")
	}
	w("\n")
	for _, v := range o.variants {
		w("| %s | ", variantName(v))
		for _, l := range o.lens {
			r, ok := cls(o, v, o.sweepCtx, l)
			w("%s | ", f4(r.MacroF1, ok))
		}
		w("\n")
	}
	w("\nThe paper: most data sets saturate at 128-256 tokens, CP-Android keeps improving to 4,096.\n")
	if o.command != "" {
		w("\n## Command\n\n    %s\n", o.command)
	}
	return b.String(), nil
}

// speed reads a speed run's last training rate and peak RSS.
func speed(o tableOptions, v string, c int) (tps, rss string) {
	tps, rss = "-", "-"
	dir := filepath.Join(o.out, "speed", fmt.Sprintf("%s-c%d", v, c))
	if log, err := train.ReadLog(dir); err == nil {
		// The median step rate after the first (which allocates and
		// warms up): on a shared machine single steps swing widely.
		var rates []float64
		for _, l := range log {
			if l.Kind == "train" && l.TokensPerSec > 0 {
				rates = append(rates, l.TokensPerSec)
			}
		}
		if len(rates) > 1 {
			rates = rates[1:]
		}
		if len(rates) > 0 {
			sort.Float64s(rates)
			tps = fmt.Sprintf("%.0f", rates[len(rates)/2])
		}
	}
	if b, err := os.ReadFile(dir + ".rss"); err == nil {
		if kb, err := strconv.ParseFloat(strings.TrimSpace(lastLine(string(b))), 64); err == nil {
			rss = fmt.Sprintf("%.0f", kb/1024)
		}
	}
	return tps, rss
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// sweepPlot draws macro-F1 against fine-tuning length, one line per variant.
func sweepPlot(o tableOptions) error {
	var series []plot.ErrSeries
	c := o.sweepCtx
	for _, v := range o.variants {
		s := plot.ErrSeries{Name: variantName(v)}
		for _, l := range o.lens {
			if r, ok := cls(o, v, c, l); ok {
				s.X, s.Y, s.Err = append(s.X, float64(l)), append(s.Y, r.MacroF1), append(s.Err, 0)
			}
		}
		if len(s.X) > 0 {
			series = append(series, s)
		}
	}
	if len(series) == 0 {
		return nil // nothing ran: the tables say "-"
	}
	return plot.ErrorLines(filepath.Join(o.out, "sweep.png"), "fine-tuning length sweep (pre-trained at "+ctxName(c)+")",
		"fine-tuning length (tokens)", "test macro-F1", series, true, func(x float64) string { return strconv.Itoa(int(x)) })
}
