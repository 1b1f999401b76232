package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar is a one-line progress meter with rate and ETA; it is safe for
// concurrent use.
type Bar struct {
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

// New returns a bar for total units (0: unknown) of what, drawn on w when w
// is a terminal. unit "B" is shown as bytes (kB, MB, GB).
func New(w io.Writer, what, unit string, total float64) *Bar {
	on := false
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		on = true
	}
	return &Bar{w: w, on: on, what: what, unit: unit, total: total, start: time.Now()}
}

// Add advances the bar by n units; msg (if not empty) is shown after it.
func (p *Bar) Add(n float64, msg string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.set(p.done+n, msg)
}

// Set moves the bar to done units.
func (p *Bar) Set(done float64, msg string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.set(done, msg)
}

func (p *Bar) set(done float64, msg string) {
	p.done = done
	if msg != "" {
		p.message = msg
	}
	if !p.on || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw()
}

// Done is the units counted so far; Total the bar's total.
func (p *Bar) Done() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Total is the bar's total (0: unknown).
func (p *Bar) Total() float64 { return p.total }

func (p *Bar) draw() {
	el := time.Since(p.start).Seconds()
	rate := p.done / max(el, 1e-9)
	line := fmt.Sprintf("\r%s %s %s", p.what, Units(p.done, p.unit), "")
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
		line = fmt.Sprintf("\r%s [%s] %3.0f%% %s/s ETA %s", p.what, bar, 100*frac, Units(rate, p.unit), eta)
	} else {
		line += fmt.Sprintf("%s/s", Units(rate, p.unit))
	}
	if p.message != "" {
		line += " " + p.message
	}
	fmt.Fprintf(p.w, "%-100s", line)
}

// Finish clears the bar's line.
func (p *Bar) Finish() {
	if p == nil || !p.on {
		return
	}
	fmt.Fprintf(p.w, "\r%-100s\r", "")
}

// Reader counts the bytes read through r into the bar (unit "B"); a nil bar
// returns r.
func (p *Bar) Reader(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	return &reader{r: r, p: p}
}

type reader struct {
	r io.Reader
	p *Bar
}

func (pr *reader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.Add(float64(n), "")
	return n, err
}

// FileBytes is the total size of the regular files among paths (a bar's
// total; "-", pipes and missing files count 0).
func FileBytes(paths []string) float64 {
	var n int64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && p != "-" {
			n += fi.Size()
		}
	}
	return float64(n)
}

// Stages returns a callback for work reported as (stage, done, total): one
// bar per stage, each with its rate and ETA, replaced when the next stage
// starts. unit names a stage's units.
func Stages(w io.Writer, unit func(stage string) string) func(stage string, done, total int) {
	var mu sync.Mutex
	var p *Bar
	var what string
	return func(stage string, done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if p == nil || what != stage {
			p.Finish()
			p, what = New(w, stage, unit(stage), float64(total)), stage
		}
		p.Set(float64(done), "")
		if done >= total {
			p.Finish()
		}
	}
}

// Units formats v units for a bar: bytes for unit "B" (kB, MB, GB, binary
// multiples), else k and M.
func Units(v float64, unit string) string {
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
