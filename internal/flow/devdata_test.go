package flow

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/devdata"
	"github.com/trafficgpt/trafficgpt/internal/packet"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

var devData = devdata.Dir()

func devFiles(t testing.TB, globs ...string) []string {
	t.Helper()
	devdata.Path(t)
	var files []string
	for _, g := range globs {
		m, _ := filepath.Glob(filepath.Join(devData, g))
		if len(m) == 0 {
			t.Fatalf("dev-v1: nothing matches %s", g)
		}
		files = append(files, m...)
	}
	return files
}

// flowsOf reads a capture into flows and the number of packet records.
func flowsOf(t testing.TB, path string, cfg Config) (flows []*Flow, records int, err error) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f, pcap.ReaderOptions{})
	if err != nil {
		return nil, 0, err
	}
	err = ReadFlows(r, cfg, func(fl *Flow) error {
		flows = append(flows, fl)
		return nil
	})
	// Count packet records independently.
	f2, _ := os.Open(path)
	defer f2.Close()
	r2, err2 := pcap.NewReader(f2, pcap.ReaderOptions{})
	if err2 == nil {
		for {
			rec, e := r2.Next()
			if e != nil {
				break
			}
			if rec.Kind == pcap.KindPacket {
				records++
			}
		}
	}
	return flows, records, err
}

// checkPartition verifies every packet record is in exactly one flow and
// flow ids are 0..n-1.
func checkPartition(t *testing.T, name string, flows []*Flow, records int) {
	t.Helper()
	seen := make(map[int]bool)
	ids := make([]uint64, 0, len(flows))
	for _, f := range flows {
		ids = append(ids, f.ID)
		if len(f.Packets) == 0 {
			t.Errorf("%s: flow %d has no packets", name, f.ID)
		}
		for _, p := range f.Packets {
			if seen[p.Index] {
				t.Errorf("%s: record %d in two flows", name, p.Index)
			}
			seen[p.Index] = true
		}
	}
	if len(seen) != records {
		t.Errorf("%s: %d packets in flows, %d packet records", name, len(seen), records)
	}
	slices.Sort(ids)
	for i, id := range ids {
		if id != uint64(i) {
			t.Fatalf("%s: flow ids not 0..n-1: %d at %d", name, id, i)
		}
	}
}

func TestDevPartition(t *testing.T) {
	globs := []string{"generated/*.pcap", "misc/*", "format/wireshark/*"}
	if !testing.Short() {
		globs = append(globs, "ndpi/pcap/*", "format/tcpdump/*", "zeek/*/*")
	}
	files := devFiles(t, globs...)
	n := 0
	for _, path := range files {
		flows, records, err := flowsOf(t, path, Config{})
		if err != nil {
			continue // the reader rejects some deliberately broken files
		}
		checkPartition(t, path, flows, records)
		n++
	}
	t.Logf("%d captures partitioned", n)
	if n < len(files)/2 {
		t.Errorf("only %d of %d captures read: the partition check ran on too few", n, len(files))
	}
}

func TestDevDeterminism(t *testing.T) {
	files := devFiles(t, "generated/dns.pcap", "misc/*.pcapng")
	for _, path := range files {
		a, _, errA := flowsOf(t, path, Config{})
		b, _, errB := flowsOf(t, path, Config{})
		if (errA == nil) != (errB == nil) || len(a) != len(b) {
			t.Fatalf("%s: runs differ", path)
		}
		for i := range a {
			if a[i].ID != b[i].ID || a[i].Key != b[i].Key || len(a[i].Packets) != len(b[i].Packets) || a[i].EndReason != b[i].EndReason {
				t.Fatalf("%s: flow %d differs", path, i)
			}
		}
	}
}

