package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// refSgemm is the float64 reference of Sgemm on the same storage.
func refSgemm(transA, transB bool, M, N, K int, alpha float64, A []float32, lda int, B []float32, ldb int, beta float64, C []float32, ldc int) []float64 {
	out := make([]float64, M*N)
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			var s float64
			for k := 0; k < K; k++ {
				var a, b float64
				if transA {
					a = float64(A[k*lda+i])
				} else {
					a = float64(A[i*lda+k])
				}
				if transB {
					b = float64(B[j*ldb+k])
				} else {
					b = float64(B[k*ldb+j])
				}
				s += a * b
			}
			c := 0.0
			if beta != 0 {
				c = beta * float64(C[i*ldc+j])
			}
			out[i*N+j] = alpha*s + c
		}
	}
	return out
}

func randSlice(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func TestSgemm(t *testing.T) {
	type tc struct {
		M, N, K     int
		pad         int // extra stride on every operand
		alpha, beta float32
	}
	cases := []tc{
		{1, 1, 1, 0, 1, 0},
		{3, 5, 7, 0, 1, 0},
		{7, 3, 5, 2, 0.5, 1},
		{17, 33, 9, 3, -1.5, 0.25},
		{64, 64, 64, 0, 1, 1},
		{65, 127, 31, 1, 2, -1},
		{1, 200, 300, 5, 1, 0},
		{200, 1, 300, 0, 1, 0.5},
		{130, 140, 150, 7, 0.75, 0.5},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				name := fmt.Sprintf("M%d_N%d_K%d_pad%d_ta%v_tb%v", c.M, c.N, c.K, c.pad, ta, tb)
				t.Run(name, func(t *testing.T) {
					ar, ac := c.M, c.K
					if ta {
						ar, ac = c.K, c.M
					}
					br, bc := c.K, c.N
					if tb {
						br, bc = c.N, c.K
					}
					lda, ldb, ldc := ac+c.pad, bc+c.pad, c.N+c.pad
					A := randSlice(r, ar*lda)
					B := randSlice(r, br*ldb)
					C := randSlice(r, c.M*ldc)
					want := refSgemm(ta, tb, c.M, c.N, c.K, float64(c.alpha), A, lda, B, ldb, float64(c.beta), C, ldc)
					orig := append([]float32(nil), C...)
					Sgemm(ta, tb, c.M, c.N, c.K, c.alpha, A, lda, B, ldb, c.beta, C, ldc)
					tol := 1e-5 * math.Sqrt(float64(c.K)) * 4
					for i := 0; i < c.M; i++ {
						for j := 0; j < ldc; j++ {
							got := float64(C[i*ldc+j])
							if j >= c.N {
								if C[i*ldc+j] != orig[i*ldc+j] {
									t.Fatalf("padding C[%d,%d] changed", i, j)
								}
								continue
							}
							w := want[i*c.N+j]
							if math.Abs(got-w) > tol*(1+math.Abs(w)) {
								t.Fatalf("C[%d,%d] = %v, want %v", i, j, got, w)
							}
						}
					}
				})
			}
		}
	}
}

func TestSgemmEdge(t *testing.T) {
	// K == 0: C = beta*C; beta == 0 clears NaNs as BLAS does.
	C := []float32{1, float32(math.NaN()), 3, 4}
	Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0, C, 2)
	for i, v := range C {
		if v != 0 {
			t.Fatalf("K=0 beta=0: C[%d]=%v", i, v)
		}
	}
	C = []float32{1, 2, 3, 4}
	Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 2, C, 2)
	if C[3] != 8 {
		t.Fatalf("K=0 beta=2: %v", C)
	}
	// Empty outputs do nothing and need no storage.
	Sgemm(false, false, 0, 5, 3, 1, nil, 3, make([]float32, 15), 5, 0, nil, 5)
	Sgemm(true, true, 4, 0, 3, 1, make([]float32, 12), 4, nil, 3, 0, nil, 1)
	// beta == 0 with K > 0 also ignores NaN in C.
	A := []float32{1, 2}
	B := []float32{3, 4}
	C = []float32{float32(math.NaN())}
	Sgemm(false, false, 1, 1, 2, 1, A, 2, B, 1, 0, C, 1)
	if C[0] != 11 {
		t.Fatalf("beta=0 NaN: got %v", C[0])
	}
}

func TestSgemmMisuse(t *testing.T) {
	cases := []struct {
		name string
		f    func()
		msg  string
	}{
		{"shortA", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		}, "len(A)"},
		{"shortBtrans", func() {
			Sgemm(false, true, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 5), 2, 0, make([]float32, 6), 3)
		}, "len(B)"},
		{"shortC", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		}, "len(C)"},
		{"badlda", func() {
			Sgemm(true, false, 3, 2, 2, 1, make([]float32, 6), 2, make([]float32, 4), 2, 0, make([]float32, 6), 2)
		}, "ldA"},
		{"negative", func() { Sgemm(false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) }, "negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				if s, _ := r.(string); !strings.Contains(s, c.msg) {
					t.Fatalf("panic %q does not mention %q", r, c.msg)
				}
			}()
			c.f()
		})
	}
}

// TestSgemmConcurrent issues products from several goroutines at once: small
// ones (single-threaded in OpenBLAS, as the attention kernels use them per
// head) and ones large enough for OpenBLAS's own threads.
func TestSgemmConcurrent(t *testing.T) {
	for _, n := range []int{48, 160} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, uint64(n)))
			A, B := randSlice(r, n*n), randSlice(r, n*n)
			want := refSgemm(false, true, n, n, n, 1, A, n, B, n, 0, nil, n)
			var wg sync.WaitGroup
			errs := make(chan string, 8)
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					C := make([]float32, n*n)
					for it := 0; it < 20; it++ {
						Sgemm(false, true, n, n, n, 1, A, n, B, n, 0, C, n)
						for i := range C {
							if math.Abs(float64(C[i])-want[i]) > 1e-4*(1+math.Abs(want[i])) {
								errs <- fmt.Sprintf("C[%d]=%v want %v", i, C[i], want[i])
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Fatal(e)
			}
		})
	}
}

func TestThreads(t *testing.T) {
	old := Threads()
	defer SetThreads(old)
	SetThreads(1)
	if Backend() == "openblas" && Threads() != 1 {
		t.Fatalf("Threads() = %d after SetThreads(1)", Threads())
	}
	if Threads() < 1 {
		t.Fatalf("Threads() = %d", Threads())
	}
}

func TestMeasureGFLOPS(t *testing.T) {
	g := MeasureGFLOPS(32, time.Millisecond)
	if !(g > 0) || math.IsInf(g, 0) {
		t.Fatalf("MeasureGFLOPS = %v", g)
	}
}
