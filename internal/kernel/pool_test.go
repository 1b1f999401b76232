package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func refMeanPoolPrefix(x []float64, last []int32, B, T, C int) []float64 {
	o := make([]float64, B*C)
	for b := 0; b < B; b++ {
		n := int(last[b]) + 1
		for t := 0; t < n; t++ {
			for c := 0; c < C; c++ {
				o[b*C+c] += x[(b*T+t)*C+c]
			}
		}
		for c := 0; c < C; c++ {
			o[b*C+c] /= float64(n)
		}
	}
	return o
}

func TestMeanPoolPrefix(t *testing.T) {
	for _, s := range []struct{ B, T, C int }{{1, 1, 1}, {2, 5, 3}, {3, 17, 8}, {4, 64, 33}} {
		t.Run(fmt.Sprintf("B%d_T%d_C%d", s.B, s.T, s.C), func(t *testing.T) {
			B, T, C := s.B, s.T, s.C
			r := rand.New(rand.NewPCG(uint64(B*T), uint64(C)))
			inp := kRand32(r, B*T*C)
			last := make([]int32, B)
			for b := range last {
				last[b] = int32(r.IntN(T))
			}
			last[0] = int32(T - 1) // the full row is one case
			out := kRand32(r, B*C) // forward overwrites
			MeanPoolPrefix(out, inp, last, B, T, C)
			x64 := k64(inp)
			ref := func() []float64 { return refMeanPoolPrefix(x64, last, B, T, C) }
			kClose(t, "out", out, ref(), 1e-5, 1e-6)

			dout, pre := kRand32(r, B*C), kRand32(r, B*T*C)
			dinp := append([]float32(nil), pre...)
			MeanPoolPrefixBackward(dinp, dout, last, B, T, C)
			loss := func() float64 { return kDot(ref(), dout) }
			kGradCheck(t, "dinp", x64, kSub(dinp, pre), loss, r)
			// Padding after last[b] must get no gradient (it never reaches the head).
			for b := 0; b < B; b++ {
				for i := (b*T + int(last[b]) + 1) * C; i < (b+1)*T*C; i++ {
					if dinp[i] != pre[i] {
						t.Fatalf("padding position element %d got gradient %g", i, dinp[i]-pre[i])
					}
				}
			}
		})
	}
}

func TestMeanPoolPrefixMisuse(t *testing.T) {
	for _, c := range []struct {
		name string
		last []int32
	}{{"past end", []int32{4}}, {"negative", []int32{-1}}, {"count", []int32{0, 0}}} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			MeanPoolPrefix(make([]float32, 2), make([]float32, 8), c.last, 1, 4, 2)
		})
	}
}
