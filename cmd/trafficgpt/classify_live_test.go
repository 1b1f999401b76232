//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/capture/vethtest"
)

// TestClassifyLive: `classify --interface` on a veth between two network
// namespaces while curl fetches pages from python3's http.server: each
// session is reported at its third packet, with the flow's key and
// Community ID, while the capture is still running.
func TestClassifyLive(t *testing.T) {
	n := vethtest.New(t)
	ctx := context.Background()
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := runMain(ctx, args, &out, &errOut); code != exitOK {
			t.Fatalf("%q: exit %d\nstdout %s\nstderr %s", args, code, out.String(), errOut.String())
		}
		return out.String()
	}
	ds, clf := filepath.Join(dir, "ds"), filepath.Join(dir, "clf")
	run("dataset", "build", "-o", ds, "--labels", "file", "--group", "flow", "--mask", "addr+ports", "--max-packets", "3",
		"--split", "train=0.6,valid=0.2,test=0.2", "-j", "1", filepath.Join(demoDataDir, "dns.pcap"), filepath.Join(demoDataDir, "http.pcap"))
	run("finetune", "--from-scratch", "--config", "tiny", "--data", ds, "-o", clf, "--len", "256", "--epochs", "1")

	const port = 8080
	os.WriteFile(filepath.Join(dir, "page.txt"), bytes.Repeat([]byte("live\n"), 400), 0o644)
	n.Start(n.Server, dir, "python3", "-m", "http.server", "--bind", vethtest.ServerAddr, fmt.Sprint(port))
	n.WaitTCP(port, 30*time.Second)

	// Sessions go on until classify has stopped (--duration), so some run
	// while it captures however slowly it starts.
	stop := make(chan struct{})
	clients := make(chan int)
	go func() {
		sessions := 0
		defer func() { clients <- sessions }()
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			url := fmt.Sprintf("http://%s:%d/page.txt", vethtest.ServerAddr, port)
			if _, err := n.Run(20*time.Second, n.Client, "curl", "-sS", "-o", "/dev/null", url); err == nil {
				sessions++
			}
		}
	}()
	out := run("classify", "--model", clf, "--format", "jsonl", "--early", "3", "--interface", n.ServerIf,
		"--netns", n.Server, "--filter", fmt.Sprintf("tcp port %d", port), "--duration", "6s")
	close(stop)
	if s := <-clients; s == 0 {
		t.Fatal("no curl session succeeded")
	}
	rows, early := 0, 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r struct {
			File        string  `json:"file"`
			Flow        string  `json:"flow"`
			CommunityID string  `json:"community_id"`
			AtPacket    int     `json:"at_packet"`
			After       float64 `json:"after_s"`
			Decided     string  `json:"decided"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows++
		if r.File != "iface:"+n.ServerIf || !strings.Contains(r.Flow, fmt.Sprintf("%s:%d", vethtest.ServerAddr, port)) ||
			!strings.HasPrefix(r.CommunityID, "1:") {
			t.Errorf("row %+v: want the interface, the web server's flow and a Community ID", r)
		}
		// The capture's last flows may end (--duration) before packet 3.
		if r.Decided == "early" {
			early++
		}
		if r.Decided == "early" && (r.AtPacket != 3 || r.After <= 0 || r.After > 5) {
			t.Errorf("row %+v: an early decision at packet 3, a fraction of a second after the SYN", r)
		}
	}
	if rows == 0 || early == 0 {
		t.Fatalf("%d flows classified from the interface, %d of them at packet 3; output:\n%s", rows, early, out)
	}
}
