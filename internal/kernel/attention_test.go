package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Naive float64 references and checks for the attention kernels.

func attnRand(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * scale)
	}
	return x
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// refSoftmaxAttn is causal windowed softmax attention in float64: query t
// attends keys max(0, t-W)..t. It returns out (BH, T, D) and lse (BH, T).
func refSoftmaxAttn(q, k, v []float64, BH, T, D, W int) (out, lse []float64) {
	out = make([]float64, BH*T*D)
	lse = make([]float64, BH*T)
	scale := 1 / math.Sqrt(float64(D))
	s := make([]float64, T)
	for h := range BH {
		o := h * T * D
		for t := range T {
			lo := max(0, t-W)
			mx := math.Inf(-1)
			for j := lo; j <= t; j++ {
				var d float64
				for i := range D {
					d += q[o+t*D+i] * k[o+j*D+i]
				}
				s[j] = d * scale
				mx = math.Max(mx, s[j])
			}
			var sum float64
			for j := lo; j <= t; j++ {
				s[j] = math.Exp(s[j] - mx)
				sum += s[j]
			}
			for j := lo; j <= t; j++ {
				for i := range D {
					out[o+t*D+i] += s[j] / sum * v[o+j*D+i]
				}
			}
			lse[h*T+t] = mx + math.Log(sum)
		}
	}
	return out, lse
}

// refLinearAttn is causal linear attention in float64, straight from the
// definition (running S and z, phi as documented, same clamp and eps).
func refLinearAttn(q, k, v []float64, BH, T, D int) []float64 {
	out := make([]float64, BH*T*D)
	S := make([]float64, D*D)
	z := make([]float64, D)
	pq := make([]float64, D)
	for h := range BH {
		clear(S)
		clear(z)
		o := h * T * D
		for t := range T {
			for i := range D {
				e := math.Exp(math.Min(k[o+t*D+i], LinearKeyClamp))
				z[i] += e
				for j := range D {
					S[i*D+j] += e * v[o+t*D+j]
				}
			}
			mx := math.Inf(-1)
			for i := range D {
				mx = math.Max(mx, q[o+t*D+i])
			}
			var sum float64
			for i := range D {
				pq[i] = math.Exp(q[o+t*D+i] - mx)
				sum += pq[i]
			}
			var den float64
			for i := range D {
				pq[i] /= sum * math.Sqrt(float64(D))
				den += pq[i] * z[i]
			}
			den = math.Max(den, LinearEps)
			for j := range D {
				var num float64
				for i := range D {
					num += pq[i] * S[i*D+j]
				}
				out[o+t*D+j] = num / den
			}
		}
	}
	return out
}

// refRope rotates x (BH, T, D) in float64 at positions offset+t.
func refRope(x []float64, BH, T, D int, base float64, offset int) []float64 {
	y := make([]float64, len(x))
	h := D / 2
	for bh := range BH {
		for t := range T {
			for i := range h {
				th := float64(offset+t) * math.Pow(base, -2*float64(i)/float64(D))
				o := (bh*T+t)*D + i
				a, b := x[o], x[o+h]
				y[o] = a*math.Cos(th) - b*math.Sin(th)
				y[o+h] = a*math.Sin(th) + b*math.Cos(th)
			}
		}
	}
	return y
}

// maxRelErr is max|got-want| / max(max|want|, floor).
func maxRelErr(got []float32, want []float64, floor float64) float64 {
	var e, m float64
	for i, w := range want {
		e = math.Max(e, math.Abs(float64(got[i])-w))
		m = math.Max(m, math.Abs(w))
	}
	return e / math.Max(m, floor)
}

// attnKind runs one of the three sequence kernels through a common interface
// so shape, causality and gradient tests are shared.
type attnKind struct {
	name string
	W    int // local window; -1 quadratic; chunk for linear
	lin  bool
}

func (a attnKind) String() string { return fmt.Sprintf("%s/%d", a.name, a.W) }

