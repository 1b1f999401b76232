package pcap

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestTsharkCrossCheck compares timestamps and lengths with tshark, an
// independent parser, on files covering both byte orders, ns magic,
// gzip, several interfaces and EPB options.
func TestTsharkCrossCheck(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark absent")
	}
	if testing.Short() {
		t.Skip("slow: runs tshark")
	}
	devFiles(t) // skips when the data is absent
	for _, name := range []string{
		"generated/dns.pcap",
		"format/wireshark/dhcp-nanosecond.pcap",
		"format/wireshark/dhcp-nanosecond.pcapng",
		"format/wireshark/many_interfaces.pcapng.1",
		"format/wireshark/icmp.pcapng.gz",
		"format/tcpdump/pptp.pcap",
		"ndpi/pcap/someip_sd_sample.pcap",
		"ndpi/pcap/tls_with_huge_ch.pcapng",
		"ndpi/pcap/openvpn_nohmac_tcp.pcapng",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(devDir, name)
			if _, err := os.Stat(path); err != nil {
				t.Skip(err)
			}
			out, err := exec.Command("tshark", "-r", path, "-T", "fields",
				"-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			b, _ := os.ReadFile(path)
			r, err := NewReader(bytes.NewReader(b), ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for {
				rec, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if rec.Kind != KindPacket {
					continue
				}
				if n >= len(lines) {
					t.Fatalf("tshark shows %d packets, we read more", len(lines))
				}
				f := strings.Split(lines[n], "\t")
				n++
				want := strings.Join(f, " ")
				sec, frac, _ := strings.Cut(f[0], ".")
				s, _ := strconv.ParseInt(sec, 10, 64)
				frac = (frac + "000000000")[:9]
				ns, _ := strconv.ParseInt(frac, 10, 64)
				got := rec.Resolution.TicksToNanos(rec.Timestamp) + rec.TimeOffset*1e9
				if rec.HasTime && got != s*1e9+ns {
					t.Errorf("packet %d: time %d ns, tshark %s", n, got, want)
				}
				if strconv.Itoa(int(rec.OrigLen)) != f[1] || strconv.Itoa(len(rec.Data)) != f[2] {
					t.Errorf("packet %d: len %d caplen %d, tshark %s", n, rec.OrigLen, len(rec.Data), want)
				}
			}
			if n != len(lines) {
				t.Errorf("read %d packets, tshark %d", n, len(lines))
			}
		})
	}
}
