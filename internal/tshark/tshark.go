package tshark

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Verdict is tshark's expert info on one packet.
type Verdict struct {
	Error     bool // an expert item of severity error
	Malformed bool // an expert item of group malformed
	Checksum  bool // an expert item of group checksum (checks are on)
}

// Clean reports a packet with no expert error (malformed packets and
// checksum errors are of severity error).
func (v Verdict) Clean() bool { return !v.Error && !v.Malformed }

// Available reports whether tshark is on the PATH.
func Available() bool {
	_, err := exec.LookPath("tshark")
	return err == nil
}

// Expert severities and groups: Wireshark's PI_ERROR, PI_CHECKSUM and
// PI_MALFORMED.
const sevError, grpChecksum, grpMalformed = "8388608", "16777216", "117440512"

// Run starts one tshark reading standard input, feeds it what write writes
// (a capture stream) and calls fn with the verdict of each packet tshark
// read, in order. An error of write ends tshark's input early (the packets
// before it are judged) and is returned after tshark's own; tshark failing
// (not installed, a stream it cannot read) is an error naming tshark's last
// line of standard error.
func Run(ctx context.Context, write func(io.Writer) error, fn func(Verdict)) error {
	cmd := exec.CommandContext(ctx, "tshark", "-n", "-r", "-",
		"-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-T", "fields", "-E", "separator=/t", "-e", "_ws.expert.severity", "-e", "_ws.expert.group")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("tshark: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("tshark: %w", err)
	}
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("tshark: %w", err)
	}
	werr := make(chan error, 1)
	go func() {
		err := write(stdin)
		stdin.Close()
		werr <- err
	}()
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		sev, grp, _ := strings.Cut(sc.Text(), "\t")
		fn(Verdict{Error: hasItem(sev, sevError), Malformed: hasItem(grp, grpMalformed), Checksum: hasItem(grp, grpChecksum)})
	}
	scanErr := sc.Err()
	io.Copy(io.Discard, out) // a line too long: let tshark finish
	waitErr := cmd.Wait()
	writeErr := <-werr
	if err := ctx.Err(); err != nil {
		return err
	}
	if waitErr != nil {
		msg := strings.TrimSpace(errBuf.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return fmt.Errorf("tshark: %s", strings.TrimSpace(waitErr.Error()+": "+msg))
	}
	if scanErr != nil {
		return fmt.Errorf("tshark: reading its output: %w", scanErr)
	}
	if writeErr != nil && !errors.Is(writeErr, io.ErrClosedPipe) {
		return fmt.Errorf("tshark: writing its input: %w", writeErr)
	}
	return nil
}

func hasItem(list, item string) bool {
	for list != "" {
		var it string
		it, list, _ = strings.Cut(list, ",")
		if it == item {
			return true
		}
	}
	return false
}