// TestDevGeneratedFlowCounts compares the TCP/UDP flow count of the
// generated captures with labels.csv (the count the generator intended).
func TestDevGeneratedFlowCounts(t *testing.T) {
	lf, err := os.Open(devdata.Path(t, "generated", "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	rows, err := csv.NewReader(lf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[1:] {
		want, _ := strconv.Atoi(row[2])
		wantPkts, _ := strconv.Atoi(row[3])
		flows, records, err := flowsOf(t, filepath.Join(devData, "generated", row[0]), Config{})
		if err != nil {
			t.Fatal(err)
		}
		ports := 0
		for _, f := range flows {
			if f.Key.Kind == packet.KindPorts {
				ports++
			}
		}
		t.Logf("%s: %d TCP/UDP flows (labels: %d), %d flows in all, %d packets (labels: %d)", row[0], ports, want, len(flows), records, wantPkts)
		if ports != want {
			t.Errorf("%s: %d TCP/UDP flows, labels.csv says %d", row[0], ports, want)
		}
	}
}

// BenchmarkReadFlows reads generated/ssh.pcap (from memory) into flows.
func BenchmarkReadFlows(b *testing.B) {
	data, err := os.ReadFile(devdata.Path(b, "generated", "ssh.pcap"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := pcap.NewReader(bytes.NewReader(data), pcap.ReaderOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		if err := ReadFlows(r, Config{}, func(f *Flow) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 60 {
			b.Fatalf("%d flows", n)
		}
	}
	b.ReportMetric(float64(len(data)*b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
}

// BenchmarkAssembler measures Add alone over many concurrent flows.
func BenchmarkAssembler(b *testing.B) {
	keys := make([]packet.Key, 1<<16)
	for i := range keys {
		keys[i].Kind = packet.KindPorts
		keys[i].PortA = uint16(i)
	}
	a := NewAssembler(Config{})
	var ended []Ended
	b.ReportAllocs()
	ts := int64(0)
	for b.Loop() {
		for i, k := range keys {
			ts += 1000
			a.Add(ts, k, i&1 == 0, 0, true)
		}
		ended = a.Ended(ended[:0])
	}
	b.ReportMetric(float64(len(keys)*b.N)/b.Elapsed().Seconds(), "packets/s")
}

// tsharkConvs counts tshark's TCP and UDP conversations of a capture.
func tsharkConvs(t *testing.T, tshark, path string) (tcp, udp int, ok bool) {
	out, err := exec.Command(tshark, "-n", "-q", "-r", path, "-z", "conv,tcp", "-z", "conv,udp").Output()
	if err != nil {
		return 0, 0, false
	}
	section := ""
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "TCP Conversations"):
			section = "tcp"
		case strings.HasPrefix(line, "UDP Conversations"):
			section = "udp"
		case strings.Contains(line, "<->") && section == "tcp":
			tcp++
		case strings.Contains(line, "<->") && section == "udp":
			udp++
		}
	}
	return tcp, udp, true
}

// TestDevVsTshark compares our TCP/UDP flow counts with tshark's
// conversation tables (tshark keeps one conversation per 5-tuple unless a
// new SYN reuses it, and never splits on idle time).
func TestDevVsTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("tshark takes seconds per file")
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	files := devFiles(t, "generated/*.pcap")
	for _, path := range files {
		flows, _, err := flowsOf(t, path, Config{})
		if err != nil {
			continue
		}
		var tcp, udp int
		for _, f := range flows {
			if f.Key.Kind == packet.KindPorts && f.Key.Proto == packet.ProtoTCP {
				tcp++
			} else if f.Key.Kind == packet.KindPorts {
				udp++
			}
		}
		tt, tu, ok := tsharkConvs(t, tshark, path)
		if !ok {
			continue
		}
		if tt != tcp || tu != udp {
			t.Logf("%s: ours tcp %d udp %d, tshark tcp %d udp %d", filepath.Base(path), tcp, udp, tt, tu)
		}
		if strings.Contains(path, "generated") && (tt != tcp || tu != udp) {
			t.Errorf("%s: flow counts differ from tshark", path)
		}
	}
}
