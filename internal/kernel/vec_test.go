package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Tests of the element-wise kernels with a C version (vec.c): the dispatched
// function (C under cgo, the Go one under purego) against the Go version and
// a float64 reference, over random inputs, the clamps and every tail length
// of the 16-float blocks.

var vecLens = []int{0, 1, 7, 15, 16, 17, 31, 63, 64, 65, 100, 1000}

// vecInputs returns n inputs: normal values times scale, with edge cases
// spread over the slice when edges is set.
func vecInputs(r *rand.Rand, n int, scale float64, edges []float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	for i, e := range edges {
		if n > 0 {
			x[(i*7919)%n] = e
		}
	}
	return x
}

// vecSame reports whether a and b are both NaN, or equal within rtol
// relative (to max(|b|, floor)).
func vecSame(a, b float32, rtol, floor float64) bool {
	if math.IsNaN(float64(a)) || math.IsNaN(float64(b)) {
		return math.IsNaN(float64(a)) && math.IsNaN(float64(b))
	}
	if a == b {
		return true
	}
	return math.Abs(float64(a)-float64(b)) <= rtol*math.Max(math.Abs(float64(b)), floor)
}

// refExpSub is the float64 reference of expSub for one element: the
// argument min(x, hi) - sub rounded to float32 as the kernels compute it,
// then 0 below -87, clamped at 88, exp in float64.
func refExpSub(x, sub, hi float32) float64 {
	v := min(x, hi) - sub
	if v < -87 {
		return 0
	}
	return math.Exp(float64(min(v, 88)))
}

func TestVecExpSub(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	edges := []float32{0, -0.0, 87, -87, 86.99, -86.99, 87.01, -87.01, 88, -88, 88.5, 88.7, 89, -89, 200, -200,
		1e30, -1e30, inf, -inf, 30, 30.0001, 29.999, 1e-30, -1e-30}
	cases := []struct{ sub, hi, scale float32 }{
		{0, 100, 10}, {0, LinearKeyClamp, 20}, {5, 5, 3}, {-3, inf, 30}, {40, 60, 50}, {0, inf, 100}, {-50, 20, 40},
	}
	for _, c := range cases {
		for _, n := range vecLens {
			t.Run(fmt.Sprintf("sub%g_hi%g_n%d", c.sub, c.hi, n), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(n), uint64(c.scale)))
				for rep := range 3 {
					var e []float32
					if rep > 0 {
						e = edges
					}
					src := vecInputs(r, n, float64(c.scale), e)
					got, ref := make([]float32, n), make([]float32, n)
					sg := expSub(got, src, c.sub, c.hi)
					sr := expSubGo(ref, src, c.sub, c.hi)
					var s64 float64
					for i, x := range src {
						w := refExpSub(x, c.sub, c.hi)
						s64 += w
						if !vecSame(got[i], ref[i], 1e-6, 0) || math.Abs(float64(got[i])-w) > 4e-7*w {
							t.Fatalf("x=%v: got %v, Go %v, float64 %v", x, got[i], ref[i], w)
						}
					}
					// A sum past the float32 range is +Inf in both.
					if !vecSame(sg, sr, 1e-5, 0) || !vecSame(sg, float32(s64), 1e-5, 0) {
						t.Fatalf("sum %v, Go %v, float64 %v", sg, sr, s64)
					}
					// In place (dst == src), as the softmax kernels call it.
					in := append([]float32(nil), src...)
					if s := expSub(in, in, c.sub, c.hi); s != sg {
						t.Fatalf("in place sum %v, want %v", s, sg)
					}
					for i := range in {
						if math.Float32bits(in[i]) != math.Float32bits(got[i]) {
							t.Fatalf("in place [%d] = %v, want %v", i, in[i], got[i])
						}
					}
				}
			})
		}
	}
	t.Run("NaN", func(t *testing.T) {
		src := []float32{1, nan, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, nan}
		got, ref := make([]float32, len(src)), make([]float32, len(src))
		sg, sr := expSub(got, src, 0, 30), expSubGo(ref, src, 0, 30)
		for i := range src {
			if !vecSame(got[i], ref[i], 1e-6, 0) {
				t.Errorf("[%d] got %v, Go %v", i, got[i], ref[i])
			}
		}
		if !math.IsNaN(float64(sg)) || !math.IsNaN(float64(sr)) {
			t.Errorf("sum %v, Go %v: want NaN", sg, sr)
		}
	})
}

