package plot

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/trafficgpt/trafficgpt/internal/atomicfile"
	"image/color"
	"math"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ErrBadInput is wrapped by errors about inconsistent plot data.
var ErrBadInput = errors.New("plot: bad input")

var (
	colorA     = color.RGBA{R: 31, G: 119, B: 180, A: 255} // first series / real
	colorB     = color.RGBA{R: 255, G: 127, B: 14, A: 255} // second series / generated
	lineColors = []color.Color{colorA, colorB,
		color.RGBA{R: 44, G: 160, B: 44, A: 255}, color.RGBA{R: 214, G: 39, B: 40, A: 255},
		color.RGBA{R: 148, G: 103, B: 189, A: 255}, color.RGBA{R: 140, G: 86, B: 75, A: 255},
		color.RGBA{R: 227, G: 119, B: 194, A: 255}, color.RGBA{R: 127, G: 127, B: 127, A: 255}}
)

// Hist2 is a pair of histograms over the same cells, drawn side by side as
// shares (each side normalised to sum 1).
type Hist2 struct {
	Title  string
	XLabel string    // the cells' quantity with its unit, e.g. "packet length (bytes)"
	Cells  []string  // cell labels, one per cell
	A, B   []float64 // counts per cell, len(Cells) each
	NameA  string    // legend of A, e.g. "real"
	NameB  string    // legend of B, e.g. "generated"
	Of     string    // what is counted, for the Y axis "share of <Of>" (default "values")
	Value  string    // the number the figure illustrates, e.g. "JSD 0.0123 bits", shown in the title
}

// Histograms writes h as a PNG to path.
func Histograms(path string, h Hist2) error {
	n := len(h.Cells)
	if n == 0 || len(h.A) != n || len(h.B) != n {
		return fmt.Errorf("%w: histogram %q: %d cells, %d and %d counts", ErrBadInput, h.Title, n, len(h.A), len(h.B))
	}
	p := gplot.New()
	p.Title.Text = withValue(h.Title, h.Value)
	p.X.Label.Text = h.XLabel
	of := h.Of
	if of == "" {
		of = "values"
	}
	p.Y.Label.Text = "share of " + of + " (each side sums to 1)"
	// Bars share the width of one cell: each side takes about 40%.
	w := max(480, min(1600, 12*float64(n)))
	width := vg.Points(max(0.5, 0.4*(w-80)/float64(n)))
	top := 0.0
	for i, side := range []struct {
		v    []float64
		name string
		c    color.Color
	}{{h.A, h.NameA, colorA}, {h.B, h.NameB, colorB}} {
		sh := shares(side.v)
		for _, v := range sh {
			top = max(top, v)
		}
		bars, err := plotter.NewBarChart(sh, width)
		if err != nil {
			return fmt.Errorf("plot: %s: %w", path, err)
		}
		bars.Color = side.c
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(2*i-1) * width / 2
		p.Add(bars)
		p.Legend.Add(side.name, bars)
	}
	p.Legend.Top = true
	p.NominalX(thin(h.Cells, 40)...)
	p.X.Tick.Label.Rotation = math.Pi / 2
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	p.Y.Min = 0
	p.Y.Max = max(top*1.15, 1e-9) // room for the legend
	p.X.Min, p.X.Max = -0.5, float64(n)-0.5
	return save(p, path, vg.Points(w), vg.Points(360))
}

// withValue appends a figure's headline number to its title.
func withValue(title, value string) string {
	if value == "" {
		return title
	}
	return title + ": " + value
}

// lastValue is the legend's "(last V)" of a series: its last finite Y.
func lastValue(y []float64) string {
	for i := len(y) - 1; i >= 0; i-- {
		if !math.IsNaN(y[i]) && !math.IsInf(y[i], 0) {
			return " (last " + strconv.FormatFloat(y[i], 'g', 4, 64) + ")"
		}
	}
	return ""
}

// MacroF1 is the mean F1 over the classes of a confusion matrix
// (m[true][predicted]) that occur as true or predicted labels, as
// metric.Report computes it, and the accuracy; NaN for an empty matrix.
func MacroF1(m [][]int) (macroF1, accuracy float64) {
	var sum float64
	used, total, correct := 0, 0, 0
	for c := range m {
		support, predicted := 0, 0
		for j := range m {
			support += m[c][j]
			predicted += m[j][c]
			total += m[c][j]
		}
		correct += m[c][c]
		if support == 0 && predicted == 0 {
			continue
		}
		used++
		if tp := m[c][c]; tp > 0 {
			p, r := float64(tp)/float64(predicted), float64(tp)/float64(support)
			sum += 2 * p * r / (p + r)
		}
	}
	if used == 0 || total == 0 {
		return math.NaN(), math.NaN()
	}
	return sum / float64(used), float64(correct) / float64(total)
}

// Series is one line of a line plot.
type Series struct {
	Name string
	X, Y []float64
}

