package optim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrState is wrapped by errors about a serialised optimizer state.
var ErrState = errors.New("optim: bad optimizer state")

// Hyper are AdamW's hyper-parameters (the learning rate is per Update).
type Hyper struct {
	Beta1, Beta2, Eps, WeightDecay float64
}

// DefaultHyper is b1 0.9, b2 0.95, eps 1e-8, weight decay 0.1 (a value, so
// no caller can change everyone's defaults).
func DefaultHyper() Hyper { return Hyper{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1} }

// Segment is a range [Offset, Offset+Size) of the parameter slab; Decay says
// whether weight decay applies to it. Elements outside every segment get no
// decay.
type Segment struct {
	Offset, Size int
	Decay        bool
}

// AdamW is the optimizer state for n parameters.
type AdamW struct {
	Hyper Hyper
	n     int
	t     uint64    // updates done
	slab  []float32 // [m | v], 2n
	m, v  []float32
	decay []Segment // the Decay segments, sorted by offset, clipped to n
}

// NewAdamW makes an optimizer for n parameters with zero moments.
func NewAdamW(n int, segments []Segment, h Hyper) (*AdamW, error) {
	if n < 0 {
		return nil, fmt.Errorf("optim: %d parameters", n)
	}
	if !(h.Beta1 >= 0 && h.Beta1 < 1 && h.Beta2 >= 0 && h.Beta2 < 1 && h.Eps > 0 && h.WeightDecay >= 0) {
		return nil, fmt.Errorf("optim: bad hyper-parameters %+v", h)
	}
	o := &AdamW{Hyper: h, n: n, slab: make([]float32, 2*n)}
	o.m, o.v = o.slab[:n:n], o.slab[n:2*n:2*n]
	for _, s := range segments {
		if s.Offset < 0 || s.Size < 0 || s.Offset+s.Size > n {
			return nil, fmt.Errorf("optim: segment [%d, %d) outside %d parameters", s.Offset, s.Offset+s.Size, n)
		}
		if s.Decay && s.Size > 0 {
			o.decay = append(o.decay, s)
		}
	}
	return o, nil
}

// Len is the number of parameters; Steps the number of updates done.
func (o *AdamW) Len() int      { return o.n }
func (o *AdamW) Steps() uint64 { return o.t }

// Update applies one AdamW step with learning rate lr.
func (o *AdamW) Update(params, grads []float32, lr float64) {
	if len(params) != o.n || len(grads) != o.n {
		panic(fmt.Sprintf("optim: Update with %d params and %d grads, optimizer has %d", len(params), len(grads), o.n))
	}
	h := o.Hyper
	if h.WeightDecay > 0 {
		f := float32(1 - lr*h.WeightDecay)
		for _, s := range o.decay {
			p := params[s.Offset : s.Offset+s.Size : s.Offset+s.Size]
			for i := range p {
				p[i] *= f
			}
		}
	}
	o.t++
	b1, b2 := float32(h.Beta1), float32(h.Beta2)
	c1, c2 := float32(1-h.Beta1), float32(1-h.Beta2)
	// p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
	step := float32(lr / (1 - math.Pow(h.Beta1, float64(o.t))))
	rbc2 := float32(1 / math.Sqrt(1-math.Pow(h.Beta2, float64(o.t))))
	eps := float32(h.Eps)
	m, v, g := o.m, o.v, grads[:o.n:o.n]
	p := params[:o.n:o.n]
	for i := range p {
		gi := g[i]
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		p[i] -= step * mi / (float32(math.Sqrt(float64(vi)))*rbc2 + eps)
	}
}

const stateMagic = "tgpt-adamw-1\n"

// MarshalBinary encodes the exact state (see the package doc).
func (o *AdamW) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, len(stateMagic)+48+8*o.n)
	b = append(b, stateMagic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(o.n))
	b = binary.LittleEndian.AppendUint64(b, o.t)
	for _, x := range []float64{o.Hyper.Beta1, o.Hyper.Beta2, o.Hyper.Eps, o.Hyper.WeightDecay} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	for _, x := range o.slab {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b, nil
}

// UnmarshalBinary restores a state written by MarshalBinary for the same
// number of parameters (moments, update count and hyper-parameters).
func (o *AdamW) UnmarshalBinary(b []byte) error {
	hdr := len(stateMagic) + 48
	if len(b) < hdr || string(b[:len(stateMagic)]) != stateMagic {
		return fmt.Errorf("%w: not an AdamW state (bad magic or %d bytes)", ErrState, len(b))
	}
	r := b[len(stateMagic):]
	n := binary.LittleEndian.Uint64(r)
	if n != uint64(o.n) {
		return fmt.Errorf("%w: state for %d parameters, model has %d", ErrState, n, o.n)
	}
	if want := hdr + 8*o.n; len(b) != want {
		return fmt.Errorf("%w: %d bytes, want %d", ErrState, len(b), want)
	}
	t := binary.LittleEndian.Uint64(r[8:])
	var hp [4]float64
	for i := range hp {
		hp[i] = math.Float64frombits(binary.LittleEndian.Uint64(r[16+8*i:]))
	}
	o.t = t
	o.Hyper = Hyper{Beta1: hp[0], Beta2: hp[1], Eps: hp[2], WeightDecay: hp[3]}
	data := b[hdr:]
	for i := range o.slab {
		o.slab[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return nil
}
