package sample

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/codec"
)

// TestShingles: the rolling hash equals the hash computed from scratch at
// every window.
func TestShingles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := make([]byte, 300)
	for i := range p {
		p[i] = byte(rng.IntN(4)) // few values: many equal windows
	}
	var got []uint64
	shingles(p, func(h uint64) bool { got = append(got, h); return true })
	if len(got) != len(p)-ShingleLen+1 {
		t.Fatalf("%d windows, want %d", len(got), len(p)-ShingleLen+1)
	}
	for i, h := range got {
		var want uint64
		for _, b := range p[i : i+ShingleLen] {
			want = want*shingleBase + uint64(b) + 1
		}
		if h != want {
			t.Fatalf("window %d: rolling %x, direct %x", i, h, want)
		}
	}
	shingles(p[:ShingleLen-1], func(uint64) bool { t.Fatal("a window in a short payload"); return false })
}

// demoFlows tokenizes one demo capture.
func demoFlows(t *testing.T, name string) [][]codec.Token {
	t.Helper()
	f, err := os.Open(filepath.Join(demoData, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]codec.Token
	if _, err := codec.EncodeFlows(context.Background(), f, codec.EncodeOptions{}, func(ef *codec.EncodedFlow) error {
		out = append(out, append([]codec.Token(nil), ef.Tokens...))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCopyIndex: flows of the indexed capture copy it (those with a
// payload of at least ShingleLen bytes), flows of another protocol do not.
func TestCopyIndex(t *testing.T) {
	ssh := demoFlows(t, "ssh.pcap")
	var x CopyIndex
	for _, f := range ssh[:len(ssh)/2] {
		if err := x.AddFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	x.Finish()
	if x.Len() == 0 {
		t.Fatal("empty index")
	}
	for i, f := range ssh[:len(ssh)/2] {
		if c, err := x.Copies(f); err != nil || !c {
			t.Fatalf("indexed ssh flow %d: copies %v, %v", i, c, err)
		}
	}
	copied := 0
	mqtt := demoFlows(t, "mqtt.pcap")
	for _, f := range mqtt {
		c, err := x.Copies(f)
		if err != nil {
			t.Fatal(err)
		}
		if c {
			copied++
		}
	}
	if copied > 0 {
		t.Errorf("%d of %d mqtt flows copy ssh payload", copied, len(mqtt))
	}
	t.Logf("%d windows of %d payload bytes from %d flows", x.Len(), x.Payload, x.Flows)
}

// TestNoCopy: with an index of the flows a first run generated, the same
// run again samples those that copy anew; no flow it keeps copies, and the
// writer leaves refused flows out.
func TestNoCopy(t *testing.T) {
	m := tinyModel(t, 4)
	o := Options{Sampling: Sampling{Temperature: 1}, Seed: 9, Batch: 4, MaxPackets: 4, Label: -1}
	_, _, first := generatePcap(t, m, 12, o, WriteOptions{Seed: 9})
	var x CopyIndex
	for _, f := range first {
		if err := x.AddFlow(f.Tokens); err != nil {
			t.Fatal(err)
		}
	}
	x.Finish()
	for _, retries := range []int{0, 3} {
		o.NoCopy, o.CopyRetries = &x, retries
		pc, st, flows := generatePcap(t, m, 12, o, WriteOptions{Seed: 9})
		t.Logf("retries %d: %+v", retries, st)
		if st.Resampled+st.Refused == 0 {
			t.Fatal("no flow of the second run copied the first")
		}
		if retries == 0 && st.Resampled != 0 {
			t.Fatalf("resampled %d with no retries", st.Resampled)
		}
		kept := 0
		for _, f := range flows {
			c, err := x.Copies(f.Tokens)
			if err != nil {
				t.Fatal(err)
			}
			if c != f.Refused {
				t.Fatalf("flow %d: copies %v, refused %v", f.Index, c, f.Refused)
			}
			if !f.Refused {
				kept++
			}
		}
		if len(flows) != 12 || kept != st.Flows || kept+st.Refused != 12 {
			t.Fatalf("%d flows, %d kept, stats %+v", len(flows), kept, st)
		}
		if kept > 0 {
			checkPackets(t, pc)
		}
	}
}

func TestIndexDatasetDirMissing(t *testing.T) {
	if _, err := IndexDatasetDir(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing dataset indexed")
	}
}