// forward runs the kernel and returns out plus whatever backward needs.
func (a attnKind) forward(q, k, v []float32, BH, T, D int) (out, aux []float32) {
	out = make([]float32, BH*T*D)
	switch {
	case a.lin:
		aux = make([]float32, BH*LinearAttentionStateSize(T, D, a.W))
		LinearAttentionForward(out, aux, q, k, v, BH, T, D, a.W, make([]float32, LinearAttentionScratchSize(BH, T, D, a.W)))
	case a.W < 0:
		aux = make([]float32, BH*T)
		QuadraticAttentionForward(out, aux, q, k, v, BH, T, D, make([]float32, QuadraticAttentionScratchSize(BH, T, D)))
	default:
		aux = make([]float32, BH*T)
		LocalAttentionForward(out, aux, q, k, v, BH, T, D, a.W, make([]float32, LocalAttentionScratchSize(BH, T, D, a.W)))
	}
	return out, aux
}

func (a attnKind) backward(dq, dk, dv, dout, q, k, v, out, aux []float32, BH, T, D int) {
	switch {
	case a.lin:
		LinearAttentionBackward(dq, dk, dv, dout, q, k, v, aux, BH, T, D, a.W, make([]float32, LinearAttentionScratchSize(BH, T, D, a.W)))
	case a.W < 0:
		QuadraticAttentionBackward(dq, dk, dv, dout, q, k, v, out, aux, BH, T, D, make([]float32, QuadraticAttentionScratchSize(BH, T, D)))
	default:
		LocalAttentionBackward(dq, dk, dv, dout, q, k, v, out, aux, BH, T, D, a.W, make([]float32, LocalAttentionScratchSize(BH, T, D, a.W)))
	}
}

func (a attnKind) ref(q, k, v []float64, BH, T, D int) []float64 {
	switch {
	case a.lin:
		return refLinearAttn(q, k, v, BH, T, D)
	case a.W < 0:
		out, _ := refSoftmaxAttn(q, k, v, BH, T, D, T)
		return out
	default:
		out, _ := refSoftmaxAttn(q, k, v, BH, T, D, a.W)
		return out
	}
}

var attnShapes = []struct{ BH, T, D int }{
	{1, 1, 8}, {2, 7, 8}, {3, 65, 16}, {2, 130, 16}, {2, 200, 64}, {1, 129, 64},
}

var attnKinds = []attnKind{
	{"quadratic", -1, false},
	{"local", 0, false}, {"local", 5, false}, {"local", 64, false}, {"local", 100, false},
	{"linear", 1, true}, {"linear", 16, true}, {"linear", 64, true}, {"linear", 33, true}, {"linear", 100, true},
}

func TestAttentionForwardMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range attnShapes {
		for _, a := range attnKinds {
			if a.lin && a.W == 1 && sh.T > 70 {
				continue // chunk 1 is slow and already covered by short T
			}
			t.Run(fmt.Sprintf("%v/BH%d_T%d_D%d", a, sh.BH, sh.T, sh.D), func(t *testing.T) {
				n := sh.BH * sh.T * sh.D
				q, k, v := attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1)
				out, aux := a.forward(q, k, v, sh.BH, sh.T, sh.D)
				want := a.ref(to64(q), to64(k), to64(v), sh.BH, sh.T, sh.D)
				if e := maxRelErr(out, want, 1e-3); e > 1e-5 {
					t.Errorf("out: max relative error %.3g", e)
				}
				if !a.lin {
					W := a.W
					if W < 0 {
						W = sh.T
					}
					_, lse := refSoftmaxAttn(to64(q), to64(k), to64(v), sh.BH, sh.T, sh.D, W)
					if e := maxRelErr(aux, lse, 1); e > 1e-5 {
						t.Errorf("lse: max relative error %.3g", e)
					}
				}
			})
		}
	}
}

// TestLinearAttentionLargeKeys checks the clamp: keys far above
// LinearKeyClamp give finite outputs equal to the (clamped) reference.
func TestLinearAttentionLargeKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	BH, T, D := 2, 90, 16
	n := BH * T * D
	q, k, v := attnRand(rng, n, 1), attnRand(rng, n, 40), attnRand(rng, n, 1)
	a := attnKind{"linear", 32, true}
	out, _ := a.forward(q, k, v, BH, T, D)
	want := refLinearAttn(to64(q), to64(k), to64(v), BH, T, D)
	for i, x := range out {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			t.Fatalf("out[%d] = %v", i, x)
		}
	}
	if e := maxRelErr(out, want, 1e-3); e > 1e-4 {
		t.Errorf("max relative error %.3g", e)
	}
}

