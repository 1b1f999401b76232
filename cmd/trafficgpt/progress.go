package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress draws a one-line progress bar with rate and ETA on a terminal and
// stays silent when stderr is a pipe or file.
type progress struct {
	w       io.Writer
	on      bool
	what    string
	unit    string
	total   float64
	start   time.Time
	mu      sync.Mutex
	last    time.Time
	done    float64
	message string
}

func newProgress(stderr io.Writer, what, unit string, total float64) *progress {
	on := false
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		on = true
	}
	return &progress{w: stderr, on: on, what: what, unit: unit, total: total, start: time.Now()}
}

// add advances the bar by n units; msg (if not empty) is shown after it.
func (p *progress) add(n float64, msg string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if msg != "" {
		p.message = msg
	}
	if !p.on || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progress) draw() {
	el := time.Since(p.start).Seconds()
	rate := p.done / max(el, 1e-9)
	line := fmt.Sprintf("\r%s %s %s", p.what, humanUnits(p.done, p.unit), "")
	if p.total > 0 {
		frac := min(p.done/p.total, 1)
		const width = 24
		bar := make([]byte, width)
		for i := range bar {
			if float64(i) < frac*width {
				bar[i] = '#'
			} else {
				bar[i] = '.'
			}
		}
		eta := "?"
		if rate > 0 {
			eta = (time.Duration((p.total-p.done)/rate) * time.Second).Round(time.Second).String()
		}
		line = fmt.Sprintf("\r%s [%s] %3.0f%% %s/s ETA %s", p.what, bar, 100*frac, humanUnits(rate, p.unit), eta)
	} else {
		line += fmt.Sprintf("%s/s", humanUnits(rate, p.unit))
	}
	if p.message != "" {
		line += " " + p.message
	}
	fmt.Fprintf(p.w, "%-100s", line)
}

// reader counts the bytes read through r into the bar (unit "B"); a nil
// progress returns r.
func (p *progress) reader(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	return &progressReader{r: r, p: p}
}

type progressReader struct {
	r io.Reader
	p *progress
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.add(float64(n), "")
	return n, err
}

// inputBytes is the total size of the regular files among paths (for a
// bar's total; pipes count 0).
func inputBytes(paths []string) float64 {
	var n int64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && p != stdinName {
			n += fi.Size()
		}
	}
	return float64(n)
}

// stageProgress returns a callback for work reported as (stage, done,
// total): one bar per stage, each with its rate and ETA, replaced when the
// next stage starts (quiet when stderr is not a terminal).
func stageProgress(stderr io.Writer) func(stage string, done, total int) {
	var mu sync.Mutex
	var p *progress
	unit := func(stage string) string {
		if stage == "discriminator" {
			return "seeds"
		}
		return "files"
	}
	return func(stage string, done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if p == nil || p.what != stage {
			p.finish()
			p = newProgress(stderr, stage, unit(stage), float64(total))
		}
		p.add(float64(done)-p.done, "")
		if done >= total {
			p.finish()
		}
	}
}

// finish clears the bar.
func (p *progress) finish() {
	if p == nil || !p.on {
		return
	}
	fmt.Fprintf(p.w, "\r%-100s\r", "")
}

func humanUnits(v float64, unit string) string {
	if unit == "B" {
		switch {
		case v >= 1<<30:
			return fmt.Sprintf("%.2f GB", v/(1<<30))
		case v >= 1<<20:
			return fmt.Sprintf("%.1f MB", v/(1<<20))
		case v >= 1<<10:
			return fmt.Sprintf("%.1f kB", v/(1<<10))
		}
		return fmt.Sprintf("%.0f B", v)
	}
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM %s", v/1e6, unit)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk %s", v/1e3, unit)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}
