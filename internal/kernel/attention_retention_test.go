package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refRetention is RetentionForward in float64 straight from the definition:
// the double sum over j <= t with gamma^(t-j), group norm, swish gate.
func refRetention(q, k, v, g []float64, BH, H, T, D int) []float64 {
	out := make([]float64, BH*T*D)
	s := 1 / math.Sqrt(float64(D))
	y := make([]float64, D)
	for bh := range BH {
		gamma := RetentionDecay(bh % H)
		o := bh * T * D
		for t := range T {
			clear(y)
			for j := 0; j <= t; j++ {
				var d float64
				for i := range D {
					d += q[o+t*D+i] * k[o+j*D+i]
				}
				d *= s * math.Pow(gamma, float64(t-j))
				for i := range D {
					y[i] += d * v[o+j*D+i]
				}
			}
			var mean, vr float64
			for _, x := range y {
				mean += x
			}
			mean /= float64(D)
			for _, x := range y {
				vr += (x - mean) * (x - mean)
			}
			rstd := 1 / math.Sqrt(vr/float64(D)+RetentionEps)
			for i, x := range y {
				gv := g[o+t*D+i]
				out[o+t*D+i] = gv / (1 + math.Exp(-gv)) * (x - mean) * rstd
			}
		}
	}
	return out
}

type retCase struct{ BH, H, T, D, chunk int }

func retForward(c retCase, q, k, v, g []float32) (out, state []float32) {
	out = make([]float32, c.BH*c.T*c.D)
	state = make([]float32, c.BH*RetentionStateSize(c.T, c.D, c.chunk))
	RetentionForward(out, state, q, k, v, g, c.BH, c.H, c.T, c.D, c.chunk, make([]float32, RetentionScratchSize(c.BH, c.T, c.D, c.chunk)))
	return out, state
}

func TestRetentionDecay(t *testing.T) {
	for h, want := range []float64{1 - 1.0/32, 1 - 1.0/64, 1 - 1.0/128, 1 - 1.0/256} {
		if got := RetentionDecay(h); got != want {
			t.Errorf("RetentionDecay(%d) = %v, want %v", h, got, want)
		}
	}
}

func TestRetentionForwardMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range []retCase{
		{1, 1, 1, 8, 64}, {2, 2, 7, 8, 4}, {3, 3, 65, 16, 64}, {4, 4, 130, 16, 64},
		{2, 1, 200, 64, 64}, {2, 2, 129, 64, 33}, {1, 1, 50, 8, 1}, {4, 2, 300, 8, 100},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			n := c.BH * c.T * c.D
			q, k, v, g := attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1)
			out, _ := retForward(c, q, k, v, g)
			want := refRetention(to64(q), to64(k), to64(v), to64(g), c.BH, c.H, c.T, c.D)
			if e := maxRelErr(out, want, 1e-3); e > 1e-4 {
				t.Errorf("max relative error %.3g", e)
			}
		})
	}
}

func TestRetentionCausality(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	c := retCase{4, 2, 150, 8, 16}
	n := c.BH * c.T * c.D
	q, k, v, g := attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1)
	for _, chunk := range []int{16, 64} {
		c.chunk = chunk
		base, _ := retForward(c, q, k, v, g)
		for _, t0 := range []int{0, 15, 16, 17, 63, 64, 65, 127, 128, 148} {
			q2, k2, v2, g2 := append([]float32(nil), q...), append([]float32(nil), k...), append([]float32(nil), v...), append([]float32(nil), g...)
			for h := range c.BH {
				for i := (h*c.T + t0 + 1) * c.D; i < (h+1)*c.T*c.D; i++ {
					q2[i] += 3
					k2[i] = -k2[i] * 2
					v2[i] += float32(i % 5)
					g2[i] -= 1
				}
			}
			got, _ := retForward(c, q2, k2, v2, g2)
			for h := range c.BH {
				for i := h * c.T * c.D; i < (h*c.T+t0+1)*c.D; i++ {
					if got[i] != base[i] {
						t.Fatalf("chunk %d t0=%d: out[%d] changed %v -> %v", chunk, t0, i, base[i], got[i])
					}
				}
			}
		}
	}
}