func TestVecGelu(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	edges := []float32{0, -0.0, 1e-4, -1e-4, 0.07, -0.07, 5, -5, 5.8, -5.8, 7.9, -7.9, 12, -12, 40, -40,
		1e10, -1e10, 1e20, -1e20, inf, -inf, nan}
	for _, n := range vecLens {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, uint64(n)))
			for rep := range 3 {
				var e []float32
				if rep > 0 {
					e = edges
				}
				inp := vecInputs(r, n, 3, e)
				got, ref := make([]float32, n), make([]float32, n)
				geluSpan(got, inp)
				geluSpanGo(ref, inp)
				for i, x := range inp {
					w := refGelu(float64(x))
					ok := vecSame(got[i], ref[i], 2e-6, 1)
					if !math.IsNaN(w) && !math.IsInf(w, 0) {
						ok = ok && math.Abs(float64(got[i])-w) <= 1e-6*math.Max(1, math.Abs(w))
					}
					if !ok {
						t.Fatalf("gelu(%v) = %v, Go %v, float64 %v", x, got[i], ref[i], w)
					}
				}
				// Backward adds onto dinp.
				dout, pre := vecInputs(r, n, 1, nil), vecInputs(r, n, 1, nil)
				dg, dr := append([]float32(nil), pre...), append([]float32(nil), pre...)
				geluBackwardSpan(dg, inp, dout)
				geluBackwardSpanGo(dr, inp, dout)
				for i, x := range inp {
					x64 := float64(x)
					h := 1e-6 * math.Max(1, math.Abs(x64))
					w := float64(pre[i]) + float64(dout[i])*(refGelu(x64+h)-refGelu(x64-h))/(2*h)
					ok := vecSame(dg[i], dr[i], 4e-6, 1)
					if !math.IsNaN(w) && !math.IsInf(w, 0) && math.Abs(x64) < 1e6 {
						ok = ok && math.Abs(float64(dg[i])-w) <= 1e-5*math.Max(1, math.Abs(w))
					}
					if !ok {
						t.Fatalf("gelu'(%v): dinp %v, Go %v, float64 %v", x, dg[i], dr[i], w)
					}
				}
			}
			// In place forward (out == inp).
			inp := vecInputs(r, n, 3, nil)
			want := make([]float32, n)
			geluSpan(want, inp)
			geluSpan(inp, inp)
			for i := range inp {
				if inp[i] != want[i] {
					t.Fatalf("in place [%d] = %v, want %v", i, inp[i], want[i])
				}
			}
		})
	}
}

