package evalgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/devdata"
	"github.com/trafficgpt/trafficgpt/internal/metric"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

var update = flag.Bool("update", false, "rewrite the golden report testdata/golden/eval-generate-demo.json")

var demoDir = filepath.Join("..", "..", "testdata", "demo")

func demo(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(demoDir, n))
	}
	return out
}

// goldenOptions is the fixed comparison of the golden report (the same as
// cmd/trafficgpt's golden test): three demo classes as "real", four as
// "generated", two as training data, tshark off (its verdicts depend on
// its version).
func goldenOptions() Options {
	return Options{
		Real:      demo("dns.pcap", "http.pcap", "mqtt.pcap"),
		Generated: demo("https.pcap", "redis.pcap", "ssh.pcap", "dns.pcap"),
		Train:     demo("dns.pcap", "mqtt.pcap"),
		Seeds:     3, Trees: 30, MaxFlows: 300, Tshark: "off", Workers: 2,
	}
}

func reportJSON(t *testing.T, rep *Report) []byte {
	t.Helper()
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestRunGolden: the JSON report on fixed inputs is byte for byte the
// committed one, which was captured before the evaluation moved out of
// cmd/trafficgpt (run with -update to accept a deliberate change).
func TestRunGolden(t *testing.T) {
	golden := filepath.Join("..", "..", "testdata", "golden", "eval-generate-demo.json")
	rep, err := Run(context.Background(), goldenOptions())
	if err != nil {
		t.Fatal(err)
	}
	got := reportJSON(t, rep)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report differs from %s:\n got: %s\nwant: %s", golden, got, want)
	}
	// The tables eval generate prints, without its times (the file was
	// checked equal to the command's output before WriteText moved here).
	goldenText := filepath.Join("..", "..", "testdata", "golden", "eval-generate-demo.txt")
	var text bytes.Buffer
	rep.ReadTime = 0
	rep.WriteText(&text, goldenOptions(), 0)
	if *update {
		if err := os.WriteFile(goldenText, text.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile(goldenText); err != nil || !bytes.Equal(text.Bytes(), want) {
		t.Errorf("text report differs from %s (%v):\n got: %s\nwant: %s", goldenText, err, text.Bytes(), want)
	}
}

// TestPcapngStreamGolden pins the bytes of the multi-section pcapng stream
// that feeds tshark (the six demo captures, one section each): the same as
// before the writer moved into internal/pcap.
func TestPcapngStreamGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(demoDir, "*.pcap"))
	if err != nil || len(files) != 6 {
		t.Fatalf("demo captures: %v, %v", files, err)
	}
	h := sha256.New()
	if err := writePcapngStream(context.Background(), h, files, nil); err != nil {
		t.Fatal(err)
	}
	const want = "ea85fbfafcd779429b2cc2469858e9f2d7e53c3e63af6afabd3649409d9fde09"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("pcapng stream sha256 %s, want %s", got, want)
	}
}

// decoded turns a report into generic JSON for path lookups.
func decoded(t *testing.T, rep *Report) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(reportJSON(t, rep), &m); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	return m
}

func num(t *testing.T, rep map[string]any, path ...string) float64 {
	t.Helper()
	var v any = rep
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v: not an object at %q", path, p)
		}
		v = m[p]
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("%v = %v, not a number", path, v)
	}
	return f
}

