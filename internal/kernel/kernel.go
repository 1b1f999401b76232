package kernel

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/trafficgpt/trafficgpt/internal/blas"
)

// Element-wise and row-wise kernels (see doc.go for the list and the
// conventions). Shapes are row-major; N is the number of rows (B*T).
//
// Parallelism: calls that touch at least rowParMin elements are split over
// GOMAXPROCS goroutines (a persistent pool, so no allocation per call); smaller
// calls run on the caller. Reductions over rows (dweight, dbias, embedding
// gradients) are split by column instead of by row, so every output element is
// summed by one goroutine in row order: results do not depend on the number
// of goroutines and there are no write races.

// rowParMin is the element count from which a kernel call is split over
// several goroutines; below it the hand-off costs more than it saves.
const rowParMin = 1 << 16

// rowAlign keeps span boundaries on 64-byte lines (16 float32) so that two
// goroutines never write the same cache line.
const rowAlign = 16

// colBlock is the number of columns a column reduction sums at once in
// float64 accumulators on the stack; wide blocks keep the pass over the rows
// close to sequential (a narrow block strides through memory, one TLB entry
// per row or two).
const colBlock = 512

// rowArgs carries a kernel's operands to the pool's goroutines. Field names
// follow the kernel parameters; each kernel uses a few of them.
type rowArgs struct {
	out, inp, dout, dinp, w, b, dw, db, mean, rstd []float32
	tok                                            []int32
	mask                                           []uint8
	C, T, N, OC                                    int
	p                                              float32
	seed                                           uint64
}

type rowSpan struct{ lo, hi int }

// rowPool is the worker pool. One parallel call runs at a time (mu); the
// operands live in a, written before the spans are sent and cleared after all
// are done, so the workers need nothing else.
var rowPool struct {
	mu      sync.Mutex
	workers int
	work    chan rowSpan
	done    chan struct{}
	fn      func(a *rowArgs, lo, hi int)
	a       rowArgs
}

// rowWorkers returns how many goroutines a call touching elems elements uses.
func rowWorkers(elems int) int {
	if elems < rowParMin {
		return 1
	}
	return runtime.GOMAXPROCS(0)
}

// rowRun calls fn over [0, units) split into nw spans whose boundaries are
// multiples of align, the first span on the calling goroutine. fn must be a
// function literal that captures nothing (so it is not allocated) and must not
// call rowRun itself (the pool runs one call at a time).
func rowRun(a *rowArgs, units, align, nw int, fn func(a *rowArgs, lo, hi int)) {
	p := &rowPool
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.work == nil {
		p.work = make(chan rowSpan)
		p.done = make(chan struct{})
	}
	for p.workers < nw-1 {
		go rowWorker()
		p.workers++
	}
	p.a, p.fn = *a, fn
	per := (units + nw - 1) / nw
	per = (per + align - 1) / align * align
	sent := 0
	for lo := per; lo < units; lo += per {
		p.work <- rowSpan{lo, min(lo+per, units)}
		sent++
	}
	fn(&p.a, 0, min(per, units))
	for ; sent > 0; sent-- {
		<-p.done
	}
	// Drop the references so the pool does not keep activations alive.
	p.a, p.fn = rowArgs{}, nil
}

func rowWorker() {
	p := &rowPool
	for s := range p.work {
		p.fn(&p.a, s.lo, s.hi)
		p.done <- struct{}{}
	}
}

// need panics when a caller passes a slice shorter than its documented shape.
func need[T any](kernel, name string, x []T, n int) {
	if len(x) < n {
		panic(fmt.Sprintf("kernel: %s: len(%s)=%d < %d", kernel, name, len(x), n))
	}
}

// EmbeddingForward gathers rows of the table: out (N, C) = wte[tokens[n]],
// with wte (V, C) and tokens (N) in [0, V).
func EmbeddingForward(out []float32, tokens []int32, wte []float32, N, C int) {
	need("EmbeddingForward", "out", out, N*C)
	need("EmbeddingForward", "tokens", tokens, N)
	gatherRows("EmbeddingForward", out, wte, tokens[:N:N], C)
}

// EmbeddingBackward adds dout (N, C) into the rows of dwte (V, C) named by
// tokens (N).
func EmbeddingBackward(dwte, dout []float32, tokens []int32, N, C int) {
	need("EmbeddingBackward", "dout", dout, N*C)
	need("EmbeddingBackward", "tokens", tokens, N)
	scatterAddRows("EmbeddingBackward", dwte, dout, tokens[:N:N], C)
}

