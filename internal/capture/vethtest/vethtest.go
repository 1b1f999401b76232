// Package vethtest builds, for tests, a private two-host network: network
// namespaces "server" and "client" joined by a veth pair, 10.213.0.1/24 on
// the server's end and 10.213.0.2/24 on the client's. Nothing is routed out
// of the namespaces (they have no other interface than loopback), so test
// traffic reaches only the test's own hosts; concurrent tests do not clash
// (names carry the process id and a counter, addresses live inside the
// namespaces). It needs root and iproute2; where the kernel or the sandbox
// forbids namespaces, New skips the test and says why.
package vethtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"
)

// Addresses of the two ends.
const (
	ServerAddr = "10.213.0.1"
	ClientAddr = "10.213.0.2"
)

// Net is one test network.
type Net struct {
	Server, Client     string // namespace names (under /var/run/netns)
	ServerIf, ClientIf string // veth ends
	t                  *testing.T
}

var seq atomic.Int32

// New builds the network and removes it (and every process started with
// Start) when the test ends.
func New(t *testing.T) *Net {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("vethtest: needs root to create network namespaces (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("vethtest: needs ip (apt-get install iproute2)")
	}
	id := fmt.Sprintf("%d%d", os.Getpid()%1000000, seq.Add(1))
	n := &Net{Server: "tgv-s" + id, Client: "tgv-c" + id, ServerIf: "tgvs" + id, ClientIf: "tgvc" + id, t: t}
	if out, err := exec.Command("ip", "netns", "add", n.Server).CombinedOutput(); err != nil {
		t.Skipf("vethtest: the kernel or sandbox forbids network namespaces here (ip netns add: %v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.Server).Run() })
	n.ip("netns", "add", n.Client)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.Client).Run() })
	n.ip("link", "add", n.ServerIf, "netns", n.Server, "type", "veth", "peer", "name", n.ClientIf, "netns", n.Client)
	n.ip("-n", n.Server, "addr", "add", ServerAddr+"/24", "dev", n.ServerIf)
	n.ip("-n", n.Client, "addr", "add", ClientAddr+"/24", "dev", n.ClientIf)
	for _, ns := range []string{n.Server, n.Client} {
		n.ip("-n", ns, "link", "set", "lo", "up")
	}
	n.ip("-n", n.Server, "link", "set", n.ServerIf, "up")
	n.ip("-n", n.Client, "link", "set", n.ClientIf, "up")
	return n
}

func (n *Net) ip(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("vethtest: ip %v: %v: %s", args, err, bytes.TrimSpace(out))
	}
}

// Command is a command run inside namespace ns.
func (n *Net) Command(ctx context.Context, ns string, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// Start starts a long-running command (a server) in ns; it is killed (by
// its pid) when the test ends.
func (n *Net) Start(ns string, dir string, name string, args ...string) {
	n.t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		n.t.Fatalf("vethtest: %s not installed: %v", name, err)
	}
	cmd := n.Command(context.Background(), ns, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("vethtest: start %s: %v", name, err)
	}
	n.t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if n.t.Failed() {
			n.t.Logf("vethtest: %s output:\n%s", name, out.String())
		}
	})
}

// Run runs a command in ns to its end (at most timeout) and returns its
// output.
func (n *Net) Run(timeout time.Duration, ns string, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return n.Command(ctx, ns, name, args...).CombinedOutput()
}

// WaitTCP waits until a TCP server listens on addr:port as seen from the
// client (bash's /dev/tcp, so no extra tool is needed).
func (n *Net) WaitTCP(port int, timeout time.Duration) {
	n.t.Helper()
	end := time.Now().Add(timeout)
	for {
		_, err := n.Run(2*time.Second, n.Client, "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", ServerAddr, port))
		if err == nil {
			return
		}
		if time.Now().After(end) {
			n.t.Fatalf("vethtest: nothing listens on %s:%d after %v: %v", ServerAddr, port, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
