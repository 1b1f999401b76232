package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// ParamInfo locates one tensor in the parameter (and gradient) slab.
type ParamInfo struct {
	Name   string
	Offset int   // first float in Params() / Grads()
	Size   int   // product of Shape
	Shape  []int // row-major
	Decay  bool  // weight decay applies (matrices and embeddings; not norms or biases)
}

// layerParams are views into the slab for one layer.
type layerParams struct {
	ln1w, ln1b   []float32 // (C)
	qkvw, qkvb   []float32 // (3*inner, C), (3*inner)
	outw, outb   []float32 // (C, inner), (C)
	gatew        []float32 // retention: (HL*D, C) swish gate; else nil
	tdecay       []float32 // rwkv: (HL, D) time_decay; else nil
	tfirst       []float32 // rwkv: (HL, D) time_first; else nil
	ln2w, ln2b   []float32 // (C)
	fcw, fcb     []float32 // (FFN, C), (FFN)
	projw, projb []float32 // (C, FFN), (C)
}

// weights are views into one slab (parameters or gradients) by role.
type weights struct {
	wte    []float32 // (V, C)
	layers []layerParams
	lnfw   []float32 // (C)
	lnfb   []float32 // (C)
	lmHead []float32 // (V, C); aliases wte when tied
	clsw   []float32 // (Classes, C), nil without a classifier
	clsb   []float32 // (Classes)
}

// paramLayout lists every tensor in slab order. The order is the checkpoint
// order and the optimizer's order; it never depends on the context length.
func paramLayout(c Config) []ParamInfo {
	var out []ParamInfo
	off := 0
	add := func(name string, decay bool, shape ...int) {
		n := 1
		for _, s := range shape {
			n *= s
		}
		out = append(out, ParamInfo{Name: name, Offset: off, Size: n, Shape: shape, Decay: decay})
		off += n
	}
	C, inner := c.Width, c.Inner()
	add("wte", true, c.Vocab, C)
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("layers.%d.", l)
		add(p+"attn.norm.weight", false, C)
		add(p+"attn.norm.bias", false, C)
		add(p+"attn.qkv.weight", true, 3*inner, C)
		add(p+"attn.qkv.bias", false, 3*inner)
		add(p+"attn.out.weight", true, C, inner)
		add(p+"attn.out.bias", false, C)
		switch HL := c.linearHeads(); {
		case HL > 0 && c.Attention == AttentionRetention:
			add(p+"attn.gate.weight", true, HL*c.HeadDim, C)
		case HL > 0 && c.Attention == AttentionRWKV:
			add(p+"attn.time_decay", false, HL, c.HeadDim)
			add(p+"attn.time_first", false, HL, c.HeadDim)
		}
		add(p+"ffn.norm.weight", false, C)
		add(p+"ffn.norm.bias", false, C)
		add(p+"ffn.fc.weight", true, c.FFN, C)
		add(p+"ffn.fc.bias", false, c.FFN)
		add(p+"ffn.proj.weight", true, C, c.FFN)
		add(p+"ffn.proj.bias", false, C)
	}
	add("norm.weight", false, C)
	add("norm.bias", false, C)
	if !c.TiedEmbedding {
		add("lm_head.weight", true, c.Vocab, C)
	}
	if c.Classes > 0 {
		add("cls.weight", true, c.Classes, C)
		add("cls.bias", false, c.Classes)
	}
	return out
}

// bind makes role views into slab following layout.
func bind(c Config, layout []ParamInfo, slab []float32) weights {
	i := 0
	next := func() []float32 {
		p := layout[i]
		i++
		return slab[p.Offset : p.Offset+p.Size : p.Offset+p.Size]
	}
	var w weights
	w.wte = next()
	w.layers = make([]layerParams, c.Layers)
	for l := range w.layers {
		lp := &w.layers[l]
		lp.ln1w, lp.ln1b = next(), next()
		lp.qkvw, lp.qkvb = next(), next()
		lp.outw, lp.outb = next(), next()
		if c.linearHeads() > 0 {
			switch c.Attention {
			case AttentionRetention:
				lp.gatew = next()
			case AttentionRWKV:
				lp.tdecay, lp.tfirst = next(), next()
			}
		}
		lp.ln2w, lp.ln2b = next(), next()
		lp.fcw, lp.fcb = next(), next()
		lp.projw, lp.projb = next(), next()
	}
	w.lnfw, w.lnfb = next(), next()
	w.lmHead = w.wte
	if !c.TiedEmbedding {
		w.lmHead = next()
	}
	if c.Classes > 0 {
		w.clsw, w.clsb = next(), next()
	}
	return w
}

// initParams fills the slab: normal(0, 0.02) matrices and embeddings, the
// residual output projections scaled by 1/sqrt(2*Layers) (GPT-2), norms 1,
// biases 0. Each tensor draws from its own stream seeded by (seed, index), so
// adding a classifier does not change the trunk's initial values.
func initParams(c Config, layout []ParamInfo, slab []float32, seed uint64) {
	resid := 0.02 / math.Sqrt(2*float64(c.Layers))
	for i, p := range layout {
		initTensor(c, p, slab[p.Offset:p.Offset+p.Size], seed, uint64(i), resid)
	}
}

func initTensor(c Config, p ParamInfo, x []float32, seed, index uint64, resid float64) {
	switch {
	case hasSuffix(p.Name, "norm.weight"):
		for i := range x {
			x[i] = 1
		}
	case hasSuffix(p.Name, "attn.time_decay"), hasSuffix(p.Name, "attn.time_first"):
		rwkvInit(c, p, x)
	case !p.Decay:
		clear(x)
	default:
		std := 0.02
		if hasSuffix(p.Name, "attn.out.weight") || hasSuffix(p.Name, "ffn.proj.weight") {
			std = resid
		}
		r := rand.New(rand.NewPCG(seed, splitmix(index^0x9e3779b97f4a7c15)))
		for i := range x {
			x[i] = float32(r.NormFloat64() * std)
		}
	}
}

// rwkvInit is RWKV-4's initialisation over the n = HL*D channels of layer
// l: time_decay[i] = -5 + 8 (i/(n-1))^(0.7 + 1.3 l/(L-1)) (decay rates
// from slow to fast, steeper in later layers), time_first[i] = log(0.3) +
// 0.5 ((i+1)%3 - 1) (a zigzag).
func rwkvInit(c Config, p ParamInfo, x []float32) {
	var l int
	fmt.Sscanf(p.Name, "layers.%d.", &l)
	ratio := 0.0
	if c.Layers > 1 {
		ratio = float64(l) / float64(c.Layers-1)
	}
	n := len(x)
	for i := range x {
		if hasSuffix(p.Name, "time_first") {
			x[i] = float32(math.Log(0.3) + 0.5*float64((i+1)%3-1))
			continue
		}
		f := 0.0
		if n > 1 {
			f = float64(i) / float64(n-1)
		}
		x[i] = float32(-5 + 8*math.Pow(f, 0.7+1.3*ratio))
	}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// splitmix is SplitMix64's finaliser: a cheap, well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
