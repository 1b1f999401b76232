package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestAttnStepPathsAgree: the AVX2 attention step gives bitwise the v16
// path's outputs (the same fused products in the same order, the lanes
// summed in TG_HSUM16's tree), so a sampled flow does not depend on which
// of the two a machine takes. Runs where the machine has both.
func TestAttnStepPathsAgree(t *testing.T) {
	defer attnStepUse(0)
	if attnStepUse(2) == "" || attnStepUse(1) == "" {
		t.Skip("one attention step path on this machine")
	}
	for _, c := range []struct{ n, D int }{{1, 64}, {7, 64}, {64, 64}, {130, 64}, {257, 64}, {70, 32}, {33, 17}} {
		r := rand.New(rand.NewPCG(uint64(c.n), uint64(c.D)))
		q, K, V := vecInputs(r, c.D, 2, nil), vecInputs(r, c.n*c.D, 2, nil), vecInputs(r, c.n*c.D, 1, nil)
		got := map[string][]float32{}
		for _, p := range []int{1, 2} {
			name := attnStepUse(p)
			out := make([]float32, c.D)
			attnStep(out, K, V, c.n, q, c.D, 0.125)
			got[name] = out
		}
		kEqual(t, fmt.Sprintf("n %d D %d: avx2 vs v16", c.n, c.D), got["avx2"], got["v16"])
	}
}

// TestMatmulPanelsPathsAgree: the AVX2 and AVX-512 panel products give
// bitwise the same outputs (fused products in column order on both).
// Runs where the machine has both.
func TestMatmulPanelsPathsAgree(t *testing.T) {
	defer panelMatmulUse(0)
	if panelMatmulUse(2) == "" || panelMatmulUse(3) == "" {
		t.Skip("no AVX-512 panel path on this machine")
	}
	for _, s := range []struct{ N, C, OC int }{{1, 256, 1024}, {3, 64, 100}, {8, 256, 257}, {5, 1040, 64}} {
		r := rand.New(rand.NewPCG(uint64(s.N), uint64(s.C)))
		inp, w, b := kRand32(r, s.N*s.C), kRand32(r, s.OC*s.C), kRand32(r, s.OC)
		p := packed(w, s.OC, s.C)
		var outs [2][]float32
		for i, path := range []int{2, 3} {
			panelMatmulUse(path)
			outs[i] = make([]float32, s.N*s.OC)
			MatmulPanels(outs[i], inp, p, b, s.N, s.C, s.OC)
		}
		kEqual(t, fmt.Sprintf("N%d C%d OC%d: avx2 vs avx512", s.N, s.C, s.OC), outs[0], outs[1])
	}
}