// TestVecSoftmaxRows checks the row kernels of the softmax attention
// (forward normalisation, backward recomputation, dS) against their Go
// versions and a float64 softmax, for windows that cut rows on both sides.
func TestVecSoftmaxRows(t *testing.T) {
	cases := []struct{ m, nk, off, W, D int }{
		{1, 1, 0, 0, 16}, {7, 7, 0, 100, 16}, {17, 40, 23, 5, 16}, {64, 320, 256, 256, 64},
		{64, 64, 0, 64, 64}, {33, 97, 64, 70, 33}, {64, 320, 256, 15, 7},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(c.m), uint64(c.nk)))
			scores := vecInputs(r, c.m*c.nk, 4, []float32{60, -60, 30, -100})
			P, Pg := append([]float32(nil), scores...), append([]float32(nil), scores...)
			mx, sum, mxg, sumg := make([]float32, c.m), make([]float32, c.m), make([]float32, c.m), make([]float32, c.m)
			softmaxFwdRows(P, c.m, c.nk, c.off, c.W, mx, sum)
			softmaxFwdRowsGo(Pg, c.m, c.nk, c.off, c.W, mxg, sumg)
			lse := make([]float32, c.m)
			for row := range c.m {
				hi := c.off + row
				lo := max(0, hi-c.W)
				var m64 float64 = math.Inf(-1)
				for j := lo; j <= hi; j++ {
					m64 = math.Max(m64, float64(scores[row*c.nk+j]))
				}
				var s64 float64
				for j := lo; j <= hi; j++ {
					s64 += math.Exp(float64(scores[row*c.nk+j]) - m64)
				}
				if float64(mx[row]) != m64 || mx[row] != mxg[row] || !vecSame(sum[row], sumg[row], 1e-5, 0) {
					t.Fatalf("row %d: max %v (Go %v, float64 %v), sum %v (Go %v)", row, mx[row], mxg[row], m64, sum[row], sumg[row])
				}
				lse[row] = mx[row] + float32(math.Log(float64(sum[row])))
				for j := range c.nk {
					w := 0.0
					if j >= lo && j <= hi {
						w = math.Exp(float64(scores[row*c.nk+j])-m64) / s64
					}
					got := P[row*c.nk+j]
					if math.Abs(float64(got)-w) > 2e-6*w+1e-12 || !vecSame(got, Pg[row*c.nk+j], 1e-5, 1e-30) {
						t.Fatalf("P[%d,%d] = %v, Go %v, float64 %v", row, j, got, Pg[row*c.nk+j], w)
					}
				}
			}
			// Backward recomputes the same probabilities from lse.
			dout, out := vecInputs(r, c.m*c.D, 1, nil), vecInputs(r, c.m*c.D, 1, nil)
			B, Bg := append([]float32(nil), scores...), append([]float32(nil), scores...)
			di, dig := make([]float32, c.m), make([]float32, c.m)
			softmaxBwdRows(B, c.m, c.nk, c.off, c.W, lse, dout, out, c.D, di)
			softmaxBwdRowsGo(Bg, c.m, c.nk, c.off, c.W, lse, dout, out, c.D, dig)
			for i := range B {
				if !vecSame(B[i], P[i], 4e-6, 1e-7) || !vecSame(B[i], Bg[i], 1e-6, 1e-30) {
					t.Fatalf("recomputed P[%d] = %v, Go %v, forward %v", i, B[i], Bg[i], P[i])
				}
			}
			for row := range c.m {
				var d64 float64
				for e := range c.D {
					d64 += float64(dout[row*c.D+e]) * float64(out[row*c.D+e])
				}
				if math.Abs(float64(di[row])-d64) > 1e-5*(1+math.Abs(d64)) || !vecSame(di[row], dig[row], 1e-5, 1) {
					t.Fatalf("di[%d] = %v, Go %v, float64 %v", row, di[row], dig[row], d64)
				}
			}
			dS := vecInputs(r, c.m*c.nk, 1, nil)
			dSg := append([]float32(nil), dS...)
			softmaxDS(dS, B, di, c.m, c.nk)
			softmaxDSGo(dSg, B, di, c.m, c.nk)
			for i := range dS {
				if dS[i] != dSg[i] {
					t.Fatalf("dS[%d] = %v, Go %v", i, dS[i], dSg[i])
				}
			}
		})
	}
}