// GatherRows copies rows of inp (R, C): out (len(rows), C) = inp[rows[i]].
func GatherRows(out, inp []float32, rows []int32, C int) {
	need("GatherRows", "out", out, len(rows)*C)
	gatherRows("GatherRows", out, inp, rows, C)
}

// ScatterAddRows is the adjoint of GatherRows: dinp[rows[i]] += dout (i).
// Repeated rows accumulate.
func ScatterAddRows(dinp, dout []float32, rows []int32, C int) {
	need("ScatterAddRows", "dout", dout, len(rows)*C)
	scatterAddRows("ScatterAddRows", dinp, dout, rows, C)
}

func checkRows(kernel string, rows []int32, R int) {
	for i, r := range rows {
		if r < 0 || int(r) >= R {
			panic(fmt.Sprintf("kernel: %s: row index %d at %d outside [0, %d)", kernel, r, i, R))
		}
	}
}

func gatherRows(kernel string, out, inp []float32, rows []int32, C int) {
	if C <= 0 {
		return
	}
	checkRows(kernel, rows, len(inp)/C)
	n := len(rows)
	if nw := rowWorkers(n * C); nw > 1 {
		a := rowArgs{out: out, inp: inp, tok: rows, C: C}
		rowRun(&a, n, 1, nw, func(a *rowArgs, lo, hi int) { gatherSpan(a.out, a.inp, a.tok, a.C, lo, hi) })
		return
	}
	gatherSpan(out, inp, rows, C, 0, n)
}

func gatherSpan(out, inp []float32, rows []int32, C, lo, hi int) {
	for i := lo; i < hi; i++ {
		r := int(rows[i])
		copy(out[i*C:i*C+C:i*C+C], inp[r*C:r*C+C:r*C+C])
	}
}

func scatterAddRows(kernel string, dinp, dout []float32, rows []int32, C int) {
	if C <= 0 {
		return
	}
	checkRows(kernel, rows, len(dinp)/C)
	n := len(rows)
	if nw := rowWorkers(n * C); nw > 1 && C >= 2*rowAlign {
		// Split by column: repeated rows would race under a row split.
		a := rowArgs{dinp: dinp, dout: dout, tok: rows, C: C}
		rowRun(&a, C, rowAlign, nw, func(a *rowArgs, lo, hi int) { scatterAddSpan(a.dinp, a.dout, a.tok, a.C, lo, hi) })
		return
	}
	scatterAddSpan(dinp, dout, rows, C, 0, C)
}

// scatterAddSpan adds columns [c0, c1) of every row.
func scatterAddSpan(dinp, dout []float32, rows []int32, C, c0, c1 int) {
	w := c1 - c0
	for i, r := range rows {
		d := dinp[int(r)*C+c0 : int(r)*C+c1 : int(r)*C+c1]
		s := dout[i*C+c0 : i*C+c0+w : i*C+c0+w]
		for j, v := range s {
			d[j] += v
		}
	}
}

// LayerNormForward normalises each row of inp (N, C) to zero mean and unit
// variance (eps 1e-5, biased variance) and applies weight (C) and bias (C):
// out (N, C). mean (N) and rstd (N) (1/sqrt(var+eps)) are kept for backward.
func LayerNormForward(out, mean, rstd, inp, weight, bias []float32, N, C int) {
	const k = "LayerNormForward"
	need(k, "out", out, N*C)
	need(k, "inp", inp, N*C)
	need(k, "mean", mean, N)
	need(k, "rstd", rstd, N)
	need(k, "weight", weight, C)
	need(k, "bias", bias, C)
	if nw := rowWorkers(N * C); nw > 1 {
		a := rowArgs{out: out, mean: mean, rstd: rstd, inp: inp, w: weight, b: bias, C: C}
		rowRun(&a, N, 1, nw, func(a *rowArgs, lo, hi int) {
			layerNormSpan(a.out, a.mean, a.rstd, a.inp, a.w, a.b, a.C, lo, hi)
		})
		return
	}
	layerNormSpan(out, mean, rstd, inp, weight, bias, C, 0, N)
}

// layerNormSpanGo normalises rows [lo, hi); layerNormSpan is it or its C
// version (float64 sums in a different order).
func layerNormSpanGo(out, mean, rstd, inp, weight, bias []float32, C, lo, hi int) {
	weight, bias = weight[:C:C], bias[:C:C]
	for n := lo; n < hi; n++ {
		x := inp[n*C : n*C+C : n*C+C]
		var s float64
		for _, v := range x {
			s += float64(v)
		}
		m := s / float64(C)
		var ss float64
		for _, v := range x {
			d := float64(v) - m
			ss += d * d
		}
		rs := 1 / math.Sqrt(ss/float64(C)+1e-5)
		mf, rf := float32(m), float32(rs)
		o := out[n*C : n*C+C : n*C+C]
		for i, v := range x {
			o[i] = (v-mf)*rf*weight[i] + bias[i]
		}
		mean[n], rstd[n] = mf, rf
	}
}

