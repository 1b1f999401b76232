//go:build linux

package capture

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// dltName is tcpdump's -y name of a link type.
func dltName(link uint32) (string, error) {
	switch link {
	case LinkEthernet:
		return "EN10MB", nil
	case LinkRaw:
		return "RAW", nil
	}
	return "", fmt.Errorf("%w: %d", ErrLinkType, link)
}

// CompileFilter compiles a pcap-filter expression for packets of the link
// type, cut to snaplen, into a classic BPF program, with libpcap's compiler
// as `tcpdump -ddd` runs it.
func CompileFilter(expr string, link uint32, snaplen int) ([]unix.SockFilter, error) {
	dlt, err := dltName(link)
	if err != nil {
		return nil, err
	}
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	path, err := exec.LookPath("tcpdump")
	if err != nil {
		return nil, fmt.Errorf("%w: %q: compiling a filter needs tcpdump (apt-get install tcpdump): %v", ErrFilter, expr, err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(path, "-ddd", "-y", dlt, "-s", strconv.Itoa(snaplen), "--", expr)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(stderr.String()), "tcpdump: "))
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%w: %q: %s", ErrFilter, expr, msg)
	}
	return parseDDD(stdout.String())
}

// parseDDD reads tcpdump -ddd output: the instruction count, then one
// "code jt jf k" line (decimal) per instruction.
func parseDDD(s string) ([]unix.SockFilter, error) {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	n, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || n < 1 || n != len(lines)-1 {
		return nil, fmt.Errorf("%w: tcpdump -ddd gave %d lines for %q instructions", ErrFilter, len(lines), lines[0])
	}
	prog := make([]unix.SockFilter, n)
	for i, l := range lines[1:] {
		f := strings.Fields(l)
		var v [4]uint64
		if len(f) != 4 {
			return nil, fmt.Errorf("%w: tcpdump -ddd line %d: %q", ErrFilter, i+2, l)
		}
		for j, bits := range []int{16, 8, 8, 32} {
			if v[j], err = strconv.ParseUint(f[j], 10, bits); err != nil {
				return nil, fmt.Errorf("%w: tcpdump -ddd line %d: %v", ErrFilter, i+2, err)
			}
		}
		prog[i] = unix.SockFilter{Code: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])}
	}
	return prog, nil
}
