package classify

import (
	"bytes"
	"context"
	"syscall"
	"time"

	"github.com/trafficgpt/trafficgpt/internal/codec"
	"github.com/trafficgpt/trafficgpt/internal/flow"
	"github.com/trafficgpt/trafficgpt/internal/model"
)

// Rate is a measured classification speed.
type Rate struct {
	Flows   int
	Tokens  int64 // tokens the model read (rows up to their <cls>)
	Wall    time.Duration
	CPU     time.Duration // user+system time of the whole process meanwhile
	Repeats int
}

// FlowsPerSec is flows per wall-clock second.
func (r Rate) FlowsPerSec() float64 { return float64(r.Flows) / r.Wall.Seconds() }

// TokensPerSec is tokens per wall-clock second.
func (r Rate) TokensPerSec() float64 { return float64(r.Tokens) / r.Wall.Seconds() }

// FlowsPerCPUSec is flows per CPU-second: on a machine shared with other
// jobs the wall rate says little, this says what a core buys.
func (r Rate) FlowsPerCPUSec() float64 { return float64(r.Flows) / r.CPU.Seconds() }

// CPUTime is the process's user+system CPU time so far.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Throughput classifies the captures (their bytes, so disk speed is out of
// it) repeats times as Capture does and measures the rate: tokenizing,
// flow assembly, the model and the open-set score.
func (c *Classifier) Throughput(ctx context.Context, captures [][]byte, o CaptureOptions, repeats int) (Rate, error) {
	r := Rate{Repeats: max(repeats, 1)}
	cpu0, t0 := CPUTime(), time.Now()
	for i := 0; i < r.Repeats; i++ {
		for _, data := range captures {
			n, err := c.Capture(ctx, bytes.NewReader(data), o, func(fr *FlowResult) error {
				r.Tokens += int64(fr.Tokens + 1)
				return nil
			})
			if err != nil {
				return r, err
			}
			r.Flows += n
		}
	}
	r.Wall, r.CPU = time.Since(t0), CPUTime()-cpu0
	return r, nil
}

// RandomClassifier is a classifier of a preset with random weights and
// classes labels, on the masked view: what bench times when it is given no
// trained classifier (speed does not depend on the weights).
func RandomClassifier(preset string, T, classes int) (*Classifier, error) {
	cfg, err := model.Preset(preset)
	if err != nil {
		return nil, err
	}
	m, err := model.New(cfg, 1)
	if err != nil {
		return nil, err
	}
	if err := m.AddClassifier(classes, 1); err != nil {
		return nil, err
	}
	m.Train = false
	labels := make([]string, classes)
	for i := range labels {
		labels[i] = string(rune('a' + i%26))
	}
	return &Classifier{Model: m, Labels: labels, Context: T, View: codec.View{Mask: codec.MaskAddr | codec.MaskPorts},
		Flow: flow.DefaultConfig()}, nil
}
