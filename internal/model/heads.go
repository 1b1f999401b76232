package model

// Head layouts. The QKV projection writes rows (N, 3*inner) with columns
// [q | k | v], each [head 0 | head 1 | ...] of D. The kernels want each head
// contiguous: per-head buffers hold the HS softmax heads as (B*HS, T, D)
// followed by the H-HS linear heads as (B*(H-HS), T, D).

// headOffset is the start of (b, h, t=0) in a per-head buffer of N*H*D.
func headOffset(b, h, B, T, H, HS, D int) int {
	if h < HS {
		return (b*HS + h) * T * D
	}
	return B*T*HS*D + (b*(H-HS)+h-HS)*T*D
}

// splitQKV copies qkv (B*T, 3*H*D) into per-head q, k, v (B*T*H*D each).
func splitQKV(q, k, v, qkv []float32, B, T, H, HS, D int) {
	inner := H * D
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			o := headOffset(b, h, B, T, H, HS, D)
			for t := 0; t < T; t++ {
				row := qkv[(b*T+t)*3*inner : (b*T+t+1)*3*inner]
				d := o + t*D
				copy(q[d:d+D:d+D], row[h*D:h*D+D])
				copy(k[d:d+D:d+D], row[inner+h*D:inner+h*D+D])
				copy(v[d:d+D:d+D], row[2*inner+h*D:2*inner+h*D+D])
			}
		}
	}
}

// mergeQKV is the inverse of splitQKV (used for the gradients); overwrites.
func mergeQKV(qkv, q, k, v []float32, B, T, H, HS, D int) {
	inner := H * D
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			o := headOffset(b, h, B, T, H, HS, D)
			for t := 0; t < T; t++ {
				row := qkv[(b*T+t)*3*inner : (b*T+t+1)*3*inner]
				d := o + t*D
				copy(row[h*D:h*D+D], q[d:d+D])
				copy(row[inner+h*D:inner+h*D+D], k[d:d+D])
				copy(row[2*inner+h*D:2*inner+h*D+D], v[d:d+D])
			}
		}
	}
}

// mergeHeads writes per-head o into rows att (B*T, H*D); overwrites.
func mergeHeads(att, o []float32, B, T, H, HS, D int) {
	inner := H * D
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			off := headOffset(b, h, B, T, H, HS, D)
			for t := 0; t < T; t++ {
				r := (b*T+t)*inner + h*D
				copy(att[r:r+D:r+D], o[off+t*D:off+t*D+D])
			}
		}
	}
}

// splitHeads is the inverse of mergeHeads; overwrites o.
func splitHeads(o, att []float32, B, T, H, HS, D int) {
	inner := H * D
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			off := headOffset(b, h, B, T, H, HS, D)
			for t := 0; t < T; t++ {
				r := (b*T+t)*inner + h*D
				copy(o[off+t*D:off+t*D+D:off+t*D+D], att[r:r+D])
			}
		}
	}
}
