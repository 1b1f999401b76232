package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/metric"
)

func TestSpreadMultiFlags(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"--real", "a", "b", "--generated", "c", "--json", "x"},
			[]string{"--real", "a", "--real", "b", "--generated", "c", "--json", "x"}},
		{[]string{"-real=a", "--train", "t1", "t2"}, []string{"-real=a", "--train", "t1", "--train", "t2"}},
		{[]string{"--real"}, []string{"--real"}},
		{[]string{"--plots", "dir", "pos"}, []string{"--plots", "dir", "pos"}},
	}
	for _, tc := range tests {
		if got := spreadMultiFlags(tc.in, "real", "generated", "train"); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("spreadMultiFlags(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEvalGenerateUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{
		{"--real", "x.pcap"},
		{"--real", "x.pcap", "--generated", "y.pcap", "--tshark", "maybe"},
		{"--real", "x.pcap", "--generated", "y.pcap", "--seeds", "0"},
	} {
		if err := cmdEvalGenerate(context.Background(), args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
	err := cmdEvalGenerate(context.Background(), []string{"--help"}, &out, &errOut)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut.String(), "example:") {
		t.Errorf("--help: %v, %q", err, errOut.String())
	}
}

// evalJSON runs the command and decodes its JSON report.
func evalJSON(t *testing.T, opts evalGenerateOptions) map[string]any {
	t.Helper()
	dir := t.TempDir()
	opts.JSON = filepath.Join(dir, "report.json")
	var out, errOut bytes.Buffer
	if err := runEvalGenerate(context.Background(), opts, &out, &errOut); err != nil {
		t.Fatalf("runEvalGenerate: %v\n%s", err, errOut.String())
	}
	t.Logf("\n%s", out.String())
	b, err := os.ReadFile(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	return rep
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

// TestEvalGenerateSelf compares a capture with itself: every divergence is
// 0, and with itself as training data every flow is a duplicate at distance 0.
func TestEvalGenerateSelf(t *testing.T) {
	file := filepath.Join(devData, "generated", "mqtt.pcap")
	if _, err := os.Stat(file); err != nil {
		t.Skip("dev-v1 not found")
	}
	plots := t.TempDir()
	rep := evalJSON(t, evalGenerateOptions{Real: []string{file}, Generated: []string{file}, Train: []string{file},
		Plots: plots, Seeds: 2, Trees: 20, MaxFlows: 500, Tshark: "off", Workers: 2})
	keys := make([]string, 0, len(rep))
	for k := range rep {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"discriminator_f1", "discriminator_f1_std", "flow_jsd", "header_jsd", "memorization", "validity"}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("top-level keys %v, want %v", keys, want)
	}
	for _, f := range append(append([]string{}, headerFields...), "mean") {
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
		t.Errorf("handshake share %v on clean generated traffic", s)
	}
	// One PNG per header field and flow feature.
	pngs, _ := filepath.Glob(filepath.Join(plots, "*.png"))
	if want := len(headerFields) + metric.NumFlowFeatures; len(pngs) != want {
		t.Errorf("%d plots, want %d", len(pngs), want)
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

// zeekClass lists the captures of one zeek protocol folder, split into
// halves by file (alternate files).
func zeekClass(t *testing.T, class string) (a, b []string) {
	t.Helper()
	var all []string
	err := filepath.WalkDir(filepath.Join(devData, "zeek", class), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			all = append(all, p)
		}
		return err
	})
	if err != nil || len(all) < 4 {
		t.Skipf("zeek/%s not found", class)
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

// TestEvalGenerateDevClasses: two halves (by file) of zeek's http captures
// are close; http against dns is far.
func TestEvalGenerateDevClasses(t *testing.T) {
	httpA, httpB := zeekClass(t, "http")
	dnsA, dnsB := zeekClass(t, "dns")
	opts := evalGenerateOptions{Seeds: 2, Trees: 30, MaxFlows: 1000, Tshark: "off", Workers: 2}
	opts.Real, opts.Generated = httpA, httpB
	same := evalJSON(t, opts)
	opts.Generated = append(dnsA, dnsB...)
	diff := evalJSON(t, opts)
	sf, df := num(t, same, "flow_jsd", "mean"), num(t, diff, "flow_jsd", "mean")
	if !(sf < 0.3 && df > 0.45 && df > sf+0.2) {
		t.Errorf("flow JSD mean: same class %.3f, different classes %.3f", sf, df)
	}
	sl, dl := num(t, same, "header_jsd", "length"), num(t, diff, "header_jsd", "length")
	if !(sl < 0.4 && dl > sl) {
		t.Errorf("packet length JSD: same class %.3f, different classes %.3f", sl, dl)
	}
	if s, d := num(t, same, "discriminator_f1"), num(t, diff, "discriminator_f1"); !(d > s && d > 0.85) {
		t.Errorf("discriminator F1: same class %.3f, different classes %.3f", s, d)
	}
}

// TestEvalGenerateTshark: tshark sees the same packets as our reader.
func TestEvalGenerateTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	if testing.Short() {
		t.Skip("tshark start-up is slow")
	}
	file := filepath.Join(devData, "generated", "dns.pcap")
	if _, err := os.Stat(file); err != nil {
		t.Skip("dev-v1 not found")
	}
	rep := evalJSON(t, evalGenerateOptions{Real: []string{file}, Generated: []string{file}, Seeds: 1, Trees: 5, MaxFlows: 100, Tshark: "on", Workers: 1})
	pk := num(t, rep, "validity", "generated", "packets")
	if tp := num(t, rep, "validity", "generated", "tshark", "packets"); tp != pk {
		t.Errorf("tshark saw %v packets, we saw %v", tp, pk)
	}
	if c := num(t, rep, "validity", "generated", "tshark", "clean_share"); c < 0.99 {
		t.Errorf("tshark clean share %v on real dns traffic", c)
	}
}