// Lines writes a line plot of several series (e.g. train and validation
// loss against step) as a PNG to path; each legend entry shows the series'
// last value. logY plots log10 of Y (values <= 0 are skipped). Labels
// should carry units ("loss (nats/token)").
func Lines(path, title, xlabel, ylabel string, series []Series, logY bool) error {
	if len(series) == 0 {
		return fmt.Errorf("%w: line plot %q: no series", ErrBadInput, title)
	}
	p := gplot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	if logY {
		p.Y.Scale = gplot.LogScale{}
		p.Y.Tick.Marker = gplot.LogTicks{Prec: -1}
	}
	for i, s := range series {
		if len(s.X) != len(s.Y) {
			return fmt.Errorf("%w: line plot %q: series %q has %d x and %d y", ErrBadInput, title, s.Name, len(s.X), len(s.Y))
		}
		pts := make(plotter.XYs, 0, len(s.X))
		for j := range s.X {
			x, y := finite(s.X[j]), finite(s.Y[j])
			if logY && !(y > 0) {
				continue
			}
			pts = append(pts, plotter.XY{X: x, Y: y})
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plot: %s: %w", path, err)
		}
		l.Color = lineColors[i%len(lineColors)]
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.Name+lastValue(s.Y), l)
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return save(p, path, vg.Points(640), vg.Points(400))
}

// Confusion writes a heat map of the confusion matrix m (m[true][predicted])
// with the class labels on both axes and the counts (flows) in the cells;
// the colour is the row share (the recall of that cell). The title shows
// the matrix's macro-F1 and accuracy (MacroF1).
func Confusion(path, title string, m [][]int, labels []string) error {
	k := len(m)
	if k == 0 || len(labels) != k {
		return fmt.Errorf("%w: confusion %q: %d rows, %d labels", ErrBadInput, title, k, len(labels))
	}
	for i, row := range m {
		if len(row) != k {
			return fmt.Errorf("%w: confusion %q: row %d has %d columns, want %d", ErrBadInput, title, i, len(row), k)
		}
	}
	g := grid{m: m, share: make([]float64, k*k)}
	for t, row := range m {
		sum := 0
		for _, v := range row {
			sum += v
		}
		for p, v := range row {
			if sum > 0 {
				g.share[t*k+p] = float64(v) / float64(sum)
			}
		}
	}
	pl := gplot.New()
	f1, acc := MacroF1(m)
	pl.Title.Text = withValue(title, fmt.Sprintf("macro-F1 %.3f, accuracy %.3f", f1, acc))
	pl.X.Label.Text = "predicted class (cells: flows; colour: share of the true class)"
	pl.Y.Label.Text = "true class"
	hm := plotter.NewHeatMap(g, blues(64))
	hm.Min, hm.Max = 0, 1
	pl.Add(hm)
	var lab plotter.XYLabels
	for t := range k {
		for p := range k {
			lab.XYs = append(lab.XYs, plotter.XY{X: float64(p), Y: float64(k - 1 - t)})
			lab.Labels = append(lab.Labels, strconv.Itoa(m[t][p]))
		}
	}
	if k <= 40 {
		ls, err := plotter.NewLabels(lab)
		if err != nil {
			return fmt.Errorf("plot: %s: %w", path, err)
		}
		for i := range ls.TextStyle {
			t, p := i/k, i%k
			ls.TextStyle[i].XAlign = draw.XCenter
			ls.TextStyle[i].YAlign = draw.YCenter
			if g.share[t*k+p] > 0.5 {
				ls.TextStyle[i].Color = color.White
			}
		}
		pl.Add(ls)
	}
	rev := make([]string, k)
	for i, l := range labels {
		rev[k-1-i] = l
	}
	pl.NominalX(thin(labels, 60)...)
	pl.NominalY(thin(rev, 60)...)
	pl.X.Tick.Label.Rotation = math.Pi / 2
	pl.X.Tick.Label.XAlign = draw.XRight
	pl.X.Tick.Label.YAlign = draw.YCenter
	side := vg.Points(max(360, min(1600, 36*float64(k)+160)))
	return save(pl, path, side, side)
}

// grid shows row shares with class 0 at the top.
type grid struct {
	m     [][]int
	share []float64
}

func (g grid) Dims() (c, r int)   { return len(g.m), len(g.m) }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }
func (g grid) Z(c, r int) float64 { k := len(g.m); return g.share[(k-1-r)*k+c] }

// blues is a white-to-dark-blue palette.
type blues int

func (n blues) Colors() []color.Color {
	cs := make([]color.Color, n)
	for i := range cs {
		f := float64(i) / float64(n-1)
		cs[i] = color.RGBA{R: uint8(247 - 239*f), G: uint8(251 - 203*f), B: uint8(255 - 148*f), A: 255}
	}
	return cs
}

func shares(v []float64) plotter.Values {
	var sum float64
	for _, x := range v {
		if x > 0 && !math.IsInf(x, 0) {
			sum += x
		}
	}
	out := make(plotter.Values, len(v))
	for i, x := range v {
		if sum > 0 && x > 0 && !math.IsInf(x, 0) {
			out[i] = x / sum
		}
	}
	return out
}

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

// thin blanks labels so that at most about limit are shown.
func thin(labels []string, limit int) []string {
	step := (len(labels) + limit - 1) / limit
	if step <= 1 {
		return labels
	}
	out := make([]string, len(labels))
	for i := 0; i < len(labels); i += step {
		out[i] = labels[i]
	}
	return out
}

// save renders p as PNG and writes it atomically to path.
func save(p *gplot.Plot, path string, w, h vg.Length) error {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return fmt.Errorf("plot: %s: %w", path, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return fmt.Errorf("plot: %s: render: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("plot: write %s: %w", path, err)
	}
	return nil
}