// TestRunSelf compares a capture with itself: every divergence is 0, and
// with itself as training data every flow is a duplicate at distance 0.
func TestRunSelf(t *testing.T) {
	file := demo("mqtt.pcap")
	r, err := Run(context.Background(), Options{Real: file, Generated: file, Train: file,
		Seeds: 2, Trees: 20, MaxFlows: 500, Tshark: "off", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	rep := decoded(t, r)
	for _, k := range []string{"discriminator_f1", "discriminator_f1_std", "flow_jsd", "header_jsd", "memorization", "validity"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("top-level key %q missing", k)
		}
	}
	for _, f := range append(append([]string{}, HeaderFields...), "mean") {
		if v := num(t, rep, "header_jsd", f); v != 0 {
			t.Errorf("header_jsd.%s = %v, want 0", f, v)
		}
	}
	if v := num(t, rep, "flow_jsd", "mean"); v != 0 {
		t.Errorf("flow_jsd.mean = %v, want 0", v)
	}
	if d := num(t, rep, "memorization", "generated_duplicate_share"); d != 1 {
		t.Errorf("duplicate share %v, want 1", d)
	}
	if z := num(t, rep, "memorization", "generated_nn_zero_share"); z != 1 {
		t.Errorf("NN zero share %v, want 1", z)
	}
	if s := num(t, rep, "validity", "generated", "packet_decode_share"); s != 1 {
		t.Errorf("packet decode share %v", s)
	}
	if s := num(t, rep, "validity", "generated", "tcp_handshake_share"); s != 1 {
		t.Errorf("handshake share %v on clean real traffic", s)
	}
	// One PNG per header field and flow feature.
	plots := t.TempDir()
	if err := r.WritePlots(plots); err != nil {
		t.Fatal(err)
	}
	pngs, _ := filepath.Glob(filepath.Join(plots, "*.png"))
	if want := len(HeaderFields) + metric.NumFlowFeatures; len(pngs) != want {
		t.Fatalf("%d plots, want %d", len(pngs), want)
	}
	for _, p := range pngs[:2] {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(f); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		f.Close()
	}
}

// TestRunDemoClasses: two demo classes against themselves are close, and
// against two other classes far (on fixtures in the repository).
func TestRunDemoClasses(t *testing.T) {
	opts := Options{Seeds: 2, Trees: 30, MaxFlows: 1000, Tshark: "off", Workers: 2}
	opts.Real, opts.Generated = demo("http.pcap", "dns.pcap"), demo("http.pcap", "dns.pcap")
	same, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Generated = demo("ssh.pcap", "redis.pcap")
	diff, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if s, d := same.FlowJSD.Get("mean"), diff.FlowJSD.Get("mean"); !(s == 0 && d > 0.2) {
		t.Errorf("flow JSD mean: same %.3f, different classes %.3f", s, d)
	}
	if s, d := float64(same.DiscriminatorF1), float64(diff.DiscriminatorF1); !(d > 0.85 && d > s) {
		t.Errorf("discriminator F1: same %.3f, different classes %.3f", s, d)
	}
}

// zeekClass lists the captures of one zeek protocol folder of dev-v1,
// split into halves by file (alternate files).
func zeekClass(t *testing.T, class string) (a, b []string) {
	t.Helper()
	dir := devdata.Path(t, "zeek", class)
	var all []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			all = append(all, p)
		}
		return err
	})
	if err != nil || len(all) < 4 {
		t.Fatalf("zeek/%s: %d files, %v", class, len(all), err)
	}
	sort.Strings(all)
	for i, f := range all {
		if i%2 == 0 {
			a = append(a, f)
		} else {
			b = append(b, f)
		}
	}
	return a, b
}

// TestRunDevClasses (extended, dev-v1): two halves (by file) of zeek's http
// captures are close; http against dns is far.
func TestRunDevClasses(t *testing.T) {
	httpA, httpB := zeekClass(t, "http")
	dnsA, dnsB := zeekClass(t, "dns")
	opts := Options{Seeds: 2, Trees: 30, MaxFlows: 1000, Tshark: "off", Workers: 2}
	opts.Real, opts.Generated = httpA, httpB
	s, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Generated = append(dnsA, dnsB...)
	d, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	sf, df := s.FlowJSD.Get("mean"), d.FlowJSD.Get("mean")
	if !(sf < 0.3 && df > 0.45 && df > sf+0.2) {
		t.Errorf("flow JSD mean: same class %.3f, different classes %.3f", sf, df)
	}
	sl, dl := s.HeaderJSD.Get("length"), d.HeaderJSD.Get("length")
	if !(sl < 0.4 && dl > sl) {
		t.Errorf("packet length JSD: same class %.3f, different classes %.3f", sl, dl)
	}
	if sd, dd := float64(s.DiscriminatorF1), float64(d.DiscriminatorF1); !(dd > sd && dd > 0.85) {
		t.Errorf("discriminator F1: same class %.3f, different classes %.3f", sd, dd)
	}
}