// LayerNormBackward adds the gradients of LayerNormForward: dinp (N, C),
// dweight (C), dbias (C) from dout (N, C), using the forward's inp, weight,
// mean and rstd.
func LayerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd []float32, N, C int) {
	const k = "LayerNormBackward"
	need(k, "dinp", dinp, N*C)
	need(k, "dout", dout, N*C)
	need(k, "inp", inp, N*C)
	need(k, "dweight", dweight, C)
	need(k, "dbias", dbias, C)
	need(k, "weight", weight, C)
	need(k, "mean", mean, N)
	need(k, "rstd", rstd, N)
	a := rowArgs{dinp: dinp, dw: dweight, db: dbias, dout: dout, inp: inp, w: weight, mean: mean, rstd: rstd, C: C, T: N}
	if nw := rowWorkers(N * C); nw > 1 {
		rowRun(&a, N, 1, nw, func(a *rowArgs, lo, hi int) {
			layerNormBackwardRows(a.dinp, a.dout, a.inp, a.w, a.mean, a.rstd, a.C, lo, hi)
		})
		rowRun(&a, C, rowAlign, nw, func(a *rowArgs, lo, hi int) {
			layerNormBackwardCols(a.dw, a.db, a.dout, a.inp, a.mean, a.rstd, a.T, a.C, lo, hi)
		})
		return
	}
	layerNormBackwardRows(dinp, dout, inp, weight, mean, rstd, C, 0, N)
	layerNormBackwardCols(dweight, dbias, dout, inp, mean, rstd, N, C, 0, C)
}

// layerNormBackwardRowsGo adds dinp for rows [lo, hi):
// dinp = rstd * (w*dout - mean(w*dout) - xhat*mean(w*dout*xhat)).
func layerNormBackwardRowsGo(dinp, dout, inp, weight, mean, rstd []float32, C, lo, hi int) {
	weight = weight[:C:C]
	for n := lo; n < hi; n++ {
		x := inp[n*C : n*C+C : n*C+C]
		dy := dout[n*C : n*C+C : n*C+C]
		dx := dinp[n*C : n*C+C : n*C+C]
		m, rs := mean[n], rstd[n]
		var sa, sb float64
		for i, v := range x {
			xh := (v - m) * rs
			wdy := weight[i] * dy[i]
			sa += float64(wdy)
			sb += float64(wdy * xh)
		}
		ma, mb := float32(sa/float64(C)), float32(sb/float64(C))
		for i, v := range x {
			xh := (v - m) * rs
			dx[i] += (weight[i]*dy[i] - ma - xh*mb) * rs
		}
	}
}

// layerNormBackwardColsGo adds dweight and dbias for columns [c0, c1), summing
// over all N rows in float64, colBlock columns at a time.
func layerNormBackwardColsGo(dweight, dbias, dout, inp, mean, rstd []float32, N, C, c0, c1 int) {
	var accW, accB [colBlock]float64
	for b0 := c0; b0 < c1; b0 += colBlock {
		w := min(colBlock, c1-b0)
		clear(accW[:w])
		clear(accB[:w])
		for n := 0; n < N; n++ {
			x := inp[n*C+b0 : n*C+b0+w : n*C+b0+w]
			dy := dout[n*C+b0 : n*C+b0+w : n*C+b0+w]
			m, rs := mean[n], rstd[n]
			for i, v := range x {
				accB[i] += float64(dy[i])
				accW[i] += float64((v - m) * rs * dy[i])
			}
		}
		for i := 0; i < w; i++ {
			dweight[b0+i] += float32(accW[i])
			dbias[b0+i] += float32(accB[i])
		}
	}
}