func TestVecPhiRows(t *testing.T) {
	for _, c := range []struct{ m, D int }{{1, 1}, {1, 16}, {3, 7}, {64, 64}, {17, 65}, {5, 100}} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(c.m), uint64(c.D)))
			q := vecInputs(r, c.m*c.D, 5, []float32{80, -80, 0})
			k := vecInputs(r, c.m*c.D, 15, []float32{30, 31, 100, -100, 29.99, 88})
			s := float32(1 / math.Sqrt(float64(c.D)))
			qf, kf, qg, kg := make([]float32, c.m*c.D), make([]float32, c.m*c.D), make([]float32, c.m*c.D), make([]float32, c.m*c.D)
			phiRows(qf, kf, q, k, c.m, c.D, s)
			phiRowsGo(qg, kg, q, k, c.m, c.D, s)
			for row := range c.m {
				x := q[row*c.D : row*c.D+c.D]
				m64 := math.Inf(-1)
				for _, v := range x {
					m64 = math.Max(m64, float64(v))
				}
				var s64 float64
				for _, v := range x {
					s64 += math.Exp(float64(v) - m64)
				}
				for i, v := range x {
					w := math.Exp(float64(v)-m64) / s64 * float64(s)
					j := row*c.D + i
					if math.Abs(float64(qf[j])-w) > 2e-6*w+1e-12 || !vecSame(qf[j], qg[j], 1e-5, 1e-30) {
						t.Fatalf("phi(q)[%d] = %v, Go %v, float64 %v", j, qf[j], qg[j], w)
					}
				}
			}
			for i, v := range k {
				w := refExpSub(v, 0, LinearKeyClamp)
				if math.Abs(float64(kf[i])-w) > 4e-7*w || !vecSame(kf[i], kg[i], 1e-6, 0) {
					t.Fatalf("phi(k)[%d] (k=%v) = %v, Go %v, float64 %v", i, v, kf[i], kg[i], w)
				}
			}
		})
	}
}

