package dist

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMPIAllReduceTiming measures AllReduceSum of gradient slabs with 2 ranks
// under mpirun (Go benchmarks cannot run under mpirun: b.N would differ per
// rank). Run it explicitly:
//
//	TGPT_DIST_TIMING=3800000,88500000 go test -run TestMPIAllReduceTiming -v ./internal/dist
//
// The sizes are float32 counts (the small and paper presets' parameter
// counts by default).
func TestMPIAllReduceTiming(t *testing.T) {
	sizes := os.Getenv("TGPT_DIST_TIMING")
	if sizes == "" {
		t.Skip("set TGPT_DIST_TIMING=n1,n2 (float counts) to measure all-reduce times under mpirun")
	}
	np := 2
	if s := os.Getenv("TGPT_DIST_NP"); s != "" {
		np, _ = strconv.Atoi(s)
	}
	out := mpiRun(t, np, "TestMPITimingWorker", "TGPT_DIST_WORKER="+sizes)
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "allreduce") {
			t.Log(strings.TrimSpace(l))
		}
	}
}

// TestMPITimingWorker is TestMPIAllReduceTiming's rank.
func TestMPITimingWorker(t *testing.T) {
	env := os.Getenv("TGPT_DIST_WORKER")
	if env == "" || env == "1" {
		t.Skip("runs under mpirun from TestMPIAllReduceTiming")
	}
	c, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = 1e-3
		}
		iters := max(3, min(50, 400_000_000/max(n, 1)))
		for i := 0; i < 2; i++ { // warm-up: page faults, connection setup
			c.AllReduceSum(x)
		}
		c.Barrier()
		t0 := time.Now()
		for i := 0; i < iters; i++ {
			if err := c.AllReduceSum(x); err != nil {
				t.Fatal(err)
			}
		}
		dt := time.Since(t0).Seconds() / float64(iters)
		if c.Rank() == 0 {
			fmt.Printf("allreduce ranks %d floats %d (%.1f MB): %.2f ms per call, %.2f GB/s algorithm bandwidth (bytes/time), %d iterations, bucket %d floats\n",
				c.Size(), n, float64(4*n)/1e6, dt*1e3, float64(4*n)/dt/1e9, iters, BucketFloats)
		}
	}
}