func TestLocalAttentionWideWindowEqualsQuadratic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, T := range []int{1, 63, 64, 65, 150} {
		BH, D := 2, 16
		n := BH * T * D
		q, k, v := attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1)
		wq, _ := attnKind{"quadratic", -1, false}.forward(q, k, v, BH, T, D)
		for _, W := range []int{T - 1, T, T + 7} {
			if W < 0 {
				continue
			}
			got, _ := attnKind{"local", W, false}.forward(q, k, v, BH, T, D)
			for i := range got {
				if got[i] != wq[i] {
					t.Fatalf("T=%d W=%d: out[%d] = %v, quadratic %v", T, W, i, got[i], wq[i])
				}
			}
		}
	}
}

// TestAttentionCausality changes q, k, v at every position after t and checks
// out[0..t] does not change at all, for t around window and chunk edges.
func TestAttentionCausality(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	BH, T, D := 2, 150, 8
	n := BH * T * D
	q, k, v := attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1)
	for _, a := range []attnKind{{"quadratic", -1, false}, {"local", 20, false}, {"local", 64, false}, {"linear", 16, true}, {"linear", 64, true}} {
		base, _ := a.forward(q, k, v, BH, T, D)
		for _, t0 := range []int{0, 15, 16, 17, 19, 20, 21, 63, 64, 65, 127, 128, 148} {
			q2, k2, v2 := append([]float32(nil), q...), append([]float32(nil), k...), append([]float32(nil), v...)
			for h := range BH {
				for i := (h*T + t0 + 1) * D; i < (h+1)*T*D; i++ {
					q2[i] += 3
					k2[i] = -k2[i] * 2
					v2[i] += float32(i % 5)
				}
			}
			got, _ := a.forward(q2, k2, v2, BH, T, D)
			for h := range BH {
				for i := h * T * D; i < (h*T+t0+1)*D; i++ {
					if got[i] != base[i] {
						t.Fatalf("%v t0=%d: out[%d] changed %v -> %v", a, t0, i, base[i], got[i])
					}
				}
			}
		}
	}
}

// TestAttentionGradients compares every backward with central finite
// differences of the float64 reference for the loss sum(out * G).
func TestAttentionGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	shapes := []struct{ BH, T, D int }{{1, 1, 8}, {2, 11, 8}, {1, 37, 16}, {1, 130, 4}}
	kinds := []attnKind{
		{"quadratic", -1, false}, {"local", 0, false}, {"local", 4, false}, {"local", 70, false},
		{"linear", 1, true}, {"linear", 4, true}, {"linear", 16, true}, {"linear", 64, true}, {"linear", 100, true},
	}
	if testing.Short() {
		shapes = shapes[:3]
	}
	for _, sh := range shapes {
		for _, a := range kinds {
			if sh.T > 100 && a.W < 4 && a.W >= 0 {
				continue // tiny windows and chunks are covered at short T
			}
			t.Run(fmt.Sprintf("%v/BH%d_T%d_D%d", a, sh.BH, sh.T, sh.D), func(t *testing.T) {
				BH, T, D := sh.BH, sh.T, sh.D
				n := BH * T * D
				q, k, v, g := attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1)
				out, aux := a.forward(q, k, v, BH, T, D)
				// Backward adds: start from a known offset and subtract it.
				dq, dk, dv := make([]float32, n), make([]float32, n), make([]float32, n)
				for i := range dq {
					dq[i], dk[i], dv[i] = 1, 2, 3
				}
				a.backward(dq, dk, dv, g, q, k, v, out, aux, BH, T, D)
				q64, k64, v64, g64 := to64(q), to64(k), to64(v), to64(g)
				loss := func() float64 {
					o := a.ref(q64, k64, v64, BH, T, D)
					var s float64
					for i, x := range o {
						s += x * g64[i]
					}
					return s
				}
				for _, p := range []struct {
					name string
					x    []float64
					grad []float32
					off  float32
				}{{"q", q64, dq, 1}, {"k", k64, dk, 2}, {"v", v64, dv, 3}} {
					num := make([]float64, n)
					const h = 1e-5
					for i := range p.x {
						x0 := p.x[i]
						p.x[i] = x0 + h
						lp := loss()
						p.x[i] = x0 - h
						lm := loss()
						p.x[i] = x0
						num[i] = (lp - lm) / (2 * h)
					}
					got := make([]float32, n)
					for i := range got {
						got[i] = p.grad[i] - p.off
					}
					if a.W == 0 && !a.lin && p.name == "q" {
						// A window of 0 attends only itself: out = v, so dq is
						// exactly 0 and comes out as the cancellation noise of
						// dO.v - dO.out (~1e-6; 1e-4 relative to the 1e-2
						// floor with gonum's products under purego).
						if e := maxRelErr(got, num, 1); e > 1e-5 {
							t.Errorf("dq: max absolute error %.3g, want 0", e)
						}
						continue
					}
					if e := maxRelErr(got, num, 1e-2); e > 1e-4 {
						t.Errorf("d%s: max relative error %.3g", p.name, e)
					}
				}
			})
		}
	}
}

func TestLinearAttentionStepMatchesForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct{ BH, T, D, chunk int }{{2, 150, 16, 64}, {1, 97, 64, 32}, {1, 1, 8, 64}} {
		n := c.BH * c.T * c.D
		q, k, v := attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1)
		want, _ := attnKind{"linear", c.chunk, true}.forward(q, k, v, c.BH, c.T, c.D)
		D := c.D
		S, z, out := make([]float32, D*D), make([]float32, D), make([]float32, D)
		for h := range c.BH {
			clear(S)
			clear(z)
			for tt := range c.T {
				o := (h*c.T + tt) * D
				LinearAttentionStep(out, S, z, q[o:o+D], k[o:o+D], v[o:o+D], D)
				if e := maxRelErr(out, to64(want[o:o+D]), 1e-6); e > 1e-4 {
					t.Fatalf("%+v head %d t=%d: relative error %.3g", c, h, tt, e)
				}
			}
		}
	}
}

func TestLocalAttentionStepMatchesForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, c := range []struct{ BH, T, D, W int }{{2, 150, 16, 20}, {1, 97, 64, 0}, {1, 70, 8, 64}, {1, 1, 8, 3}} {
		n := c.BH * c.T * c.D
		q, k, v := attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1)
		want, _ := attnKind{"local", c.W, false}.forward(q, k, v, c.BH, c.T, c.D)
		D := c.D
		kr, vr, out := make([]float32, (c.W+1)*D), make([]float32, (c.W+1)*D), make([]float32, D)
		for h := range c.BH {
			for tt := range c.T {
				o := (h*c.T + tt) * D
				LocalAttentionStep(out, kr, vr, tt, q[o:o+D], k[o:o+D], v[o:o+D], D, c.W)
				if e := maxRelErr(out, to64(want[o:o+D]), 1e-6); e > 1e-4 {
					t.Fatalf("%+v head %d t=%d: relative error %.3g", c, h, tt, e)
				}
			}
		}
	}
}

func TestRope(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, c := range []struct{ BH, T, D int }{{1, 1, 8}, {3, 77, 16}, {2, 300, 64}, {2, 9, 600}} {
		n := c.BH * c.T * c.D
		x := attnRand(rng, n, 1)
		y := append([]float32(nil), x...)
		RopeForward(y, c.BH, c.T, c.D, 10000)
		want := refRope(to64(x), c.BH, c.T, c.D, 10000, 0)
		if e := maxRelErr(y, want, 1); e > 1e-5 {
			t.Errorf("%+v forward: relative error %.3g", c, e)
		}
		// Backward is the transpose: <R x, g> == <x, R^T g>.
		g := attnRand(rng, n, 1)
		rg := append([]float32(nil), g...)
		RopeBackward(rg, c.BH, c.T, c.D, 10000)
		var l, r float64
		for i := range x {
			l += float64(y[i]) * float64(g[i])
			r += float64(x[i]) * float64(rg[i])
		}
		if math.Abs(l-r) > 1e-4*math.Sqrt(float64(n)) {
			t.Errorf("%+v: <Rx,g>=%v <x,R^T g>=%v", c, l, r)
		}
		// Backward undoes forward.
		RopeBackward(y, c.BH, c.T, c.D, 10000)
		if e := maxRelErr(y, to64(x), 1); e > 1e-5 {
			t.Errorf("%+v round trip: relative error %.3g", c, e)
		}
		// RopeForwardAt on the last position alone matches the full rotation.
		D, T := c.D, c.T
		last := append([]float32(nil), x[(T-1)*D:T*D]...)
		RopeForwardAt(last, 1, 1, D, 10000, T-1)
		if e := maxRelErr(last, want[(T-1)*D:T*D], 1); e > 1e-5 {
			t.Errorf("%+v RopeForwardAt: relative error %.3g", c, e)
		}
	}
}

