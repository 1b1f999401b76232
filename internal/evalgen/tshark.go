package evalgen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"os"

	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/pcap"
	"github.com/trafficgpt/trafficgpt/internal/tshark"
)

// tsharkExpert streams the packets of files as one multi-section pcapng
// into tshark (internal/tshark: one process, so its start-up cost is paid
// once) and counts packets by expert info, in all and per class label of
// the files (nil without labels). A file the pcap reader cannot finish
// contributes the packets before the error.
func tsharkExpert(ctx context.Context, files []input) (*TsharkCounts, map[string]*TsharkCounts) {
	res := &TsharkCounts{}
	counts := make([]int, len(files)) // packets written per file
	var verdicts []tshark.Verdict
	err := tshark.Run(ctx, func(w io.Writer) error {
		return writePcapngStream(ctx, w, paths(files), counts)
	}, func(v tshark.Verdict) { verdicts = append(verdicts, v) })
	if err != nil && ctx.Err() == nil {
		res.Err = err.Error()
	}
	var byLabel map[string]*TsharkCounts
	k := 0
	for i, in := range files {
		var lc *TsharkCounts
		if in.label != "" {
			if byLabel == nil {
				byLabel = map[string]*TsharkCounts{}
			}
			if lc = byLabel[in.label]; lc == nil {
				lc = &TsharkCounts{Err: res.Err}
				byLabel[in.label] = lc
			}
		}
		for j := 0; j < counts[i] && k < len(verdicts); j++ {
			res.add(verdicts[k])
			if lc != nil {
				lc.add(verdicts[k])
			}
			k++
		}
	}
	for ; k < len(verdicts); k++ { // not expected: tshark read more packets than were written
		res.add(verdicts[k])
	}
	res.finish()
	for _, lc := range byLabel {
		lc.finish()
	}
	return res, byLabel
}

func (c *TsharkCounts) add(v tshark.Verdict) {
	c.Packets++
	if v.Error {
		c.Errors++
	}
	if v.Malformed {
		c.Malformed++
	}
	if v.Checksum {
		c.Checksum++
	}
}

func (c *TsharkCounts) finish() {
	c.CleanShr = Num(math.NaN())
	if c.Packets > 0 {
		c.CleanShr = Num(1 - float64(c.Errors)/float64(c.Packets))
	}
}

// writePcapngStream writes every packet of files into w as one pcapng
// stream: one section per file, one interface per (section, interface) of
// the source, nanosecond timestamps; counts (nil or one per file) receive
// the packets written of each file. A file that cannot be opened or read
// as a capture is left out; a read error ends the file's section early.
func writePcapngStream(ctx context.Context, w io.Writer, files []string, counts []int) error {
	mw := pcap.NewMultiWriter(w)
	for i, path := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := copySection(mw, path)
		if counts != nil {
			counts[i] = n
		}
		if err != nil {
			return err
		}
	}
	return mw.Flush()
}

// copySection writes the packets of one capture as a new section of mw
// and returns how many it wrote; only errors of mw are returned.
func copySection(mw *pcap.MultiWriter, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil
	}
	defer f.Close()
	r, err := pcap.NewReader(bufio.NewReaderSize(f, 256<<10), pcap.ReaderOptions{})
	if err != nil {
		return 0, nil
	}
	if err := mw.Section(); err != nil {
		return 0, err
	}
	n := 0
	for {
		rec, err := r.Next()
		if err != nil {
			return n, nil
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
				return n, nil // this packet cannot be written: end the file's section here
			}
			return n, err
		}
		n++
	}
}
