package plot

import (
	"fmt"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ErrSeries is one line with symmetric error bars: Y[i] +- Err[i] at X[i].
type ErrSeries struct {
	Name      string
	X, Y, Err []float64
}

// ErrorLines writes a line plot with points and vertical error bars (e.g.
// mean +- std over seeds) as a PNG to path. logX plots X on a log scale
// (points with X <= 0 are skipped); ticks are then drawn at the X values of
// the series, labelled tickLabel(x) (nil: the number). When every Y is in
// [0, 1] (scores) the Y axis spans [0, 1]. The legend is at the bottom right
// and shows each series' last point's value.
func ErrorLines(path, title, xlabel, ylabel string, series []ErrSeries, logX bool, tickLabel func(float64) string) error {
	if len(series) == 0 {
		return fmt.Errorf("%w: error-bar plot %q: no series", ErrBadInput, title)
	}
	p := gplot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	ticks := map[float64]bool{}
	unit := true // every y in [0, 1] (scores): draw the whole range, so plots compare
	drawn := 0
	for i, s := range series {
		if len(s.X) != len(s.Y) || len(s.Err) != len(s.Y) {
			return fmt.Errorf("%w: error-bar plot %q: series %q has %d x, %d y and %d errors",
				ErrBadInput, title, s.Name, len(s.X), len(s.Y), len(s.Err))
		}
		var pts xyErrs
		for j := range s.X {
			x := finite(s.X[j])
			if logX && !(x > 0) {
				continue
			}
			pts = append(pts, xyErr{x, finite(s.Y[j]), finite(s.Err[j])})
			unit = unit && s.Y[j] >= 0 && s.Y[j] <= 1
			ticks[x] = true
		}
		if len(pts) == 0 {
			continue
		}
		c := lineColors[i%len(lineColors)]
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("plot: %s: %w", path, err)
		}
		l.Color, l.Width = c, vg.Points(1.5)
		sc.GlyphStyle.Color, sc.GlyphStyle.Shape, sc.GlyphStyle.Radius = c, draw.CircleGlyph{}, vg.Points(2.5)
		eb, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return fmt.Errorf("plot: %s: %w", path, err)
		}
		eb.LineStyle.Color, eb.LineStyle.Width = c, vg.Points(1)
		p.Add(l, sc, eb)
		p.Legend.Add(s.Name+lastValue(s.Y), l, sc)
		drawn++
	}
	if drawn == 0 {
		return fmt.Errorf("%w: error-bar plot %q: no point to draw", ErrBadInput, title)
	}
	if logX {
		p.X.Scale = gplot.LogScale{}
		var tk []gplot.Tick
		for x := range ticks {
			label := strconv.FormatFloat(x, 'g', 4, 64)
			if tickLabel != nil {
				label = tickLabel(x)
			}
			tk = append(tk, gplot.Tick{Value: x, Label: label})
		}
		p.X.Tick.Marker = gplot.ConstantTicks(tk)
		p.X.Min, p.X.Max = p.X.Min/1.3, p.X.Max*1.3
	}
	if unit {
		p.Y.Min, p.Y.Max = 0, 1
	}
	p.Legend.Top, p.Legend.Left = false, false // bottom right: curves that rise leave it empty
	p.Add(plotter.NewGrid())
	return save(p, path, vg.Points(640), vg.Points(400))
}

type xyErr struct{ x, y, err float64 }

// xyErrs implements plotter.XYer and plotter.YErrorer.
type xyErrs []xyErr

func (e xyErrs) Len() int                        { return len(e) }
func (e xyErrs) XY(i int) (float64, float64)     { return e[i].x, e[i].y }
func (e xyErrs) YError(i int) (float64, float64) { return e[i].err, e[i].err }
