package kernel

import "runtime"

// PanelWidth is the number of outputs per panel of the panel layout
// (PackPanels, MatmulPanels).
const PanelWidth = 32

// PanelsLen is the length of weight (OC, C) in the panel layout: whole
// panels of PanelWidth outputs, the last padded with zeros.
func PanelsLen(OC, C int) int { return (OC + PanelWidth - 1) / PanelWidth * PanelWidth * C }

// PackPanels writes weight (OC, C) (MatmulForward's layout: one row of C per
// output) into dst (PanelsLen(OC, C)) in the panel layout: panel p holds,
// for c = 0..C-1 in turn, the PanelWidth weights weight[p*PanelWidth+j][c]
// (0 past OC), so a pass over a panel reads it front to back.
func PackPanels(dst, weight []float32, OC, C int) {
	const k = "PackPanels"
	need(k, "dst", dst, PanelsLen(OC, C))
	need(k, "weight", weight, OC*C)
	packPanels(dst, weight, OC, C)
}

// MatmulPanels is MatmulForward for few rows (a sampling step's batch) with
// the weights in the panel layout: out (N, OC) = inp (N, C) @ weight^T +
// bias (OC; nil: none), panels = PackPanels(weight). Each output is bias +
// the products added in column order (fused on the AVX paths), so a row's
// result does not depend on N or the other rows (TestMatmulPanelsRows);
// the panels are split over the cores when the product is large enough.
// Eight rows cost about what two do: the panel form has no lane sums and
// loads a third as often as it multiplies (BenchmarkMatmulPanels).
func MatmulPanels(out, inp, panels, bias []float32, N, C, OC int) {
	const k = "MatmulPanels"
	need(k, "out", out, N*OC)
	need(k, "inp", inp, N*C)
	need(k, "panels", panels, PanelsLen(OC, C))
	if bias != nil {
		need(k, "bias", bias, OC)
	}
	np := (OC + PanelWidth - 1) / PanelWidth
	nw := runtime.GOMAXPROCS(0)
	if N == 1 || N*C*OC < smallMatmulParMin || np < 2 || nw < 2 {
		panelMatmulSpan(out, inp, panels, bias, N, C, OC, 0, np)
		return
	}
	a := rowArgs{out: out, inp: inp, w: panels, b: bias, N: N, C: C, OC: OC}
	rowRun(&a, np, 1, nw, func(a *rowArgs, lo, hi int) {
		panelMatmulSpan(a.out, a.inp, a.w, a.b, a.N, a.C, a.OC, lo, hi)
	})
}