// MatmulForward computes out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias
// (OC); bias may be nil.
func MatmulForward(out, inp, weight, bias []float32, N, C, OC int) {
	const k = "MatmulForward"
	need(k, "out", out, N*OC)
	if N <= smallMatmulRows {
		need(k, "inp", inp, N*C)
		need(k, "weight", weight, OC*C)
		if bias != nil {
			need(k, "bias", bias, OC)
		}
		matmulSmall(out, inp, weight, bias, N, C, OC)
		return
	}
	if bias == nil {
		blas.Sgemm(false, true, N, OC, C, 1, inp, C, weight, C, 0, out, OC)
		return
	}
	need(k, "bias", bias, OC)
	// Prefill out with the bias and let the product accumulate onto it.
	if nw := rowWorkers(N * OC); nw > 1 {
		a := rowArgs{out: out, b: bias, C: OC}
		rowRun(&a, N, 1, nw, func(a *rowArgs, lo, hi int) { fillRows(a.out, a.b, a.C, lo, hi) })
	} else {
		fillRows(out, bias, OC, 0, N)
	}
	blas.Sgemm(false, true, N, OC, C, 1, inp, C, weight, C, 1, out, OC)
}

// smallMatmulRows is the row count up to which MatmulForward takes the
// few-row product (matmul_small.c) instead of BLAS: a sampling step's
// batch, where BLAS's packing costs more than the product (see
// BenchmarkMatmulSmall).
const smallMatmulRows = 16

// smallMatmulParMin is the multiply-add count from which the few-row
// product is split over the pool by output columns (a 256 x 256 product
// of one row is about 10 us on one core; a hand-off costs about 1 us).
const smallMatmulParMin = 1 << 16

// matmulSmall is MatmulForward for N <= smallMatmulRows: every weight row
// is read once for all N rows; large products are split by output column,
// so each output is still summed by one goroutine in the same order.
func matmulSmall(out, inp, weight, bias []float32, N, C, OC int) {
	// One row is a stream of the weights that one core's loads keep up
	// with; the hand-off to the pool costs more than a second core gains
	// (BenchmarkStep batch=1: 690 vs 500 tokens/s small, 27 vs 25 paper).
	nw := runtime.GOMAXPROCS(0)
	if N == 1 || N*C*OC < smallMatmulParMin || OC < 2*rowAlign || nw < 2 {
		smallMatmulSpan(out, inp, weight, bias, N, C, OC, 0, OC)
		return
	}
	a := rowArgs{out: out, inp: inp, w: weight, b: bias, N: N, C: C, OC: OC}
	rowRun(&a, OC, rowAlign, nw, func(a *rowArgs, lo, hi int) {
		smallMatmulSpan(a.out, a.inp, a.w, a.b, a.N, a.C, a.OC, lo, hi)
	})
}

func fillRows(out, row []float32, C, lo, hi int) {
	row = row[:C:C]
	for n := lo; n < hi; n++ {
		copy(out[n*C:n*C+C:n*C+C], row)
	}
}

// MatmulBackward adds the gradients of MatmulForward: dinp (N, C) += dout
// (N, OC) @ weight (OC, C), dweight (OC, C) += dout^T @ inp (N, C), dbias
// (OC) += column sums of dout. dinp and dbias may be nil (not wanted).
func MatmulBackward(dinp, dweight, dbias, dout, inp, weight []float32, N, C, OC int) {
	const k = "MatmulBackward"
	need(k, "dout", dout, N*OC)
	if dbias != nil {
		need(k, "dbias", dbias, OC)
		if nw := rowWorkers(N * OC); nw > 1 && OC >= 2*rowAlign {
			a := rowArgs{db: dbias, dout: dout, C: OC, T: N}
			rowRun(&a, OC, rowAlign, nw, func(a *rowArgs, lo, hi int) { colSumSpan(a.db, a.dout, a.T, a.C, lo, hi) })
		} else {
			colSumSpan(dbias, dout, N, OC, 0, OC)
		}
	}
	if dinp != nil {
		blas.Sgemm(false, false, N, C, OC, 1, dout, OC, weight, C, 1, dinp, C)
	}
	blas.Sgemm(true, false, OC, C, N, 1, dout, OC, inp, C, 1, dweight, C)
}

// colSumSpanGo adds the sums over N rows of x (N, C) for columns [c0, c1) into
// dst, in float64, colBlock columns at a time.
func colSumSpanGo(dst, x []float32, N, C, c0, c1 int) {
	var acc [colBlock]float64
	for b0 := c0; b0 < c1; b0 += colBlock {
		w := min(colBlock, c1-b0)
		clear(acc[:w])
		for n := 0; n < N; n++ {
			for i, v := range x[n*C+b0 : n*C+b0+w : n*C+b0+w] {
				acc[i] += float64(v)
			}
		}
		for i := 0; i < w; i++ {
			dst[b0+i] += float32(acc[i])
		}
	}
}

