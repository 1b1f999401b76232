//go:build mpi

package dist

/*
// Debian's MPI alternative (libopenmpi-dev or libmpich-dev) without
// pkg-config; elsewhere add the MPI compiler wrapper's flags:
// CGO_CFLAGS="$(mpicc --showme:compile)" CGO_LDFLAGS="$(mpicc --showme:link)"
// (Open MPI; MPICH: mpicc -compile_info / -link_info).
#cgo CFLAGS: -I/usr/include/x86_64-linux-gnu/mpi
#cgo LDFLAGS: -lmpi
#include <mpi.h>
#include <stdlib.h>

// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, ...) are macros over
// addresses of library globals, which cgo cannot name: wrap them.
static int tg_init(int *provided) {
	int inited = 0;
	MPI_Initialized(&inited);
	if (inited) { MPI_Query_thread(provided); return MPI_SUCCESS; }
	// Errors come back as codes instead of aborting inside the library.
	int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
	if (rc == MPI_SUCCESS) MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	return rc;
}
static int tg_rank(int *r) { return MPI_Comm_rank(MPI_COMM_WORLD, r); }
static int tg_size(int *s) { return MPI_Comm_size(MPI_COMM_WORLD, s); }
static int tg_allreduce_float(float *x, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static int tg_allreduce_double(double *x, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static int tg_bcast(void *b, int n, int root) {
	return MPI_Bcast(b, n, MPI_BYTE, root, MPI_COMM_WORLD);
}
static int tg_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static int tg_finalize(void) { return MPI_Finalize(); }
static void tg_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }
static void tg_error_string(int code, char *buf, int cap) {
	int n = 0;
	if (MPI_Error_string(code, buf, &n) != MPI_SUCCESS || n >= cap) n = 0;
	buf[n] = 0;
}
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// HaveMPI reports whether the binary was built with the mpi tag.
const HaveMPI = true

// mpiComm is MPI_COMM_WORLD. The mutex serialises calls (MPI is
// initialised with MPI_THREAD_SERIALIZED and Go may call from any thread).
type mpiComm struct {
	mu         sync.Mutex
	rank, size int
	closed     bool
}

func openMPI() (Comm, error) {
	var provided C.int
	if rc := C.tg_init(&provided); rc != C.MPI_SUCCESS {
		return nil, mpiErr("MPI_Init_thread", rc)
	}
	if provided < C.MPI_THREAD_SERIALIZED {
		return nil, fmt.Errorf("dist: MPI provides thread level %d, need MPI_THREAD_SERIALIZED", int(provided))
	}
	var r, s C.int
	if rc := C.tg_rank(&r); rc != C.MPI_SUCCESS {
		return nil, mpiErr("MPI_Comm_rank", rc)
	}
	if rc := C.tg_size(&s); rc != C.MPI_SUCCESS {
		return nil, mpiErr("MPI_Comm_size", rc)
	}
	return &mpiComm{rank: int(r), size: int(s)}, nil
}

func mpiErr(call string, rc C.int) error {
	var buf [512]C.char
	C.tg_error_string(rc, &buf[0], C.int(len(buf)))
	return fmt.Errorf("dist: %s: %s (code %d)", call, C.GoString(&buf[0]), int(rc))
}

func (c *mpiComm) Rank() int { return c.rank }
func (c *mpiComm) Size() int { return c.size }

func (c *mpiComm) AllReduceSum(x []float32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(x) > 0 {
		n := min(len(x), BucketFloats)
		if rc := C.tg_allreduce_float((*C.float)(unsafe.Pointer(&x[0])), C.int(n)); rc != C.MPI_SUCCESS {
			return mpiErr("MPI_Allreduce", rc)
		}
		x = x[n:]
	}
	return nil
}

func (c *mpiComm) AllReduceSum64(x []float64) error {
	if len(x) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc := C.tg_allreduce_double((*C.double)(unsafe.Pointer(&x[0])), C.int(len(x))); rc != C.MPI_SUCCESS {
		return mpiErr("MPI_Allreduce", rc)
	}
	return nil
}

func (c *mpiComm) Broadcast(b []byte, root int) error {
	if len(b) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc := C.tg_bcast(unsafe.Pointer(&b[0]), C.int(len(b)), C.int(root)); rc != C.MPI_SUCCESS {
		return mpiErr("MPI_Bcast", rc)
	}
	return nil
}

func (c *mpiComm) Barrier() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc := C.tg_barrier(); rc != C.MPI_SUCCESS {
		return mpiErr("MPI_Barrier", rc)
	}
	return nil
}

func (c *mpiComm) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if rc := C.tg_finalize(); rc != C.MPI_SUCCESS {
		return mpiErr("MPI_Finalize", rc)
	}
	return nil
}

func (c *mpiComm) Abort(code int) { C.tg_abort(C.int(code)) }
