package evalgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"strings"

	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
)

// tsharkExpert streams the packets of files as one multi-section pcapng
// into tshark (one process, so its start-up cost is paid once) with
// checksum validation on, and counts packets by expert info. A file the
// pcap reader cannot finish contributes the packets before the error.
func tsharkExpert(ctx context.Context, files []string) *TsharkCounts {
	res := &TsharkCounts{}
	cmd := exec.CommandContext(ctx, "tshark", "-n", "-r", "-",
		"-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-T", "fields", "-E", "separator=/t", "-e", "_ws.expert.severity", "-e", "_ws.expert.group")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		res.Err = err.Error()
		return res
	}
	go func() {
		writePcapngStream(ctx, stdin, files) // an error here ends tshark's input early, which its counts show
		stdin.Close()
	}()
	// Expert severities and groups are Wireshark's PI_* constants.
	const sevError, grpChecksum, grpMalformed = "8388608", "16777216", "117440512"
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		res.Packets++
		sev, grp, _ := strings.Cut(sc.Text(), "\t")
		if hasItem(sev, sevError) {
			res.Errors++
		}
		if hasItem(grp, grpMalformed) {
			res.Malformed++
		}
		if hasItem(grp, grpChecksum) {
			res.Checksum++
		}
	}
	if err := cmd.Wait(); err != nil && ctx.Err() == nil {
		msg := strings.TrimSpace(errBuf.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		res.Err = strings.TrimSpace(err.Error() + ": " + msg)
	}
	res.CleanShr = Num(math.NaN())
	if res.Packets > 0 {
		res.CleanShr = Num(1 - float64(res.Errors)/float64(res.Packets))
	}
	return res
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

// writePcapngStream writes every packet of files into w as one pcapng
// stream: one section per file, one interface per (section, interface) of
// the source, nanosecond timestamps. A file that cannot be opened or read
// as a capture is left out; a read error ends the file's section early.
func writePcapngStream(ctx context.Context, w io.Writer, files []string) error {
	mw := pcap.NewMultiWriter(w)
	for _, path := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := copySection(mw, path); err != nil {
			return err
		}
	}
	return mw.Flush()
}

// copySection writes the packets of one capture as a new section of mw;
// only errors of mw are returned.
func copySection(mw *pcap.MultiWriter, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	r, err := pcap.NewReader(bufio.NewReaderSize(f, 256<<10), pcap.ReaderOptions{})
	if err != nil {
		return nil
	}
	if err := mw.Section(); err != nil {
		return err
	}
	for {
		rec, err := r.Next()
		if err != nil {
			return nil
		}
		if rec.Kind != pcap.KindPacket {
			continue
		}
		var ts uint64
		if rec.HasTime {
			ts = uint64(rec.Resolution.TicksToNanos(rec.Timestamp))
		}
		source := flow.Scope(rec.Section, rec.Interface)
		if err := mw.WritePacket(source, rec.LinkType, ts, rec.OrigLen, rec.Data); err != nil {
			if errors.Is(err, pcap.ErrFormat) || errors.Is(err, pcap.ErrTooLarge) {
				return nil // this packet cannot be written: end the file's section here
			}
			return err
		}
	}
}
