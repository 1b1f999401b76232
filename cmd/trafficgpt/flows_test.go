package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/flow"
)

const demoDNS = "../../testdata/demo/dns.pcap"

// jsonFields decodes one JSON object, keeping its keys in order and its
// values as text ("" for null), the way CSV shows them.
func jsonFields(t *testing.T, line string) (keys, vals []string) {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %q", line)
	}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		v, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		switch v := v.(type) {
		case nil:
			vals = append(vals, "")
		case json.Number:
			vals = append(vals, v.String())
		case string:
			vals = append(vals, v)
		default:
			t.Fatalf("key %s: unexpected value %v", k, v)
		}
	}
	return keys, vals
}

// TestFlowsCSVAndJSONLSameColumns: both formats carry flow.RecordColumns in
// order with the same values, and the per-direction counts add up to the
// capture's packets and bytes.
func TestFlowsCSVAndJSONLSameColumns(t *testing.T) {
	code, csvOut, e := run(t, "flows", "--format", "csv", demoDNS)
	if code != 0 {
		t.Fatalf("csv: %d %s", code, e)
	}
	code, jsonOut, e := run(t, "flows", "--format", "jsonl", demoDNS)
	if code != 0 {
		t.Fatalf("jsonl: %d %s", code, e)
	}
	rows, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], flow.RecordColumns) {
		t.Fatalf("csv header %v, want %v", rows[0], flow.RecordColumns)
	}
	lines := strings.Split(strings.TrimSpace(jsonOut), "\n")
	if len(lines) != len(rows)-1 || len(lines) < 40 {
		t.Fatalf("%d json lines, %d csv rows", len(lines), len(rows)-1)
	}
	col := func(name string) int { return slices.Index(flow.RecordColumns, name) }
	var packets, wire int64
	for i, line := range lines {
		keys, vals := jsonFields(t, line)
		if !slices.Equal(keys, flow.RecordColumns) {
			t.Fatalf("json keys %v", keys)
		}
		if !slices.Equal(vals, rows[i+1]) {
			t.Fatalf("line %d: json %v, csv %v", i, vals, rows[i+1])
		}
		for _, c := range []string{"c2s_packets", "s2c_packets"} {
			n, _ := strconv.ParseInt(vals[col(c)], 10, 64)
			packets += n
		}
		for _, c := range []string{"c2s_bytes", "s2c_bytes"} {
			n, _ := strconv.ParseInt(vals[col(c)], 10, 64)
			wire += n
		}
		if !regexp.MustCompile(`^\d{10}\.\d{6}$`).MatchString(vals[col("start")]) {
			t.Errorf("start %q: want epoch seconds with 6 decimals (a microsecond pcap)", vals[col("start")])
		}
		if !strings.HasPrefix(vals[col("community_id")], "1:") {
			t.Errorf("community_id %q", vals[col("community_id")])
		}
	}
	// dns.pcap: 20-byte headers... count records and bytes with tshark-free
	// arithmetic: every record is a packet of exactly one flow.
	recs, bytes := countRecords(t, demoDNS)
	if packets != recs || wire != bytes {
		t.Errorf("flows count %d packets, %d bytes; the capture has %d, %d", packets, wire, recs, bytes)
	}
}

// countRecords reads a classic little-endian pcap's record headers.
func countRecords(t *testing.T, path string) (n, origBytes int64) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for off := 24; off+16 <= len(b); {
		capLen := int(b[off+8]) | int(b[off+9])<<8 | int(b[off+10])<<16 | int(b[off+11])<<24
		origBytes += int64(b[off+12]) | int64(b[off+13])<<8 | int64(b[off+14])<<16 | int64(b[off+15])<<24
		n++
		off += 16 + capLen
	}
	return n, origBytes
}

// withStdin runs fn with "-" reading what a writer goroutine sends through
// an os.Pipe, as a shell pipe would.
func withStdin(t *testing.T, data []byte, fn func()) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		w.Write(data)
		w.Close()
	}()
	old := stdin
	stdin = r
	defer func() { stdin = old }()
	fn()
}

// TestFlowsFromPipe: `... | trafficgpt flows -` gives the same records as
// the file, with file "-".
func TestFlowsFromPipe(t *testing.T) {
	data, err := os.ReadFile(demoDNS)
	if err != nil {
		t.Fatal(err)
	}
	_, want, _ := run(t, "flows", "--format", "csv", demoDNS)
	var code int
	var got, e string
	withStdin(t, data, func() { code, got, e = run(t, "flows", "--format", "csv", "-") })
	if code != 0 {
		t.Fatalf("flows -: %d %s", code, e)
	}
	if strings.ReplaceAll(want, demoDNS, "-") != got {
		t.Fatalf("pipe output differs from the file's:\n%s\nwant\n%s", got[:min(len(got), 400)], want[:min(len(want), 400)])
	}
	if code, _, e := run(t, "flows", "-", "-"); code != exitUsage || !strings.Contains(e, "twice") {
		t.Errorf("stdin twice: %d %s", code, e)
	}
}

// TestFlowsMatchTshark compares per-direction packets and wire bytes with
// tshark's dissection of every frame of the demo captures (the numbers its
// conversation tables -z conv,tcp/udp add up, which print kB rounded),
// adding up flows of the same directed endpoint pair as tshark's tables do.
func TestFlowsMatchTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark absent")
	}
	if testing.Short() {
		t.Skip("slow: runs tshark")
	}
	type dir struct{ packets, bytes int64 }
	for _, name := range []string{"dns", "https", "mqtt"} {
		path := "../../testdata/demo/" + name + ".pcap"
		out, err := exec.Command("tshark", "-r", path, "-n", "-T", "fields", "-E", "separator=,",
			"-e", "ip.src", "-e", "tcp.srcport", "-e", "udp.srcport", "-e", "ip.dst", "-e", "tcp.dstport", "-e", "udp.dstport",
			"-e", "frame.len").Output()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]dir{} // "src:port>dst:port"
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Split(line, ",")
			n, _ := strconv.ParseInt(f[6], 10, 64)
			d := want[f[0]+":"+f[1]+f[2]+">"+f[3]+":"+f[4]+f[5]]
			want[f[0]+":"+f[1]+f[2]+">"+f[3]+":"+f[4]+f[5]] = dir{d.packets + 1, d.bytes + n}
		}
		_, csvOut, _ := run(t, "flows", "--format", "csv", path)
		rows, _ := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
		got := map[string]dir{}
		ix := func(c string) int { return slices.Index(flow.RecordColumns, c) }
		for _, r := range rows[1:] {
			n := func(c string) int64 { v, _ := strconv.ParseInt(r[ix(c)], 10, 64); return v }
			c, s := r[ix("client_addr")]+":"+r[ix("client_port")], r[ix("server_addr")]+":"+r[ix("server_port")]
			for _, e := range []struct {
				k    string
				p, b int64
			}{{c + ">" + s, n("c2s_packets"), n("c2s_bytes")}, {s + ">" + c, n("s2c_packets"), n("s2c_bytes")}} {
				if e.p > 0 {
					d := got[e.k]
					got[e.k] = dir{d.packets + e.p, d.bytes + e.b}
				}
			}
		}
		if len(want) < 20 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %d directions, tshark %d", name, len(got), len(want))
			bad := 0
			for k, w := range want {
				if got[k] != w && bad < 5 {
					bad++
					t.Errorf("  %s: ours %v, tshark %v", k, got[k], w)
				}
			}
		}
	}
}