// TestRunTshark: tshark sees the same packets as our reader, and the demo
// captures (real checksums, offloads off) are clean.
func TestRunTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	if testing.Short() {
		t.Skip("tshark start-up is slow")
	}
	file := demo("dns.pcap", "mqtt.pcap")
	r, err := Run(context.Background(), Options{Real: file, Generated: file, Seeds: 1, Trees: 5, MaxFlows: 100, Tshark: "on", Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	g := r.Validity["generated"]
	if g.Tshark == nil || g.Tshark.Err != "" {
		t.Fatalf("tshark: %+v", g.Tshark)
	}
	if g.Tshark.Packets != g.Packets {
		t.Errorf("tshark saw %d packets, we saw %d", g.Tshark.Packets, g.Packets)
	}
	if c := float64(g.Tshark.CleanShr); c < 0.99 {
		t.Errorf("tshark clean share %v on real demo traffic", c)
	}
}

// TestRunErrors: bad options and inputs are errors that say what is wrong.
func TestRunErrors(t *testing.T) {
	notCapture := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notCapture, []byte("hello world"), 0o644)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"tshark mode", Options{Real: demo("dns.pcap"), Generated: demo("dns.pcap"), Tshark: "maybe"}, "tshark mode"},
		{"missing real", Options{Real: []string{"/no/such"}, Generated: demo("dns.pcap")}, "real captures"},
		{"empty folder", Options{Real: []string{t.TempDir()}, Generated: demo("dns.pcap")}, "no capture files"},
		{"not a capture", Options{Real: []string{notCapture}, Generated: demo("dns.pcap"), Tshark: "off"}, "not a capture"},
	}
	for _, tc := range tests {
		_, err := Run(context.Background(), tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestRunCutFile: a capture cut mid-record is a warning, not a failure: its
// flows up to the cut count, and the file counts as a file error.
func TestRunCutFile(t *testing.T) {
	data, err := os.ReadFile(demo("dns.pcap")[0])
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)/2+7], 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings []error
	opts := Options{Real: []string{cut}, Generated: demo("dns.pcap"), Seeds: 1, Trees: 5, Tshark: "off",
		Warn: func(err error) { warnings = append(warnings, err) }}
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	r, g := rep.Validity["real"], rep.Validity["generated"]
	if len(warnings) != 1 || !strings.Contains(warnings[0].Error(), "cut.pcap") {
		t.Errorf("warnings %v, want one naming cut.pcap", warnings)
	}
	if r.FileErrors != 1 || r.Flows == 0 || r.Packets == 0 || r.Packets >= g.Packets || r.Flows > g.Flows {
		t.Errorf("cut file: %d file errors, %d flows, %d packets (whole file: %d flows, %d packets)",
			r.FileErrors, r.Flows, r.Packets, g.Flows, g.Packets)
	}
}

// TestFloor: the halves partition the real flows; two halves of real
// traffic are indistinguishable (F1 near 0.5); the real traffic itself
// scores near the floor (ratio near 1), other classes far above it; the
// split follows the seed.
func TestFloor(t *testing.T) {
	opts := Options{Real: demo("http.pcap", "dns.pcap"), Generated: demo("http.pcap", "dns.pcap"), Seeds: 3, Trees: 30, Tshark: "off"}
	same, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	f := same.Floor
	if f == nil || f.Seed != 1 || f.RealFlowsA+f.RealFlowsB != same.Validity["real"].Flows || f.RealFlowsA < f.RealFlowsB/2 || f.RealFlowsB < f.RealFlowsA/2 {
		t.Fatalf("floor %+v, real flows %d", f, same.Validity["real"].Flows)
	}
	if d := float64(f.DiscriminatorF1); d < 0.3 || d > 0.7 {
		t.Errorf("floor discriminator F1 %.3f, want near 0.5", d)
	}
	if r := f.Ratio.FlowJSD.Get("mean"); !(r < 1.5) {
		t.Errorf("real vs its half B: flow JSD %.2fx the floor, want near 1", r)
	}
	opts.Generated = demo("ssh.pcap", "redis.pcap")
	diff, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if r := diff.Floor.Ratio.FlowJSD.Get("mean"); !(r > 5) {
		t.Errorf("other classes: flow JSD %.2fx the floor, want far above", r)
	}
	if r := float64(diff.Floor.Ratio.DiscriminatorF1); !(r > 1.5) {
		t.Errorf("other classes: discriminator F1 %.2fx the floor", r)
	}
	opts.FloorSeed = 2
	reseeded, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(reseeded.Floor.Comparison, diff.Floor.Comparison) {
		t.Error("floor seed 2 gave the same halves as seed 1")
	}
	opts.FloorSeed = 1
	again, _ := Run(context.Background(), opts)
	if !bytes.Equal(reportJSON(t, again), reportJSON(t, diff)) {
		t.Error("the same seed gave a different report")
	}
}

// TestClassRows: with labels, one row per class present on both sides,
// in label order, each its own comparison and floor.
func TestClassRows(t *testing.T) {
	opts := Options{Real: demo("dns.pcap", "http.pcap", "mqtt.pcap"), Generated: demo("dns.pcap", "http.pcap", "ssh.pcap"),
		Labels: "file", Seeds: 2, Trees: 20, Tshark: "off"}
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Classes) != 2 || rep.Classes[0].Label != "dns" || rep.Classes[1].Label != "http" {
		t.Fatalf("classes %+v, want dns and http", rep.Classes)
	}
	for _, c := range rep.Classes {
		if c.RealFlows != c.GeneratedFlows || c.RealFlows == 0 || c.HeaderJSD.Get("mean") != 0 || c.FlowJSD.Get("mean") != 0 {
			t.Errorf("%s: flows %d/%d, JSD %v/%v; the same capture on both sides", c.Label, c.RealFlows, c.GeneratedFlows,
				c.HeaderJSD.Get("mean"), c.FlowJSD.Get("mean"))
		}
		if c.Floor == nil || c.Floor.RealFlowsA+c.Floor.RealFlowsB != c.RealFlows {
			t.Errorf("%s: floor %+v", c.Label, c.Floor)
		}
	}
	if s := float64(rep.Classes[1].TCPHandshakeReal); s != 1 {
		t.Errorf("http: handshake share %v", s)
	}
	opts.Labels = ""
	if rep, err := Run(context.Background(), opts); err != nil || rep.Classes != nil {
		t.Errorf("no labels: classes %v, err %v", rep.Classes, err)
	}
	opts.Labels = "csv"
	if _, err := Run(context.Background(), opts); err == nil {
		t.Error("labels mode csv: no error")
	}
}

