package model

import (
	"time"

	"github.com/trafficgpt/trafficgpt/internal/blas"
)

// The model's matrix products run on one process-wide backend (package
// blas). These are the application's view of it: what the CLI reports and
// sets, without importing the compute packages below the model.

// Backend names the matrix-product backend ("openblas-openmp", "purego", ...).
func Backend() string { return blas.Backend() }

// Threads is the number of threads one matrix product uses.
func Threads() int { return blas.Threads() }

// SetThreads sets the threads of every later matrix product in the process
// (n < 1: left as is). It is the application's decision (the CLI's
// --threads), never a library's: call it before any model work starts.
func SetThreads(n int) {
	if n > 0 {
		blas.SetThreads(n)
	}
}

// MeasureGFLOPS is the rate of n x n x n matrix products on this machine
// now, measured for at least dur: the reference that training throughput
// is reported against.
func MeasureGFLOPS(n int, dur time.Duration) float64 { return blas.MeasureGFLOPS(n, dur) }
