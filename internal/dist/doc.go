// Package dist is the communication layer of data-parallel training: a
// Comm over the processes of one job, backed by MPI when the binary is built
// with the "mpi" build tag and started by an MPI launcher (mpirun, srun,
// the Kubernetes MPI Operator), and by a single-process stand-in otherwise.
// We do not implement a cluster protocol: MPI does the transport, placement
// and fault handling (a failed rank ends the job).
//
// # Comm
//
//	Rank() int, Size() int          this process's index in [0, Size)
//	AllReduceSum(x []float32) error in place: x = sum over ranks; x has the
//	                                same length on every rank; sent in
//	                                buckets of BucketFloats (4 MiB)
//	AllReduceSum64(x []float64)     the same for float64 scalars (losses,
//	                                counts, flags); one call
//	Broadcast(b []byte, root) error in place: every rank gets root's b; b
//	                                has the same length on every rank
//	Barrier() error
//	Close() error                   MPI_Finalize (collective: call it on
//	                                every rank after the last collective)
//	Abort(code int)                 MPI_Abort: ends every rank of the job;
//	                                for errors on one rank (the others would
//	                                wait forever in the next collective)
//
// Every rank must make the same sequence of collective calls with the same
// lengths; a mismatch is an MPI error or a hang, not something Comm detects.
// Collectives of one Comm are serialised by a mutex (any goroutine may call,
// MPI is initialised with at least MPI_THREAD_SERIALIZED).
//
// Helpers over any Comm: BroadcastBlob (a byte slice whose length only
// root knows), BroadcastFloats (a float32 slab, e.g. initial weights).
// MPIRunFlags are the mpirun flags the tests use (root, oversubscription).
// TestMPIAllReduceTiming (opt-in, see bench_test.go) times all-reduces of
// gradient slabs under mpirun.
//
// # Choosing the implementation
//
// Open returns the MPI Comm when built with -tags mpi and Launched reports
// an MPI launcher in the environment (OMPI_COMM_WORLD_SIZE from Open MPI's
// mpirun, PMI_SIZE or PMIX_RANK from Slurm's srun and other PMI launchers);
// otherwise Single(), so the same binary runs alone without MPI_Init. Built
// without the tag, Open returns Single() and an error if Launched is true
// with a size above 1 (N copies of a single-process trainer would each
// train alone and overwrite each other's checkpoints).
//
// The MPI binding is cgo against the MPI C API (Debian's libopenmpi-dev:
// /usr/include/x86_64-linux-gnu/mpi, -lmpi; other installations pass their
// flags in CGO_CFLAGS/CGO_LDFLAGS, see docs/distributed.md); MPI_Allreduce with MPI_FLOAT or MPI_DOUBLE and MPI_SUM,
// MPI_IN_PLACE, on MPI_COMM_WORLD.
package dist