// TestVecRowKernels compares the C column sums, LayerNorm and dropout with
// their Go versions: column sums and the dropout mask are bit-identical
// (same order, same hash); LayerNorm rows differ by float rounding only.
func TestVecRowKernels(t *testing.T) {
	for _, sh := range []struct{ N, C int }{{1, 1}, {3, 7}, {5, 16}, {9, 17}, {4, 65}, {33, 512}, {7, 600}, {2, 1000}} {
		t.Run(fmt.Sprintf("N%d_C%d", sh.N, sh.C), func(t *testing.T) {
			N, C := sh.N, sh.C
			r := rand.New(rand.NewPCG(uint64(N), uint64(C)))
			x, dy := vecInputs(r, N*C, 2, nil), vecInputs(r, N*C, 1, nil)
			for i := range x {
				x[i] += 3 // a mean far from 0
			}
			w, b := vecInputs(r, C, 1, nil), vecInputs(r, C, 1, nil)
			pre := vecInputs(r, C, 1, nil)
			for _, span := range [][2]int{{0, C}, {C / 3, C}, {1 % C, max(1%C, C-1)}} {
				c0, c1 := span[0], span[1]
				got, want := append([]float32(nil), pre...), append([]float32(nil), pre...)
				colSumSpan(got, x, N, C, c0, c1)
				colSumSpanGo(want, x, N, C, c0, c1)
				kEqual(t, fmt.Sprintf("colSum[%d:%d]", c0, c1), got, want)
			}
			out, mean, rstd := make([]float32, N*C), make([]float32, N), make([]float32, N)
			outG, meanG, rstdG := make([]float32, N*C), make([]float32, N), make([]float32, N)
			layerNormSpan(out, mean, rstd, x, w, b, C, 0, N)
			layerNormSpanGo(outG, meanG, rstdG, x, w, b, C, 0, N)
			for i := range out {
				if !vecSame(out[i], outG[i], 1e-5, 1e-3) {
					t.Fatalf("layerNorm out[%d] = %v, Go %v", i, out[i], outG[i])
				}
			}
			for n := range N {
				if !vecSame(mean[n], meanG[n], 1e-6, 1e-6) || !vecSame(rstd[n], rstdG[n], 1e-6, 0) {
					t.Fatalf("row %d: mean %v rstd %v, Go %v %v", n, mean[n], rstd[n], meanG[n], rstdG[n])
				}
			}
			dx, dxG := vecInputs(r, N*C, 1, nil), make([]float32, N*C)
			copy(dxG, dx)
			layerNormBackwardRows(dx, dy, x, w, meanG, rstdG, C, 0, N)
			layerNormBackwardRowsGo(dxG, dy, x, w, meanG, rstdG, C, 0, N)
			for i := range dx {
				if !vecSame(dx[i], dxG[i], 1e-5, 1e-3) {
					t.Fatalf("layerNorm dinp[%d] = %v, Go %v", i, dx[i], dxG[i])
				}
			}
			dw, db := append([]float32(nil), pre...), append([]float32(nil), pre...)
			dwG, dbG := append([]float32(nil), pre...), append([]float32(nil), pre...)
			layerNormBackwardCols(dw, db, dy, x, meanG, rstdG, N, C, 0, C)
			layerNormBackwardColsGo(dwG, dbG, dy, x, meanG, rstdG, N, C, 0, C)
			kEqual(t, "layerNorm dweight", dw, dwG)
			kEqual(t, "layerNorm dbias", db, dbG)
		})
	}
	for _, n := range vecLens {
		for _, off := range []int{0, 5, 1 << 40} {
			r := rand.New(rand.NewPCG(uint64(n), uint64(off)))
			inp := vecInputs(r, n, 1, []float32{float32(math.NaN()), float32(math.Inf(1))})
			out, mask := make([]float32, n), make([]uint8, n)
			outG, maskG := make([]float32, n), make([]uint8, n)
			thr := uint64(math.Round(0.3 * (1 << 24)))
			dropoutKeep(out, mask, inp, 42, off, thr, 1/0.7)
			dropoutKeepGo(outG, maskG, inp, 42, off, thr, 1/0.7)
			for i := range out {
				if mask[i] != maskG[i] || math.Float32bits(out[i]) != math.Float32bits(outG[i]) {
					t.Fatalf("dropout n=%d off=%d [%d]: %v %d, Go %v %d", n, off, i, out[i], mask[i], outG[i], maskG[i])
				}
			}
			// Backward adds dout*scale where kept.
			dinp, dinpG := vecInputs(r, n, 1, nil), make([]float32, n)
			copy(dinpG, dinp)
			dout := vecInputs(r, n, 1, nil)
			dropoutBackwardSpan(dinp, dout, mask, 1/0.7)
			dropoutBackwardSpanGo(dinpG, dout, mask, 1/0.7)
			for i := range dinp {
				if math.Float32bits(dinp[i]) != math.Float32bits(dinpG[i]) {
					t.Fatalf("dropout backward n=%d [%d]: %v, Go %v", n, i, dinp[i], dinpG[i])
				}
			}
			// In place (out == inp).
			dropoutKeep(inp, mask, inp, 42, off, thr, 1/0.7)
			for i := range inp {
				if math.Float32bits(inp[i]) != math.Float32bits(outG[i]) {
					t.Fatalf("dropout in place n=%d [%d]: %v, want %v", n, i, inp[i], outG[i])
				}
			}
		}
	}
}

// TestVecAttnStep compares one query's attention (LocalAttentionStep's
// core) in C and Go with a float64 softmax, over key counts across the
// 64-key blocks (the online rescaling: a later block with a larger score)
// and head sizes off the 16-float blocks, on every C path the machine has
// (the v16 clones, and AVX2 where there is AVX2).
func TestVecAttnStep(t *testing.T) {
	defer attnStepUse(0)
	for path := 1; path <= 2; path++ {
		name := attnStepUse(path)
		if name == "" {
			continue
		}
		testVecAttnStep(t, name)
	}
}

