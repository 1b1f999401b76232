//go:build purego || !cgo

package blas

const backend = "purego (gonum)"
