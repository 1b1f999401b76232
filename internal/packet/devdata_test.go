package packet

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/devdata"
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

// eachPacket calls fn for every packet record of a capture, until the first
// reader error (some dev captures are broken on purpose).
func eachPacket(t testing.TB, path string, fn func(i int, rec *pcap.Record)) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f, pcap.ReaderOptions{})
	if err != nil {
		return
	}
	for i := 0; ; {
		rec, err := r.Next()
		if err != nil {
			return
		}
		if rec.Kind == pcap.KindPacket {
			fn(i, rec)
			i++
		}
	}
}

// TestDevDecode decodes every packet of the dev captures: no panic, and
// every offset lies inside the packet and agrees with the decoded values.
func TestDevDecode(t *testing.T) {
	globs := []string{"generated/dns.pcap", "misc/*", "format/wireshark/*", "format/tcpdump/*"}
	if !testing.Short() {
		globs = append(globs, "generated/*", "ndpi/pcap/*", "zeek/*", "zeek/*/*")
	}
	var l Layers
	n, errs := 0, 0
	for _, path := range devFiles(t, globs...) {
		eachPacket(t, path, func(i int, rec *pcap.Record) {
			n++
			if Decode(rec.LinkType, rec.Data, &l) != nil {
				errs++
			}
			checkOffsets(t, &l, rec.Data)
			KeyOf(&l, rec.Data)
			L4Checksum(&l, rec.Data)
			if l.IPVersion == 4 && l.NetOff+l.IPHdrLen <= len(rec.Data) {
				IPv4HeaderChecksum(rec.Data[l.NetOff : l.NetOff+l.IPHdrLen])
			}
			if t.Failed() {
				t.Fatalf("%s packet %d", path, i)
			}
		})
	}
	t.Logf("%d packets decoded, %d with a truncated or malformed header", n, errs)
}

// TestDevChecksumsVsTshark compares our checksum verdicts with tshark's.
func TestDevChecksumsVsTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	// tshark costs ~0.3 s per file, so the set stays small.
	globs := []string{"generated/dns.pcap", "zeek/chksums/*"}
	if !testing.Short() {
		globs = append(globs, "generated/mqtt.pcap", "ndpi/pcap/[a-c]*", "zeek/tunnels/*.pcap")
	}
	// tshark takes seconds to start, so the files are concatenated into one
	// pcapng (one interface per input) and dissected in one run.
	mergecap, err := exec.LookPath("mergecap")
	if err != nil {
		t.Skip("mergecap not installed")
	}
	path := filepath.Join(t.TempDir(), "merged.pcapng")
	files := devFiles(t, globs...)
	if out, err := exec.Command(mergecap, append([]string{"-a", "-F", "pcapng", "-w", path}, files...)...).CombinedOutput(); err != nil {
		t.Skipf("mergecap: %v: %s", err, out)
	}
	var l Layers
	var agree, disagree, bad, ipAgree int
	{
		out, err := exec.Command(tshark, "-n", "-r", path,
			"-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
			"-T", "fields", "-E", "separator=/t",
			"-e", "tcp.checksum.status", "-e", "udp.checksum.status", "-e", "ip.checksum.status").Output()
		if err != nil {
			t.Skipf("tshark: %v", err)
		}
		var verdicts [][3]string
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Split(sc.Text(), "\t")
			var v [3]string
			for j := 0; j < 3 && j < len(f); j++ {
				v[j], _, _ = strings.Cut(f[j], ",") // outermost header first
			}
			verdicts = append(verdicts, v)
		}
		eachPacket(t, path, func(i int, rec *pcap.Record) {
			if i >= len(verdicts) {
				return
			}
			Decode(rec.LinkType, rec.Data, &l)
			if l.IPVersion == 4 && l.NetOff+l.IPHdrLen <= len(rec.Data) && l.IPHdrLen >= 20 {
				tv := verdicts[i][2]
				ours := IPv4HeaderChecksum(rec.Data[l.NetOff:l.NetOff+l.IPHdrLen]) == binary.BigEndian.Uint16(rec.Data[l.IPCsumOff:])
				if tv == "1" && ours || tv == "0" && !ours {
					ipAgree++
				} else if tv == "0" || tv == "1" {
					disagree++
					t.Errorf("%s frame %d: IPv4 checksum: ours good=%v, tshark %s", path, i+1, ours, tv)
				}
			}
			sum, ok := L4Checksum(&l, rec.Data)
			if !ok {
				return
			}
			tv := verdicts[i][0]
			if l.Proto == ProtoUDP {
				tv = verdicts[i][1]
			}
			stored := binary.BigEndian.Uint16(rec.Data[l.L4CsumOff:])
			if l.Proto == ProtoUDP && stored == 0 {
				return // no checksum
			}
			ours := sum == stored
			switch {
			case tv == "1" && ours, tv == "0" && !ours:
				agree++
				if !ours {
					bad++
				}
			case tv == "0" || tv == "1":
				disagree++
				t.Errorf("%s frame %d: %s checksum %#04x computed %#04x, tshark status %s", path, i+1, protoName(l.Proto), stored, sum, tv)
			}
		})
	}
	t.Logf("L4 checksums: %d verdicts agree with tshark (%d bad ones), %d disagree; IPv4 header: %d agree", agree, bad, disagree, ipAgree)
	if agree == 0 {
		t.Error("no checksum compared")
	}
}