func testVecAttnStep(t *testing.T, path string) {
	for _, c := range []struct{ n, D int }{{1, 1}, {1, 64}, {7, 16}, {64, 64}, {65, 64}, {129, 64}, {200, 17}, {300, 100}, {257, 64}, {5, 32}} {
		t.Run(fmt.Sprintf("%s/%+v", path, c), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(c.n), uint64(c.D)))
			q, K, V := vecInputs(r, c.D, 2, nil), vecInputs(r, c.n*c.D, 2, nil), vecInputs(r, c.n*c.D, 1, nil)
			if c.n > 64 {
				// The largest score in the last block: earlier blocks' sums
				// are rescaled.
				for i := range c.D {
					K[(c.n-1)*c.D+i] = 3 * q[i]
				}
			}
			scale := float32(1 / math.Sqrt(float64(c.D)))
			got, gotGo := make([]float32, c.D), make([]float32, c.D)
			attnStep(got, K, V, c.n, q, c.D, scale)
			attnStepGo(gotGo, K, V, c.n, q, c.D, scale)
			sc := make([]float64, c.n)
			mx := math.Inf(-1)
			for j := range c.n {
				for i := range c.D {
					sc[j] += float64(q[i]) * float64(K[j*c.D+i])
				}
				sc[j] *= float64(scale)
				mx = math.Max(mx, sc[j])
			}
			var sum float64
			for j := range sc {
				sc[j] = math.Exp(sc[j] - mx)
				sum += sc[j]
			}
			for i := range c.D {
				var w float64
				for j := range c.n {
					w += sc[j] / sum * float64(V[j*c.D+i])
				}
				if math.Abs(float64(got[i])-w) > 1e-5*(1+math.Abs(w)) || math.Abs(float64(gotGo[i])-w) > 1e-5*(1+math.Abs(w)) {
					t.Fatalf("out[%d] = %v (C) %v (Go), float64 %v", i, got[i], gotGo[i], w)
				}
			}
		})
	}
}

// TestVecLinearStep runs LinearAttentionStep's C and Go versions side by
// side over 20 positions (S and z accumulate) and compares the outputs and
// the states; keys beyond the clamp included.
func TestVecLinearStep(t *testing.T) {
	for _, D := range []int{1, 7, 16, 17, 64, 100} {
		t.Run(fmt.Sprint(D), func(t *testing.T) {
			r := rand.New(rand.NewPCG(9, uint64(D)))
			S, z, Sg, zg := make([]float32, D*D), make([]float32, D), make([]float32, D*D), make([]float32, D)
			out, outg := make([]float32, D), make([]float32, D)
			for pos := range 20 {
				q, k, v := vecInputs(r, D, 2, nil), vecInputs(r, D, 10, []float32{LinearKeyClamp + 5}), vecInputs(r, D, 1, nil)
				linearStep(out, S, z, q, k, v, D)
				linearStepGo(outg, Sg, zg, q, k, v, D)
				// S sums e*v of both signs (e up to exp(clamp)): rounding (FMA,
				// exp's last bit) is relative to the largest entry.
				floor := func(x []float32) float64 {
					m := 0.0
					for _, v := range x {
						m = math.Max(m, math.Abs(float64(v)))
					}
					return m
				}
				fo, fs := floor(outg), floor(Sg)
				for i := range out {
					if !vecSame(out[i], outg[i], 1e-5, fo) {
						t.Fatalf("pos %d: out[%d] = %v, Go %v", pos, i, out[i], outg[i])
					}
				}
				for i := range S {
					if !vecSame(S[i], Sg[i], 1e-5, fs) {
						t.Fatalf("pos %d: S[%d] = %v, Go %v", pos, i, S[i], Sg[i])
					}
				}
				for i := range z {
					if !vecSame(z[i], zg[i], 1e-6, 0) {
						t.Fatalf("pos %d: z[%d] = %v, Go %v", pos, i, z[i], zg[i])
					}
				}
			}
		})
	}
}
