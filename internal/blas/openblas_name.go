//go:build cgo && !purego

package blas

const backend = "openblas"
