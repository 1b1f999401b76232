//go:build !cgo || purego

package kernel

// Without cgo the panel product is a plain loop in the order of
// matmul_panels.c's generic path: each output's products added in column
// order, without fusing (float32 of each product).

func panelMatmulUse(path int) string {
	if path <= 1 {
		return "go"
	}
	return ""
}

func packPanels(dst, weight []float32, OC, C int) {
	np := (OC + PanelWidth - 1) / PanelWidth
	for p := 0; p < np; p++ {
		pp := dst[p*PanelWidth*C : (p+1)*PanelWidth*C : (p+1)*PanelWidth*C]
		for j := 0; j < PanelWidth; j++ {
			o := p*PanelWidth + j
			for c := 0; c < C; c++ {
				v := float32(0)
				if o < OC {
					v = weight[o*C+c]
				}
				pp[c*PanelWidth+j] = v
			}
		}
	}
}

func panelMatmulSpan(out, inp, panels, bias []float32, N, C, OC, p0, p1 int) {
	for n := 0; n < N; n++ {
		x := inp[n*C : n*C+C : n*C+C]
		for p := p0; p < p1; p++ {
			pp := panels[p*PanelWidth*C : (p+1)*PanelWidth*C : (p+1)*PanelWidth*C]
			for j := 0; j < PanelWidth && p*PanelWidth+j < OC; j++ {
				o := p*PanelWidth + j
				s := float32(0)
				for c := 0; c < C; c++ {
					s += float32(x[c] * pp[c*PanelWidth+j])
				}
				if bias != nil {
					s = bias[o] + s
				}
				out[n*OC+o] = s
			}
		}
	}
}
