package dataset

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// udpPacket is one Ethernet/IPv4/UDP packet of a test capture.
type udpPacket struct {
	sec        uint32
	src, dst   [4]byte
	sport, dpt uint16
	payload    []byte
}

// writePcap writes a classic microsecond pcap of packets.
func writePcap(t *testing.T, path string, pkts []udpPacket) {
	t.Helper()
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 1)
	for i, p := range pkts {
		ip := []byte{0x45, 0, 0, 0, 0, byte(i), 0, 0, 64, 17, 0, 0}
		ip = append(append(ip, p.src[:]...), p.dst[:]...)
		binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(p.payload)))
		udp := binary.BigEndian.AppendUint16(nil, p.sport)
		udp = binary.BigEndian.AppendUint16(udp, p.dpt)
		udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(p.payload)))
		udp = append(udp, 0, 0)
		frame := append([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00}, ip...)
		frame = append(append(frame, udp...), p.payload...)
		b = binary.LittleEndian.AppendUint32(b, p.sec)
		b = binary.LittleEndian.AppendUint32(b, uint32(i))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
		b = append(b, frame...)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// deviceSetups writes classes x files captures like device setups: every
// capture of a class repeats the class's constant DHCP and SSDP messages
// (same bytes, same 5-tuple for DHCP, at another time), plus a few flows of
// its own; sizes differ. It returns the root (ROOT/<class>/<file>.pcap).
func deviceSetups(t *testing.T, classes, files int) string {
	root := filepath.Join(t.TempDir(), "setups")
	rng := rand.New(rand.NewPCG(7, 7))
	for c := range classes {
		dhcp := make([]byte, 240)
		ssdp := make([]byte, 120)
		for i := range dhcp {
			dhcp[i] = byte(c*31 + i)
		}
		copy(ssdp, fmt.Sprintf("M-SEARCH * HTTP/1.1 device-model-%d ", c))
		for f := range files {
			sec := uint32(1_600_000_000 + (c*files+f)*3600) // one setup an hour
			dev := [4]byte{10, byte(c), byte(f), 2}
			pkts := []udpPacket{
				{sec, [4]byte{0, 0, 0, 0}, [4]byte{255, 255, 255, 255}, 68, 67, dhcp},
				{sec + 1, dev, [4]byte{239, 255, 255, 250}, 1900, 1900, ssdp},
			}
			for k := range 2 + (f*7+c)%6 {
				pay := make([]byte, 40+rng.IntN(200))
				for i := range pay {
					pay[i] = byte(rng.Uint32())
				}
				srv := [4]byte{93, byte(c), byte(k), 1}
				for j := range 1 + rng.IntN(3) {
					pkts = append(pkts, udpPacket{sec + 2 + uint32(k), dev, srv, uint16(40000 + k), 443, append(pay, byte(j))})
				}
			}
			writePcap(t, filepath.Join(root, fmt.Sprintf("model%02d", c), fmt.Sprintf("setup%02d.pcap", f)), pkts)
		}
	}
	return root
}