// GELU, tanh approximation: gelu(x) = x/2 * (1 + tanh(s*(x + 0.044715 x^3))),
// s = sqrt(2/pi).
const (
	geluS = 0.7978845608028654
	geluA = 0.044715
)

// tanhf is tanh in float32 as a branch-free rational function (the
// minimax approximation Eigen uses for float) on (-7.9, 7.9) and +-1 outside;
// absolute error below 3e-7. GELU inputs change sign at random, so the
// branches of an exp-based formula would mispredict.
func tanhf(x float32) float32 {
	// Rarely taken for GELU inputs, so well predicted; past the clamp tanh
	// rounds to +-1.
	if x >= 7.90531110763549805 {
		return 1
	}
	if x <= -7.90531110763549805 {
		return -1
	}
	// Estrin's scheme: short dependency chains, as Go does not fuse FMAs.
	// float64 costs the same per operation and keeps Estrin's sums exact
	// enough.
	xd := float64(x)
	y := xd * xd
	y2 := y * y
	y4 := y2 * y2
	p := (4.89352455891786e-03 + 6.37261928875436e-04*y) +
		y2*(1.48572235717979e-05+5.12229709037114e-08*y) +
		y4*((-8.60467152213735e-11+2.00018790482477e-13*y)+y2*-2.76076847742355e-16)
	q := (4.89352518554385e-03 + 2.26843463243900e-03*y) +
		y2*(1.18534705686654e-04+1.19825839466702e-06*y)
	return float32(xd * p / q)
}

// GeluForward computes out (n) = gelu(inp (n)), tanh approximation.
func GeluForward(out, inp []float32, n int) {
	need("GeluForward", "out", out, n)
	need("GeluForward", "inp", inp, n)
	if nw := rowWorkers(n); nw > 1 {
		a := rowArgs{out: out, inp: inp}
		rowRun(&a, n, rowAlign, nw, func(a *rowArgs, lo, hi int) { geluSpan(a.out[lo:hi:hi], a.inp[lo:hi:hi]) })
		return
	}
	geluSpan(out[:n:n], inp[:n:n])
}

// geluSpanGo is gelu over a span; geluSpan is it or its C version.
func geluSpanGo(out, inp []float32) {
	out = out[:len(inp)]
	for i, x := range inp {
		t := tanhf(geluS * (x + geluA*x*x*x))
		out[i] = 0.5 * x * (1 + t)
	}
}

// GeluBackward adds dinp (n) += gelu'(inp) * dout.
func GeluBackward(dinp, inp, dout []float32, n int) {
	need("GeluBackward", "dinp", dinp, n)
	need("GeluBackward", "inp", inp, n)
	need("GeluBackward", "dout", dout, n)
	if nw := rowWorkers(n); nw > 1 {
		a := rowArgs{dinp: dinp, inp: inp, dout: dout}
		rowRun(&a, n, rowAlign, nw, func(a *rowArgs, lo, hi int) {
			geluBackwardSpan(a.dinp[lo:hi:hi], a.inp[lo:hi:hi], a.dout[lo:hi:hi])
		})
		return
	}
	geluBackwardSpan(dinp[:n:n], inp[:n:n], dout[:n:n])
}

// geluBackwardSpanGo adds gelu'(inp)*dout into dinp over a span;
// geluBackwardSpan is it or its C version.
func geluBackwardSpanGo(dinp, inp, dout []float32) {
	dinp, dout = dinp[:len(inp)], dout[:len(inp)]
	for i, x := range inp {
		x2 := x * x
		t := tanhf(geluS * (x + geluA*x2*x))
		sech2 := 1 - t*t
		g := 0.5*(1+t) + 0.5*x*sech2*geluS*(1+3*geluA*x2)
		dinp[i] += g * dout[i]
	}
}

// TokenShiftForward mixes each position with its predecessor: for inp and
// out (B, T, C), channels [0, C/2) of position t take position t-1's values
// (zeros at t = 0) and channels [C/2, C) pass through.
func TokenShiftForward(out, inp []float32, B, T, C int) {
	need("TokenShiftForward", "out", out, B*T*C)
	need("TokenShiftForward", "inp", inp, B*T*C)
	if nw := rowWorkers(B * T * C); nw > 1 {
		a := rowArgs{out: out, inp: inp, T: T, C: C}
		rowRun(&a, B*T, 1, nw, func(a *rowArgs, lo, hi int) { tokenShiftSpan(a.out, a.inp, a.T, a.C, lo, hi) })
		return
	}
	tokenShiftSpan(out, inp, T, C, 0, B*T)
}