func TestExpf(t *testing.T) {
	var worst float64
	for x := -87.0; x < 88.7; x += 0.0137 {
		got := float64(expf(float32(x)))
		want := math.Exp(float64(float32(x)))
		worst = math.Max(worst, math.Abs(got-want)/want)
	}
	if worst > 3e-7 {
		t.Errorf("expf: max relative error %.3g", worst)
	}
	xs := make([]float32, 0, 13000)
	for x := -87.0; x < 80; x += 0.0137 {
		xs = append(xs, float32(x))
	}
	ys := make([]float32, len(xs))
	var sum float64
	got := float64(expSub(ys, xs, 0, 100))
	worst = 0
	for i, x := range xs {
		want := math.Exp(float64(x))
		sum += want
		worst = math.Max(worst, math.Abs(float64(ys[i])-want)/want)
	}
	if worst > 3e-7 || math.Abs(got-sum)/sum > 1e-5 {
		t.Errorf("expSub: max relative error %.3g, sum %v want %v", worst, got, sum)
	}
	expSub(ys[:2], []float32{-200, 5}, 10, 1)
	if ys[0] != 0 || math.Abs(float64(ys[1])-math.Exp(-9)) > 1e-10 {
		t.Errorf("expSub limits: %v", ys[:2])
	}
	if expf(-100) != 0 || expf(float32(math.Inf(-1))) != 0 || !math.IsInf(float64(expf(100)), 1) {
		t.Errorf("expf limits: %v %v %v", expf(-100), expf(float32(math.Inf(-1))), expf(100))
	}
}

func TestAttentionScratchTooSmallPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for short scratch")
		}
	}()
	n := 2 * 10 * 8
	LocalAttentionForward(make([]float32, n), make([]float32, 20), make([]float32, n), make([]float32, n), make([]float32, n), 2, 10, 8, 4, make([]float32, 3))
}

// TestAttnGemmTiles checks the tiled product against blas.Sgemm-free float64
// loops for all transpose combinations and sizes that need several tiles.
func TestAttnGemmTiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, s := range []struct{ M, N, K int }{{3, 5, 7}, {64, 65, 64}, {130, 70, 200}, {1, 300, 1000}, {200, 1, 3}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				lda, ldb, ldc := s.K+2, s.N+1, s.N+3
				if ta {
					lda = s.M + 2
				}
				if tb {
					ldb = s.K + 1
				}
				A, B := attnRand(rng, max(s.M, s.K)*lda, 1), attnRand(rng, max(s.K, s.N)*ldb, 1)
				C := attnRand(rng, s.M*ldc, 1)
				want := make([]float64, s.M*s.N)
				for i := range s.M {
					for j := range s.N {
						var d float64
						for p := range s.K {
							a, b := A[i*lda+p], B[p*ldb+j]
							if ta {
								a = A[p*lda+i]
							}
							if tb {
								b = B[j*ldb+p]
							}
							d += float64(a) * float64(b)
						}
						want[i*s.N+j] = 0.5*d + 2*float64(C[i*ldc+j])
					}
				}
				attnGemm(ta, tb, s.M, s.N, s.K, 0.5, A, lda, B, ldb, 2, C, ldc)
				got := make([]float32, s.M*s.N)
				for i := range s.M {
					copy(got[i*s.N:(i+1)*s.N], C[i*ldc:i*ldc+s.N])
				}
				if e := maxRelErr(got, want, 1); e > 1e-5 {
					t.Errorf("%+v ta=%v tb=%v: relative error %.3g", s, ta, tb, e)
				}
			}
		}
	}
}