// TestSplitsSharedMessages: captures whose files share constant messages
// split near their targets with every class in every split; the shared
// messages are counted per class in the audit, a copied capture (the same
// connections at the same time) stays with its original, and merging by
// payload (the old behaviour, now --merge-payloads) collapses the classes
// and fails loudly instead of passing silently.
func TestSplitsSharedMessages(t *testing.T) {
	const classes, files = 8, 12
	root := deviceSetups(t, classes, files)
	orig := filepath.Join(root, "model03", "setup05.pcap")
	b, _ := os.ReadFile(orig)
	dup := filepath.Join(root, "model03", "setup05-copy.pcap")
	os.WriteFile(dup, b, 0o644)
	in := inputsOf(t, root)
	opts := BuildOptions{Labels: "dir", Group: "file", Seed: 1,
		Split: []SplitFrac{{"train", 0.7}, {"valid", 0.1}, {"test", 0.2}}}
	m, err := Build(context.Background(), filepath.Join(t.TempDir(), "ds"), in, opts)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, si := range m.Splits {
		total += si.Flows
	}
	for _, sf := range opts.Split {
		si := m.Splits[sf.Name]
		got := float64(si.Flows) / float64(total)
		if d := got - sf.Frac; d > 0.04 || d < -0.04 {
			t.Errorf("split %s: %.3f of the flows, target %.2f", sf.Name, got, sf.Frac)
		}
		if len(si.PerClass) != classes {
			t.Errorf("split %s has %d of %d classes: %v", sf.Name, len(si.PerClass), classes, si.PerClass)
		}
		t.Logf("%s: %d flows (%.1f%%), %d classes", sf.Name, si.Flows, 100*got, len(si.PerClass))
	}
	if len(m.Warnings) != 0 {
		t.Errorf("warnings: %v", m.Warnings)
	}
	a := m.Audit
	if len(a.PayloadsPerClass) != classes || a.PayloadsAcrossSplits < 2*classes-1 {
		t.Errorf("audit does not count the shared messages per class: %+v", a)
	}
	if a.KeysAcrossSplits != 0 || a.FilesAcrossSplits != 0 || !a.Clean || a.KeysReused == 0 {
		t.Errorf("audit: %+v", a)
	}
	splitOf := map[string]string{}
	for _, f := range m.Inputs {
		splitOf[f.Path] = f.Split
	}
	if splitOf[orig] == "" || splitOf[orig] != splitOf[dup] {
		t.Errorf("copied capture in %q, original in %q", splitOf[dup], splitOf[orig])
	}
	t.Logf("groups %d, audit %+v", m.Groups, a)

	opts.MergePayloads = true
	dir := filepath.Join(t.TempDir(), "merged")
	_, err = Build(context.Background(), dir, in, opts)
	if !errors.Is(err, ErrSplits) {
		t.Fatalf("merging by payload: err %v, want ErrSplits", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a failed build left %s: %v", dir, err)
	}
	t.Log(err)
	opts.AcceptSplitWarnings = true
	m, err = Build(context.Background(), dir, in, opts)
	if err != nil || len(m.Warnings) == 0 {
		t.Fatalf("accepted: %v, warnings %v", err, m.Warnings)
	}
	ds, err := Open(dir)
	if err != nil || len(ds.Manifest().Warnings) == 0 {
		t.Fatalf("warnings not in manifest.json: %v", err)
	}
	ds.Close()
}

// TestBuildEmpty: a build that would hold nothing is an error that says why,
// and leaves no dataset.
func TestBuildEmpty(t *testing.T) {
	root := deviceSetups(t, 1, 2)
	flat := filepath.Join(t.TempDir(), "flat")
	os.MkdirAll(flat, 0o755)
	b, _ := os.ReadFile(filepath.Join(root, "model00", "setup00.pcap"))
	os.WriteFile(filepath.Join(flat, "a.pcap"), b, 0o644)
	garbled := filepath.Join(t.TempDir(), "bad.pcap")
	os.WriteFile(garbled, []byte("not a capture at all"), 0o644)
	tests := []struct {
		name  string
		files []InputFileRoot
		opts  BuildOptions
		want  string
	}{
		{"flat folder with --labels dir", []InputFileRoot{{Path: filepath.Join(flat, "a.pcap"), Root: flat}}, BuildOptions{Labels: "dir"}, "no class"},
		{"only unreadable files", []InputFileRoot{{Path: garbled, Root: filepath.Dir(garbled)}}, BuildOptions{}, "could be read"},
		{"every flow too short", inputsOf(t, root), BuildOptions{Labels: "dir", MinPackets: 1000}, "too short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ds")
			_, err := Build(context.Background(), dir, tc.files, tc.opts)
			if !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrEmpty saying %q", err, tc.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("left %s", dir)
			}
			if ents, _ := os.ReadDir(filepath.Dir(dir)); len(ents) != 0 {
				t.Fatalf("left temporary files: %v", ents)
			}
		})
	}
}

// TestBuildSpill: flows longer than SpillTokens go through the spill file
// and come out in identical shards.
func TestBuildSpill(t *testing.T) {
	root := deviceSetups(t, 2, 4)
	in := inputsOf(t, root)
	var shards [2][]byte
	for i, spill := range []int{0, 5} {
		dir := filepath.Join(t.TempDir(), "ds")
		if _, err := Build(context.Background(), dir, in, BuildOptions{Labels: "dir", Group: "flow", Seed: 1, SpillTokens: spill,
			Split: []SplitFrac{{"train", 1}}}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "train.tgs"))
		if err != nil {
			t.Fatal(err)
		}
		shards[i] = b
	}
	if !bytes.Equal(shards[0], shards[1]) {
		t.Fatal("shards differ when flows spill")
	}
}
