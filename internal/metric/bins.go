package metric

import (
	"math"
	"slices"
	"strconv"
)

// The published bin edges of the generation report (see doc.go): one
// definition for reports and plots, handed out as copies (LengthBins(), ...)
// so that no caller can change what every report publishes.
var (
	// lengthBins: IP packet length in bytes, 32-byte steps up to 1536.
	lengthBins = Bins{Name: "packet length (bytes)", Edges: linearEdges(0, 32, 48)}
	// windowBins: raw (unscaled) TCP window field, 1024-wide steps up to 65536.
	windowBins = Bins{Name: "TCP window (raw field)", Edges: linearEdges(0, 1024, 64)}
	// timeBins: seconds; 0, then quarter decades from 1 us to 100 s.
	timeBins = Bins{Name: "seconds", Edges: timeEdges()}
	// countBins: packet counts and orderings; 0..8 by 1, then four steps per
	// octave (8, 10, 12, 14, 16, 20, 24, 28, 32, 40, ...) up to 131072.
	countBins = Bins{Name: "packets", Edges: countEdges()}
	// fractionBins: 0 to 1 by 0.05; the last cell [1, 1.05) holds exactly 1.
	fractionBins = Bins{Name: "fraction", Edges: linearEdges(0, 0.05, 21)}
	// concentrationBins: outgoing packets per chunk of 20, 0 to 21 by 1.
	concentrationBins = Bins{Name: "outgoing packets per 20", Edges: linearEdges(0, 1, 21)}
	// byteBins: bytes; 0, then half octaves 2^(j/2) from 1 B to 2^34 B (16 GiB).
	byteBins = Bins{Name: "bytes", Edges: byteEdges()}
)

func (b Bins) clone() Bins { b.Edges = slices.Clone(b.Edges); return b }

// LengthBins: IP packet length in bytes, 32-byte steps up to 1536.
func LengthBins() Bins { return lengthBins.clone() }

// WindowBins: raw (unscaled) TCP window field, 1024-wide steps up to 65536.
func WindowBins() Bins { return windowBins.clone() }

// TimeBins: seconds; 0, then quarter decades from 1 us to 100 s.
func TimeBins() Bins { return timeBins.clone() }

// CountBins: packet counts and orderings (see countBins).
func CountBins() Bins { return countBins.clone() }

// FractionBins: 0 to 1 by 0.05.
func FractionBins() Bins { return fractionBins.clone() }

// ConcentrationBins: outgoing packets per chunk of 20.
func ConcentrationBins() Bins { return concentrationBins.clone() }

// ByteBins: bytes in half octaves.
func ByteBins() Bins { return byteBins.clone() }

// linearEdges returns n+1 edges start, start+step, ..., start+n*step.
func linearEdges(start, step float64, n int) []float64 {
	e := make([]float64, n+1)
	for i := range e {
		e[i] = roundEdge(start + float64(i)*step)
	}
	return e
}

func timeEdges() []float64 {
	e := []float64{0}
	for k := -24; k <= 8; k++ {
		e = append(e, roundEdge(math.Pow(10, float64(k)/4)))
	}
	return e
}

func countEdges() []float64 {
	var e []float64
	for i := 0; i < 8; i++ {
		e = append(e, float64(i))
	}
	for j := 3; j < 17; j++ {
		o := math.Ldexp(1, j)
		e = append(e, o, o*1.25, o*1.5, o*1.75)
	}
	return append(e, math.Ldexp(1, 17))
}

func byteEdges() []float64 {
	e := []float64{0}
	for j := 0; j <= 68; j++ {
		e = append(e, math.Round(math.Pow(2, float64(j)/2)))
	}
	// Rounding makes 2^0 and 2^0.5 both 1: keep edges strictly increasing.
	out := e[:1]
	for _, x := range e[1:] {
		if x > out[len(out)-1] {
			out = append(out, x)
		}
	}
	return out
}

// roundEdge trims floating-point noise (0.15000000000000002) so that edges
// print and compare as the decimal values the documentation gives.
func roundEdge(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 12, 64), 64)
	return v
}

func fmtEdge(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }
