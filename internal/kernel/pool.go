package kernel

import "fmt"

// MeanPoolPrefix averages a prefix of each row's positions: for row b of
// inp (B, T, C), out (B, C) = (1/(n_b)) * sum_{t < n_b} inp[b, t], where
// n_b = last[b] + 1 and 0 <= last[b] < T. It is the pooled flow summary a
// classification head reads: every token up to and including <cls>, none
// of the padding after it.
func MeanPoolPrefix(out, inp []float32, last []int32, B, T, C int) {
	need("MeanPoolPrefix", "out", out, B*C)
	need("MeanPoolPrefix", "inp", inp, B*T*C)
	checkLast("MeanPoolPrefix", last, B, T)
	for b := 0; b < B; b++ {
		o := out[b*C : b*C+C : b*C+C]
		clear(o)
		n := int(last[b]) + 1
		for t := 0; t < n; t++ {
			x := inp[(b*T+t)*C : (b*T+t)*C+C : (b*T+t)*C+C]
			for c, v := range x {
				o[c] += v
			}
		}
		inv := 1 / float32(n)
		for c := range o {
			o[c] *= inv
		}
	}
}

// MeanPoolPrefixBackward adds the gradient of MeanPoolPrefix: for t <=
// last[b], dinp[b, t] += dout[b] / (last[b]+1); positions after last[b]
// get nothing.
func MeanPoolPrefixBackward(dinp, dout []float32, last []int32, B, T, C int) {
	need("MeanPoolPrefixBackward", "dout", dout, B*C)
	need("MeanPoolPrefixBackward", "dinp", dinp, B*T*C)
	checkLast("MeanPoolPrefixBackward", last, B, T)
	for b := 0; b < B; b++ {
		g := dout[b*C : b*C+C : b*C+C]
		n := int(last[b]) + 1
		inv := 1 / float32(n)
		for t := 0; t < n; t++ {
			d := dinp[(b*T+t)*C : (b*T+t)*C+C : (b*T+t)*C+C]
			for c, v := range g {
				d[c] += v * inv
			}
		}
	}
}

func checkLast(kernel string, last []int32, B, T int) {
	if len(last) != B {
		panic(fmt.Sprintf("kernel: %s: %d last positions for B=%d", kernel, len(last), B))
	}
	for b, p := range last {
		if p < 0 || int(p) >= T {
			panic(fmt.Sprintf("kernel: %s: last[%d] = %d outside [0, %d)", kernel, b, p, T))
		}
	}
}