func tokenShiftSpan(out, inp []float32, T, C, lo, hi int) {
	h := C / 2
	for r := lo; r < hi; r++ {
		o := out[r*C : r*C+C : r*C+C]
		if r%T == 0 {
			clear(o[:h])
		} else {
			copy(o[:h], inp[(r-1)*C:(r-1)*C+h:(r-1)*C+h])
		}
		copy(o[h:], inp[r*C+h:r*C+C:r*C+C])
	}
}

// TokenShiftBackward adds the gradient of TokenShiftForward into dinp
// (B, T, C) from dout (B, T, C).
func TokenShiftBackward(dinp, dout []float32, B, T, C int) {
	need("TokenShiftBackward", "dinp", dinp, B*T*C)
	need("TokenShiftBackward", "dout", dout, B*T*C)
	if nw := rowWorkers(B * T * C); nw > 1 {
		a := rowArgs{dinp: dinp, dout: dout, T: T, C: C}
		rowRun(&a, B*T, 1, nw, func(a *rowArgs, lo, hi int) { tokenShiftBackwardSpan(a.dinp, a.dout, a.T, a.C, lo, hi) })
		return
	}
	tokenShiftBackwardSpan(dinp, dout, T, C, 0, B*T)
}

// tokenShiftBackwardSpan writes only dinp rows [lo, hi): row r gets channels
// [0, C/2) from dout row r+1 (same sequence) and [C/2, C) from dout row r.
func tokenShiftBackwardSpan(dinp, dout []float32, T, C, lo, hi int) {
	h := C / 2
	for r := lo; r < hi; r++ {
		d := dinp[r*C : r*C+C : r*C+C]
		if (r+1)%T != 0 {
			addTo(d[:h], dout[(r+1)*C:(r+1)*C+h:(r+1)*C+h])
		}
		addTo(d[h:], dout[r*C+h:r*C+C:r*C+C])
	}
}

func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// ResidualForward computes out (n) = a + b.
func ResidualForward(out, a, b []float32, n int) {
	need("ResidualForward", "out", out, n)
	need("ResidualForward", "a", a, n)
	need("ResidualForward", "b", b, n)
	if nw := rowWorkers(n); nw > 1 {
		x := rowArgs{out: out, inp: a, b: b}
		rowRun(&x, n, rowAlign, nw, func(x *rowArgs, lo, hi int) { addSpan(x.out[lo:hi:hi], x.inp[lo:hi:hi], x.b[lo:hi:hi]) })
		return
	}
	addSpan(out[:n:n], a[:n:n], b[:n:n])
}

func addSpan(out, a, b []float32) {
	a, b = a[:len(out)], b[:len(out)]
	for i := range out {
		out[i] = a[i] + b[i]
	}
}

// AddInPlace adds dst (n) += src (n), for gradient accumulation.
func AddInPlace(dst, src []float32, n int) {
	need("AddInPlace", "dst", dst, n)
	need("AddInPlace", "src", src, n)
	if nw := rowWorkers(n); nw > 1 {
		a := rowArgs{out: dst, inp: src}
		rowRun(&a, n, rowAlign, nw, func(a *rowArgs, lo, hi int) { addTo(a.out[lo:hi:hi], a.inp[lo:hi:hi]) })
		return
	}
	addTo(dst[:n:n], src[:n:n])
}

// Scale multiplies x (n) by s in place.
func Scale(x []float32, s float32, n int) {
	need("Scale", "x", x, n)
	if nw := rowWorkers(n); nw > 1 {
		a := rowArgs{out: x, p: s}
		rowRun(&a, n, rowAlign, nw, func(a *rowArgs, lo, hi int) { scaleSpan(a.out[lo:hi:hi], a.p) })
		return
	}
	scaleSpan(x[:n:n], s)
}