// TestRetentionGradients compares RetentionBackward with central finite
// differences of the float64 reference for the loss sum(out * G).
func TestRetentionGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	cases := []retCase{{1, 1, 1, 8, 64}, {2, 2, 11, 8, 4}, {2, 2, 11, 8, 64}, {1, 1, 37, 16, 16}, {3, 3, 40, 4, 7}, {1, 1, 100, 4, 32}}
	if testing.Short() {
		cases = cases[:4]
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			n := c.BH * c.T * c.D
			q, k, v, g, G := attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1)
			_, state := retForward(c, q, k, v, g)
			grads := make([][]float32, 4)
			for i := range grads {
				grads[i] = make([]float32, n)
				for j := range grads[i] {
					grads[i][j] = float32(i + 1) // backward adds: offset, then subtract
				}
			}
			RetentionBackward(grads[0], grads[1], grads[2], grads[3], G, q, k, v, g, state,
				c.BH, c.H, c.T, c.D, c.chunk, make([]float32, RetentionScratchSize(c.BH, c.T, c.D, c.chunk)))
			in := [][]float64{to64(q), to64(k), to64(v), to64(g)}
			G64 := to64(G)
			loss := func() float64 {
				o := refRetention(in[0], in[1], in[2], in[3], c.BH, c.H, c.T, c.D)
				var s float64
				for i, x := range o {
					s += x * G64[i]
				}
				return s
			}
			for p, name := range []string{"q", "k", "v", "g"} {
				num := make([]float64, n)
				const h = 1e-5
				x := in[p]
				for i := range x {
					x0 := x[i]
					x[i] = x0 + h
					lp := loss()
					x[i] = x0 - h
					lm := loss()
					x[i] = x0
					num[i] = (lp - lm) / (2 * h)
				}
				got := make([]float32, n)
				for i := range got {
					got[i] = grads[p][i] - float32(p+1)
				}
				if e := maxRelErr(got, num, 1e-2); e > 1e-3 {
					t.Errorf("d%s: max relative error %.3g", name, e)
				}
			}
		})
	}
}

func TestRetentionStepMatchesForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	for _, c := range []retCase{{4, 4, 150, 16, 64}, {2, 2, 97, 64, 32}, {1, 1, 1, 8, 64}} {
		n := c.BH * c.T * c.D
		q, k, v, g := attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1), attnRand(rng, n, 1)
		want, _ := retForward(c, q, k, v, g)
		D := c.D
		R, out := make([]float32, D*D), make([]float32, D)
		for bh := range c.BH {
			clear(R)
			for tt := range c.T {
				o := (bh*c.T + tt) * D
				RetentionStep(out, R, q[o:o+D], k[o:o+D], v[o:o+D], g[o:o+D], D, RetentionDecay(bh%c.H))
				if e := maxRelErr(out, to64(want[o:o+D]), 1e-3); e > 1e-4 {
					t.Fatalf("%+v head %d t=%d: relative error %.3g", c, bh, tt, e)
				}
			}
		}
	}
}

// TestRetentionLongContext runs 12,032 positions (the paper's context) with
// large inputs: outputs stay finite and chunk sizes agree.
func TestRetentionLongContext(t *testing.T) {
	if testing.Short() {
		t.Skip("long context")
	}
	rng := rand.New(rand.NewPCG(29, 30))
	c := retCase{2, 2, 12032, 16, 64}
	n := c.BH * c.T * c.D
	q, k, v, g := attnRand(rng, n, 5), attnRand(rng, n, 5), attnRand(rng, n, 5), attnRand(rng, n, 1)
	a, _ := retForward(c, q, k, v, g)
	c.chunk = 256
	b, _ := retForward(c, q, k, v, g)
	for i := range a {
		if math.IsNaN(float64(a[i])) || math.IsInf(float64(a[i]), 0) {
			t.Fatalf("out[%d] = %v", i, a[i])
		}
	}
	if e := maxRelErr(a, to64(b), 1); e > 1e-4 {
		t.Errorf("chunk 64 vs 256: max relative error %.3g", e)
	}
}
