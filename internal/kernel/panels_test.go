package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func packed(w []float32, OC, C int) []float32 {
	p := make([]float32, PanelsLen(OC, C))
	PackPanels(p, w, OC, C)
	return p
}

// TestPackPanels: every weight lands at its place in the panel layout and
// the padding of the last panel is zero.
func TestPackPanels(t *testing.T) {
	const OC, C = 37, 5
	w := make([]float32, OC*C)
	for i := range w {
		w[i] = float32(i + 1)
	}
	p := packed(w, OC, C)
	if len(p) != 2*PanelWidth*C {
		t.Fatalf("PanelsLen(%d, %d) = %d", OC, C, len(p))
	}
	for i, v := range p {
		panel, c, j := i/(PanelWidth*C), i%(PanelWidth*C)/PanelWidth, i%PanelWidth
		o := panel*PanelWidth + j
		want := float32(0)
		if o < OC {
			want = w[o*C+c]
		}
		if v != want {
			t.Fatalf("panel %d column %d lane %d: %g, want %g", panel, c, j, v, want)
		}
	}
}

// TestMatmulPanels checks every CPU path this machine has against the
// float64 reference (products summed in column order, as BLAS kernels sum
// along k: the error grows with C, hence 1e-4), with and without bias, at shapes with partial panels
// and odd row counts.
func TestMatmulPanels(t *testing.T) {
	defer panelMatmulUse(0)
	ran := 0
	for path := 1; path <= 3; path++ {
		name := panelMatmulUse(path)
		if name == "" {
			continue
		}
		ran++
		for _, s := range []struct{ N, C, OC int }{{1, 7, 5}, {8, 256, 257}, {16, 33, 47}, {5, 1040, 64}, {3, 256, 1024}, {9, 64, 32}} {
			r := rand.New(rand.NewPCG(uint64(s.N), uint64(s.C)))
			inp, w, b := kRand32(r, s.N*s.C), kRand32(r, s.OC*s.C), kRand32(r, s.OC)
			p := packed(w, s.OC, s.C)
			for _, bias := range [][]float32{b, nil} {
				out := kRand32(r, s.N*s.OC)
				MatmulPanels(out, inp, p, bias, s.N, s.C, s.OC)
				var b64 []float64
				if bias != nil {
					b64 = k64(bias)
				}
				kClose(t, fmt.Sprintf("%s N%d C%d OC%d bias %v", name, s.N, s.C, s.OC, bias != nil), out,
					refMatmul(k64(inp), k64(w), b64, s.N, s.C, s.OC), 1e-4, 1e-4)
			}
		}
		t.Logf("panel path %s: ok", name)
	}
	if ran == 0 {
		t.Fatal("no panel path ran")
	}
}

// TestMatmulPanelsRows: a row's outputs are bitwise the same whatever the
// batch (N = 1, 3, 8, 16) and with the product on one goroutine, as a
// sampling row's tokens must not depend on the rows beside it.
func TestMatmulPanelsRows(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const C, OC = 200, 300
	inp, w, b := kRand32(r, 16*C), kRand32(r, OC*C), kRand32(r, OC)
	p := packed(w, OC, C)
	full := make([]float32, 16*OC)
	MatmulPanels(full, inp, p, b, 16, C, OC)
	for _, N := range []int{1, 3, 8} {
		part := make([]float32, N*OC)
		MatmulPanels(part, inp[:N*C], p, b, N, C, OC)
		for n := 0; n < N; n++ {
			kEqual(t, fmt.Sprintf("N=%d row %d", N, n), part[n*OC:(n+1)*OC], full[n*OC:(n+1)*OC])
		}
	}
	serial := make([]float32, len(full))
	kSerial(func() { MatmulPanels(serial, inp, p, b, 16, C, OC) })
	kEqual(t, "serial", serial, full)
}
