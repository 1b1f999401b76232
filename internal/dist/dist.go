package dist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"unsafe"
)

// Comm is a communicator over the ranks of one job (see the package doc).
type Comm interface {
	Rank() int
	Size() int
	AllReduceSum(x []float32) error
	AllReduceSum64(x []float64) error
	Broadcast(b []byte, root int) error
	Barrier() error
	Close() error
	Abort(code int)
}

// BucketFloats is the number of float32 sent per MPI_Allreduce call (4 MiB):
// large enough that the per-call latency is small against the transfer,
// small enough that the MPI library's temporary buffers stay small.
const BucketFloats = 1 << 20

// ErrNoMPI is returned by Open when the process was started by an MPI
// launcher with several ranks but the binary was built without MPI.
var ErrNoMPI = errors.New("dist: started by an MPI launcher, but this binary was built without MPI (rebuild with: go build -tags mpi)")

// Launched reports whether an MPI launcher started this process, and the
// job size it announced (0 when unknown): OMPI_COMM_WORLD_SIZE (Open MPI's
// mpirun and the MPI Operator), PMI_SIZE (srun --mpi=pmi2, MPICH's hydra),
// PMIX_RANK (srun --mpi=pmix, which sets no size variable).
func Launched() (bool, int) {
	for _, k := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"} {
		if v := os.Getenv(k); v != "" {
			n, _ := strconv.Atoi(v)
			return true, n
		}
	}
	if os.Getenv("PMIX_RANK") != "" {
		return true, 0
	}
	return false, 0
}

// Open returns the job's Comm: MPI under a launcher when built with -tags
// mpi, else Single().
func Open() (Comm, error) {
	if ok, n := Launched(); ok {
		if HaveMPI {
			return openMPI()
		}
		if n > 1 {
			return nil, fmt.Errorf("%w (job size %d)", ErrNoMPI, n)
		}
	}
	return Single(), nil
}

type single struct{}

// Single is the Comm of a job of one process: reductions and broadcasts
// leave their arguments unchanged.
func Single() Comm { return single{} }

func (single) Rank() int                      { return 0 }
func (single) Size() int                      { return 1 }
func (single) AllReduceSum([]float32) error   { return nil }
func (single) AllReduceSum64([]float64) error { return nil }
func (single) Broadcast([]byte, int) error    { return nil }
func (single) Barrier() error                 { return nil }
func (single) Close() error                   { return nil }
func (single) Abort(code int)                 { os.Exit(code) }

// BroadcastBlob returns root's b on every rank (b is ignored elsewhere):
// the length goes first, then the bytes.
func BroadcastBlob(c Comm, b []byte, root int) ([]byte, error) {
	if c.Size() == 1 {
		return b, nil
	}
	var n [8]byte
	if c.Rank() == root {
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
	}
	if err := c.Broadcast(n[:], root); err != nil {
		return nil, err
	}
	size := binary.LittleEndian.Uint64(n[:])
	if c.Rank() != root {
		b = make([]byte, size)
	}
	if err := broadcastChunks(c, b, root); err != nil {
		return nil, err
	}
	return b, nil
}

// BroadcastFloats overwrites x with root's x (same length on every rank).
func BroadcastFloats(c Comm, x []float32, root int) error {
	if c.Size() == 1 || len(x) == 0 {
		return nil
	}
	return broadcastChunks(c, unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x)), root)
}

// broadcastChunks keeps each MPI count below 2^31 (MPI counts are C int).
func broadcastChunks(c Comm, b []byte, root int) error {
	const chunk = 1 << 28
	for len(b) > 0 {
		n := min(len(b), chunk)
		if err := c.Broadcast(b[:n:n], root); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// MPIRunFlags are mpirun's flags for np ranks on this machine in tests and
// measurements: root allowed (containers, CI) and more ranks than cores.
func MPIRunFlags(np int) []string {
	return []string{"--allow-run-as-root", "--oversubscribe", "-np", strconv.Itoa(np)}
}