// cutCapture writes the packets of a demo capture into parts files of
// consecutive packets (a capture cut in time, as a training/held-out split).
func cutCapture(t *testing.T, name string, parts int) []string {
	t.Helper()
	data, err := os.ReadFile(demo(name)[0])
	if err != nil {
		t.Fatal(err)
	}
	recs, err := pcap.ReadPackets(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out []string
	for i := 0; i < parts; i++ {
		var buf bytes.Buffer
		part := recs[i*len(recs)/parts : (i+1)*len(recs)/parts]
		if err := pcap.WritePackets(&buf, pcap.Framing{Format: pcap.FormatPcap, Resolution: recs[0].Resolution}, recs[0].LinkType, 262144, part); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("part%d.pcap", i))
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestMembership: a "generator" that returns its training flows puts them
// nearer than held-out flows of the same traffic (AUC near 1); one that
// returns the held-out flows, the other way round (AUC below 0.5).
func TestMembership(t *testing.T) {
	parts := cutCapture(t, "mqtt.pcap", 2)
	train, heldout := parts[:1], parts[1:]
	opts := Options{Real: heldout, Train: train, Seeds: 1, Trees: 5, Tshark: "off"}
	opts.Generated = train
	copying, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Generated = heldout
	other, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	c, o := copying.Memorization, other.Memorization
	if c.MembershipFlows == 0 || !(float64(c.MembershipAUC) > 0.8) || float64(c.MembershipTrainNN) != 0 {
		t.Errorf("copying generator: membership %d flows, AUC %.3f, train NN median %v", c.MembershipFlows, c.MembershipAUC, c.MembershipTrainNN)
	}
	if !(float64(o.MembershipAUC) < 0.5) {
		t.Errorf("generator of held-out flows: membership AUC %.3f, want below 0.5", o.MembershipAUC)
	}
}

func TestCloserShare(t *testing.T) {
	tests := []struct {
		a, b []float64
		want float64
	}{
		{[]float64{0, 0}, []float64{1, 2}, 1},
		{[]float64{3}, []float64{1, 2}, 0},
		{[]float64{1, 2}, []float64{1, 2}, 0.5},
		{[]float64{1}, []float64{0, 1, 2, 3}, 0.25 + 0.125 + 0.25},
	}
	for _, tc := range tests {
		if got := closerShare(tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("closerShare(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestClassTshark: tshark's verdicts are attributed to the class of the
// file they came from: each class row counts exactly the packets of its
// captures (the same as the whole report of that capture alone), and the
// rows add up to the side's total.
func TestClassTshark(t *testing.T) {
	devdata.LookPath(t, "tshark")
	if testing.Short() {
		t.Skip("tshark start-up is slow")
	}
	files := demo("dns.pcap", "http.pcap", "mqtt.pcap")
	rep, err := Run(context.Background(), Options{Real: files, Generated: files, Labels: "file", Seeds: 1, Trees: 5, Tshark: "on", Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Classes) != 3 {
		t.Fatalf("%d classes", len(rep.Classes))
	}
	sum := 0
	for _, c := range rep.Classes {
		if c.TsharkReal == nil || c.TsharkGenerated == nil {
			t.Fatalf("%s: no tshark counts", c.Label)
		}
		one, err := Run(context.Background(), Options{Real: demo(c.Label + ".pcap"), Generated: demo(c.Label + ".pcap"), Seeds: 1, Trees: 5, Tshark: "off", Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		if want := one.Validity["generated"].Packets; c.TsharkGenerated.Packets != want || c.TsharkReal.Packets != want {
			t.Errorf("%s: tshark counted %d/%d packets, the capture has %d", c.Label, c.TsharkReal.Packets, c.TsharkGenerated.Packets, want)
		}
		if float64(c.TsharkGenerated.CleanShr) < 0.99 {
			t.Errorf("%s: clean share %v on real traffic", c.Label, c.TsharkGenerated.CleanShr)
		}
		sum += c.TsharkGenerated.Packets
	}
	if g := rep.Validity["generated"].Tshark; g == nil || g.Packets != sum {
		t.Errorf("classes add up to %d packets, the side has %+v", sum, g)
	}
}
