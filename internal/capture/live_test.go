//go:build linux

package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/capture/vethtest"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// TestLiveHTTP captures real HTTP sessions (python3's http.server, curl)
// on a veth between two namespaces, through a filter that keeps the web
// port only, while UDP datagrams go past it; the flows read from the stream
// must be exactly the sessions, whole.
func TestLiveHTTP(t *testing.T) {
	n := vethtest.New(t)
	const port, sessions = 8080, 4
	dir := t.TempDir()
	body := bytes.Repeat([]byte("trafficgpt live capture\n"), 200)
	if err := os.WriteFile(filepath.Join(dir, "page.txt"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	n.Start(n.Server, dir, "python3", "-m", "http.server", "--bind", vethtest.ServerAddr, strconv.Itoa(port))
	n.WaitTCP(port, 30*time.Second) // a loaded machine starts python slowly

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := Open(ctx, Options{Interface: n.ServerIf, Netns: n.Server, Filter: fmt.Sprintf("tcp port %d", port)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	type result struct {
		flows []*flow.Flow
		err   error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		r, err := pcap.NewReader(src, pcap.ReaderOptions{})
		if err != nil {
			done <- result{err: err}
			return
		}
		res.err = flow.ReadFlows(r, flow.DefaultConfig(), func(f *flow.Flow) error {
			res.flows = append(res.flows, f)
			return nil
		})
		done <- res
	}()

	url := fmt.Sprintf("http://%s:%d/page.txt", vethtest.ServerAddr, port)
	for i := 0; i < sessions; i++ {
		out, err := n.Run(30*time.Second, n.Client, "curl", "-sS", "--fail", "-o", "/dev/null", url)
		if err != nil {
			t.Fatalf("curl %s: %v: %s", url, err, out)
		}
		// Datagrams the filter must keep out.
		out, err = n.Run(10*time.Second, n.Client, "bash", "-c",
			fmt.Sprintf("echo noise > /dev/udp/%s/9999", vethtest.ServerAddr))
		if err != nil {
			t.Fatalf("udp: %v: %s", err, out)
		}
	}
	time.Sleep(300 * time.Millisecond) // the last FIN/ACKs
	cancel()
	var res result
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("stream did not end 10 s after its context was cancelled")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	if len(res.flows) != sessions {
		t.Fatalf("%d flows, want %d (one per curl)", len(res.flows), sessions)
	}
	for i, f := range res.flows {
		client, server := f.Key.ClientServer(f.FirstAToB)
		if server.Port() != port || client.Addr().String() != vethtest.ClientAddr || server.Addr().String() != vethtest.ServerAddr {
			t.Errorf("flow %d: %s -> %s, want %s:* -> %s:%d", i, client, server, vethtest.ClientAddr, vethtest.ServerAddr, port)
		}
		st := f.Stats()
		if st.PacketsC2S < 4 || st.PacketsS2C < 3 || st.Bytes < uint64(len(body)) {
			t.Errorf("flow %d: %d/%d packets, %d bytes: not a whole HTTP session of a %d-byte page",
				i, st.PacketsC2S, st.PacketsS2C, st.Bytes, len(body))
		}
		if f.EndReason != flow.EndFIN && f.EndReason != flow.EndEOF {
			t.Errorf("flow %d ended by %v", i, f.EndReason)
		}
		if age := time.Since(time.Unix(0, st.First)); age < 0 || age > time.Minute {
			t.Errorf("flow %d: first packet %v ago: timestamps are not receive times", i, age)
		}
		get := false
		for _, p := range f.Packets {
			get = get || (p.C2S && bytes.Contains(p.Data, []byte("GET /page.txt")))
		}
		if !get {
			t.Errorf("flow %d: no GET request in its client's packets", i)
		}
	}
	if st := src.Stats(); st.Packets == 0 || st.Dropped != 0 {
		t.Errorf("stats %+v: want packets and no drops", st)
	}
}

// TestLiveCountAndErrors: Count ends the stream; a bad filter and a missing
// interface are errors that say so.
func TestLiveCountAndErrors(t *testing.T) {
	n := vethtest.New(t)
	if _, err := Open(context.Background(), Options{Interface: n.ServerIf, Netns: n.Server, Filter: "tcp port"}); !errors.Is(err, ErrFilter) {
		t.Errorf("bad filter: %v, want ErrFilter", err)
	}
	if _, err := Open(context.Background(), Options{Interface: "tgv-none", Netns: n.Server}); !errors.Is(err, ErrInterface) {
		t.Errorf("missing interface: %v, want ErrInterface", err)
	}
	src, err := Open(context.Background(), Options{Interface: n.ServerIf, Netns: n.Server, Filter: "udp port 9998", Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	go n.Run(20*time.Second, n.Client, "bash", "-c",
		fmt.Sprintf("for i in 1 2 3 4 5 6 7 8 9 10; do echo $i > /dev/udp/%s/9998; sleep 0.1; done", vethtest.ServerAddr))
	r, err := pcap.NewReader(src, pcap.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	packets := 0
	for {
		rec, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		if rec.Kind == pcap.KindPacket {
			packets++
			if rec.LinkType != LinkEthernet || rec.OrigLen != 14+20+8+2 {
				t.Errorf("record %d: link %d, %d bytes: not an Ethernet frame of a 2-byte datagram", rec.Index, rec.LinkType, rec.OrigLen)
			}
		}
	}
	if packets != 3 {
		t.Errorf("%d packets, want Count = 3", packets)
	}
}
