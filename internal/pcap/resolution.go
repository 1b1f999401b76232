package pcap

import (
	"math"
	"math/bits"
)

// binaryRes is the if_tsresol flag for 2^-n resolutions.
const binaryRes = 0x80

// IsBinary reports whether a tick is 2^-Exp() seconds (else 10^-Exp()).
func (r Resolution) IsBinary() bool { return r&binaryRes != 0 }

// Exp is n in 10^-n or 2^-n seconds per tick.
func (r Resolution) Exp() int { return int(r &^ binaryRes) }

// pow10 is 10^n for n <= 19 (the largest that fits a uint64), 0 beyond.
func pow10(r Resolution) uint64 {
	n := r.Exp()
	if n > 19 {
		return 0
	}
	p := uint64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// TicksToNanos converts ticks of r to nanoseconds, rounding down and
// saturating at math.MaxInt64.
func (r Resolution) TicksToNanos(ticks uint64) int64 {
	n := r.Exp()
	var hi, lo uint64
	if r.IsBinary() {
		// ticks * 1e9 / 2^n, with a 128-bit product.
		hi, lo = bits.Mul64(ticks, 1e9)
		switch {
		case n >= 128:
			return 0
		case n >= 64:
			lo, hi = hi>>uint(n-64), 0
		case n > 0:
			lo, hi = lo>>uint(n)|hi<<uint(64-n), hi>>uint(n)
		}
	} else if n <= 9 {
		hi, lo = bits.Mul64(ticks, pow10(Resolution(9-n)))
	} else {
		if n-9 > 19 {
			return 0
		}
		lo = ticks / pow10(Resolution(n-9))
	}
	if hi != 0 || lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(lo)
}

// NanosToTicks converts nanoseconds to ticks of r, rounding down;
// negative times give 0 and overflow saturates at math.MaxUint64.
func (r Resolution) NanosToTicks(ns int64) uint64 {
	if ns <= 0 {
		return 0
	}
	u, n := uint64(ns), r.Exp()
	if r.IsBinary() {
		// ns * 2^n / 1e9: Div64 needs the high word below the divisor.
		if n >= 64 {
			return math.MaxUint64
		}
		var hi, lo uint64
		if n > 0 {
			hi, lo = u>>uint(64-n), u<<uint(n)
		} else {
			lo = u
		}
		if hi >= 1e9 {
			return math.MaxUint64
		}
		q, _ := bits.Div64(hi, lo, 1e9)
		return q
	}
	if n <= 9 {
		return u / pow10(Resolution(9-n))
	}
	if n-9 > 19 {
		return math.MaxUint64
	}
	hi, lo := bits.Mul64(u, pow10(Resolution(n-9)))
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}
