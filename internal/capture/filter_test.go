//go:build linux

package capture

import (
	"errors"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseDDD(t *testing.T) {
	tests := []struct {
		name, in string
		want     []unix.SockFilter
		bad      bool
	}{
		{"accept all", "1\n6 0 0 262144\n", []unix.SockFilter{{Code: 6, K: 262144}}, false},
		{"two", "2\n40 0 0 12\n21 0 1 2048\n", []unix.SockFilter{{Code: 40, K: 12}, {Code: 21, Jf: 1, K: 2048}}, false},
		{"count differs", "2\n6 0 0 1\n", nil, true},
		{"not a number", "1\n6 x 0 1\n", nil, true},
		{"jump too far", "1\n21 256 0 1\n", nil, true},
		{"short line", "1\n6 0 0\n", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDDD(tc.in)
			if tc.bad {
				if !errors.Is(err, ErrFilter) {
					t.Fatalf("err %v, want ErrFilter", err)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("instruction %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestCompileFilter(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed (apt-get install tcpdump)")
	}
	for _, link := range []uint32{LinkEthernet, LinkRaw} {
		prog, err := CompileFilter("tcp port 443 and not host 10.0.0.1", link, 0)
		if err != nil || len(prog) < 4 || prog[len(prog)-1].Code != 6 {
			t.Errorf("link %d: %d instructions, %v: want a program ending in ret", link, len(prog), err)
		}
	}
	if _, err := CompileFilter("tcp port", LinkEthernet, 0); !errors.Is(err, ErrFilter) {
		t.Errorf("syntax error: %v, want ErrFilter", err)
	}
	if _, err := CompileFilter("tcp", 147, 0); !errors.Is(err, ErrLinkType) {
		t.Errorf("link type 147: %v, want ErrLinkType", err)
	}
}