func scaleSpan(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// dropKeep reports whether element i survives dropout: the top 24 bits of
// splitmix64(seed + (i+1)*golden) compared with thr = round(p * 2^24). The
// mask is thus a pure function of (seed, i), independent of threading.
func dropKeep(seed uint64, i int, thr uint64) bool {
	z := seed + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return z>>40 >= thr
}

// DropoutForward applies inverted dropout with drop probability p in [0, 1):
// out (n) = inp * mask / (1-p), mask (n) = 1 (kept) or 0 (dropped) from
// dropKeep(seed, i). p = 0 copies inp and sets mask to 1; p >= 1 drops all.
func DropoutForward(out []float32, mask []uint8, inp []float32, p float32, seed uint64, n int) {
	need("DropoutForward", "out", out, n)
	need("DropoutForward", "mask", mask, n)
	need("DropoutForward", "inp", inp, n)
	a := rowArgs{out: out, mask: mask, inp: inp, p: p, seed: seed}
	if nw := rowWorkers(n); nw > 1 {
		rowRun(&a, n, 64, nw, func(a *rowArgs, lo, hi int) {
			dropoutSpan(a.out[lo:hi:hi], a.mask[lo:hi:hi], a.inp[lo:hi:hi], a.p, a.seed, lo)
		})
		return
	}
	dropoutSpan(out[:n:n], mask[:n:n], inp[:n:n], p, seed, 0)
}

// dropoutSpan handles elements [off, off+len(out)).
func dropoutSpan(out []float32, mask []uint8, inp []float32, p float32, seed uint64, off int) {
	mask, inp = mask[:len(out)], inp[:len(out)]
	switch {
	case p <= 0:
		copy(out, inp)
		for i := range mask {
			mask[i] = 1
		}
		return
	case p >= 1:
		clear(out)
		clear(mask)
		return
	}
	dropoutKeep(out, mask, inp, seed, off, uint64(math.Round(float64(p)*(1<<24))), 1/(1-p))
}

// dropoutKeepGo writes out = inp*scale where dropKeep(seed, off+i, thr) and
// 0 elsewhere, and the mask (1 kept, 0 dropped); dropoutKeep is it or its C
// version (same hash, bit-identical).
func dropoutKeepGo(out []float32, mask []uint8, inp []float32, seed uint64, off int, thr uint64, scale float32) {
	mask, inp = mask[:len(out)], inp[:len(out)]
	for i := range out {
		if dropKeep(seed, off+i, thr) {
			mask[i] = 1
			out[i] = inp[i] * scale
		} else {
			mask[i] = 0
			out[i] = 0
		}
	}
}

// DropoutBackward adds dinp (n) += dout * mask / (1-p). With p = 0 the mask
// is not read (it may be nil); with p >= 1 nothing is added.
func DropoutBackward(dinp, dout []float32, mask []uint8, p float32, n int) {
	need("DropoutBackward", "dinp", dinp, n)
	need("DropoutBackward", "dout", dout, n)
	if p >= 1 {
		return
	}
	if p <= 0 {
		AddInPlace(dinp, dout, n)
		return
	}
	need("DropoutBackward", "mask", mask, n)
	if nw := rowWorkers(n); nw > 1 {
		a := rowArgs{dinp: dinp, dout: dout, mask: mask, p: p}
		rowRun(&a, n, rowAlign, nw, func(a *rowArgs, lo, hi int) {
			dropoutBackwardSpan(a.dinp[lo:hi:hi], a.dout[lo:hi:hi], a.mask[lo:hi:hi], 1/(1-a.p))
		})
		return
	}
	dropoutBackwardSpan(dinp[:n:n], dout[:n:n], mask[:n:n], 1/(1-p))
}

// dropoutBackwardSpanGo adds dout*scale into dinp where mask is set;
// dropoutBackwardSpan is it or its C version (bit-identical).
func dropoutBackwardSpanGo(dinp, dout []float32, mask []uint8, scale float32) {
	dout, mask = dout[:len(dinp)], mask[:len(dinp)]
	for i := range dinp {
		if mask[i] != 0 {
			dinp[i] += dout[i] * scale
		}
	}
}

// Softmax computes probs (N, V) = softmax of each row of logits (N, V).
func Softmax(probs, logits []float32, N, V int) {
	need("Softmax", "probs", probs, N*V)
	need("Softmax", "logits", logits, N*V)
	if nw := rowWorkers(N * V); nw > 1 {
		a := rowArgs{out: probs, inp: logits, C: V}
		rowRun(&a, N, 1, nw, func(a *rowArgs, lo, hi int) { softmaxSpan(nil, a.out, a.inp, nil, a.C, lo, hi) })
		return
	}
	softmaxSpan(nil, probs, logits, nil, V, 0, N)
}

// CrossEntropyForward computes probs (N, V) = softmax(logits (N, V)) and
// losses (N) = -log probs[n, targets[n]]. Rows with targets[n] < 0 are
// ignored: loss 0, probs still written. targets (N) must be < V.
func CrossEntropyForward(losses, probs, logits []float32, targets []int32, N, V int) {
	const k = "CrossEntropyForward"
	need(k, "losses", losses, N)
	need(k, "probs", probs, N*V)
	need(k, "logits", logits, N*V)
	need(k, "targets", targets, N)
	checkTargets(k, targets[:N:N], V)
	if nw := rowWorkers(N * V); nw > 1 {
		a := rowArgs{mean: losses, out: probs, inp: logits, tok: targets, C: V}
		rowRun(&a, N, 1, nw, func(a *rowArgs, lo, hi int) { softmaxSpan(a.mean, a.out, a.inp, a.tok, a.C, lo, hi) })
		return
	}
	softmaxSpan(losses, probs, logits, targets, V, 0, N)
}

func checkTargets(kernel string, targets []int32, V int) {
	for n, t := range targets {
		if int(t) >= V {
			panic(fmt.Sprintf("kernel: %s: target %d at row %d >= V=%d", kernel, t, n, V))
		}
	}
}

// softmaxSpan writes probs for rows [lo, hi) with max subtraction; when
// losses is not nil it also writes the cross-entropy loss, computed as
// log(sum) - (logit[t] - max) so that tiny probabilities keep their precision.
func softmaxSpan(losses, probs, logits []float32, targets []int32, V, lo, hi int) {
	for n := lo; n < hi; n++ {
		l := logits[n*V : n*V+V : n*V+V]
		p := probs[n*V : n*V+V : n*V+V]
		mx := float32(math.Inf(-1))
		for _, v := range l {
			if v > mx {
				mx = v
			}
		}
		// Two accumulators halve the float64 add chain.
		var s0, s1 float64
		i := 0
		for ; i+1 < len(l); i += 2 {
			e0, e1 := expNonPos(l[i]-mx), expNonPos(l[i+1]-mx)
			p[i], p[i+1] = e0, e1
			s0 += float64(e0)
			s1 += float64(e1)
		}
		if i < len(l) {
			e := expNonPos(l[i] - mx)
			p[i] = e
			s0 += float64(e)
		}
		s := s0 + s1
		inv := float32(1 / s)
		for i := range p {
			p[i] *= inv
		}
		if losses == nil {
			continue
		}
		if t := targets[n]; t < 0 {
			losses[n] = 0
		} else {
			losses[n] = float32(math.Log(s) - float64(l[t]-mx))
		}
	}
}

// expNonPos is exp(x) for x <= 0 (softmax after max subtraction): Cephes'
// expf without the branches that x <= 0 makes unnecessary; relative error
// about 2e-7, 0 below -87.
func expNonPos(x float32) float32 {
	if x < -87 {
		return 0
	}
	// x*log2(e) - 0.5 < 0 truncates toward zero: round to nearest.
	n := int32(x*1.44269504088896341 - 0.5)
	fn := float32(n)
	r := x - fn*0.693359375 - fn*(-2.12194440e-4)
	r2 := r * r
	p := (5.0000001201e-1 + 1.6666665459e-1*r) +
		r2*(4.1665795894e-2+8.3334519073e-3*r) +
		r2*r2*(1.3981999507e-3+1.9875691500e-4*r)
	return (p*r2 + r + 1) * math.Float32frombits(uint32(n+127)<<23)
}

// CrossEntropyBackward adds dlogits (N, V) += dloss[n] * (probs - onehot
// (targets[n])), the gradient of sum_n dloss[n]*losses[n] through the
// softmax. Rows with targets[n] < 0 are left untouched.
func CrossEntropyBackward(dlogits, probs []float32, targets []int32, dloss []float32, N, V int) {
	const k = "CrossEntropyBackward"
	need(k, "dlogits", dlogits, N*V)
	need(k, "probs", probs, N*V)
	need(k, "targets", targets, N)
	need(k, "dloss", dloss, N)
	checkTargets(k, targets[:N:N], V)
	if nw := rowWorkers(N * V); nw > 1 {
		a := rowArgs{dinp: dlogits, out: probs, tok: targets, dout: dloss, C: V}
		rowRun(&a, N, 1, nw, func(a *rowArgs, lo, hi int) { crossEntropyBackwardSpan(a.dinp, a.out, a.tok, a.dout, a.C, lo, hi) })
		return
	}
	crossEntropyBackwardSpan(dlogits, probs, targets, dloss, V, 0, N)
}

func crossEntropyBackwardSpan(dlogits, probs []float32, targets []int32, dloss []float32, V, lo, hi int) {
	for n := lo; n < hi; n++ {
		t := targets[n]
		if t < 0 {
			continue
		}
		d := dlogits[n*V : n*V+V : n*V+V]
		p := probs[n*V : n*V+V : n*V+V]
		g := dloss[n]
		for i, v := range p {
			d[i] += g * v
		}
		d[t] -= g
	}
}
