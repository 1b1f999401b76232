package dist

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestSingle(t *testing.T) {
	c := Single()
	if c.Rank() != 0 || c.Size() != 1 {
		t.Fatalf("rank %d size %d", c.Rank(), c.Size())
	}
	x := []float32{1, 2, 3}
	y := []float64{4}
	b := []byte("abc")
	if err := c.AllReduceSum(x); err != nil || x[2] != 3 {
		t.Fatalf("AllReduceSum: %v %v", x, err)
	}
	if err := c.AllReduceSum64(y); err != nil || y[0] != 4 {
		t.Fatalf("AllReduceSum64: %v %v", y, err)
	}
	if got, err := BroadcastBlob(c, b, 0); err != nil || string(got) != "abc" {
		t.Fatalf("BroadcastBlob: %q %v", got, err)
	}
	if err := BroadcastFloats(c, x, 0); err != nil || x[0] != 1 {
		t.Fatalf("BroadcastFloats: %v %v", x, err)
	}
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLaunched(t *testing.T) {
	vars := []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}
	for _, tc := range []struct {
		env  map[string]string
		ok   bool
		size int
	}{
		{nil, false, 0},
		{map[string]string{"OMPI_COMM_WORLD_SIZE": "4"}, true, 4},
		{map[string]string{"PMI_SIZE": "2"}, true, 2},
		{map[string]string{"PMIX_RANK": "0"}, true, 0},
	} {
		for _, k := range vars {
			t.Setenv(k, tc.env[k])
		}
		ok, n := Launched()
		if ok != tc.ok || n != tc.size {
			t.Errorf("env %v: Launched() = %v, %d; want %v, %d", tc.env, ok, n, tc.ok, tc.size)
		}
	}
	// Outside a launcher Open is the single-process Comm, with or without MPI.
	for _, k := range vars {
		t.Setenv(k, "")
	}
	c, err := Open()
	if err != nil || c.Size() != 1 {
		t.Fatalf("Open outside a launcher: %v, %v", c, err)
	}
	if !HaveMPI {
		t.Setenv("OMPI_COMM_WORLD_SIZE", "2")
		if _, err := Open(); err == nil {
			t.Fatal("Open under a 2-rank launcher without MPI: no error")
		}
	}
}

// MPIRun builds this package's tests with -tags mpi and runs test under
// mpirun with np ranks, returning the combined output. It skips when mpirun
// is not installed.
func mpiRun(t *testing.T, np int, test string, env ...string) string {
	t.Helper()
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("mpirun not installed (apt-get install libopenmpi-dev openmpi-bin): MPI test skipped")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	bin := filepath.Join(t.TempDir(), "dist.test")
	build := exec.Command(goBin, "test", "-c", "-tags", "mpi", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c -tags mpi: %v\n%s", err, out)
	}
	cmd := exec.Command(mpirun, append(MPIRunFlags(np), bin, "-test.run", "^"+test+"$", "-test.v")...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("mpirun: %v\n%s", err, out.String())
	}
	return out.String()
}

func TestMPI(t *testing.T) {
	out := mpiRun(t, 2, "TestMPIWorker", "TGPT_DIST_WORKER=1")
	if strings.Count(out, "--- PASS: TestMPIWorker") != 2 {
		t.Fatalf("want two passing ranks:\n%s", out)
	}
}

// TestMPIWorker runs on every rank under mpirun (TestMPI starts it).
func TestMPIWorker(t *testing.T) {
	if os.Getenv("TGPT_DIST_WORKER") == "" {
		t.Skip("runs under mpirun from TestMPI")
	}
	c, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, p := c.Rank(), c.Size()
	if p != 2 {
		t.Fatalf("size %d, want 2", p)
	}
	// More than two buckets, ending in a partial one.
	x := make([]float32, 2*BucketFloats+123)
	for i := range x {
		x[i] = float32(i%1000) + float32(r)*0.5
	}
	if err := c.AllReduceSum(x); err != nil {
		t.Fatal(err)
	}
	for i, v := range x {
		if want := 2*float32(i%1000) + 0.5; v != want {
			t.Fatalf("rank %d: x[%d] = %g, want %g", r, i, v, want)
		}
	}
	y := []float64{float64(r), 1}
	if err := c.AllReduceSum64(y); err != nil || y[0] != 1 || y[1] != 2 {
		t.Fatalf("rank %d: AllReduceSum64 %v %v", r, y, err)
	}
	var blob []byte
	if r == 1 {
		blob = []byte("from rank one")
	}
	got, err := BroadcastBlob(c, blob, 1)
	if err != nil || string(got) != "from rank one" {
		t.Fatalf("rank %d: BroadcastBlob %q %v", r, got, err)
	}
	w := []float32{float32(r), float32(r) + 1}
	if err := BroadcastFloats(c, w, 0); err != nil || w[0] != 0 || w[1] != 1 {
		t.Fatalf("rank %d: BroadcastFloats %v %v", r, w, err)
	}
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
}
