package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/trafficgpt/trafficgpt/internal/dist"
)

// runPretrainDist runs pretrain on every rank of an MPI job (built with
// -tags mpi, started by mpirun or srun) or alone. Rank 0 alone prints and
// writes the model directory; an error on any rank ends the whole job
// (MPI_Abort), since the other ranks would wait for it forever.
func runPretrainDist(ctx context.Context, o pretrainOptions, stdout, stderr io.Writer) error {
	comm, err := dist.Open()
	if err != nil {
		return err
	}
	if comm.Size() == 1 {
		return runPretrain(ctx, o, stdout, stderr)
	}
	o.comm = comm
	out, errw := stdout, stderr
	if comm.Rank() != 0 {
		out, errw = io.Discard, io.Discard
	}
	err = runPretrain(ctx, o, out, errw)
	// A cancellation is agreed by all ranks at a step boundary (train's
	// stopCheck): every rank returns it and Close is safe.
	if err != nil && !errors.Is(err, context.Canceled) {
		code := exitCode(stderr, fmt.Sprintf("pretrain (rank %d of %d)", comm.Rank(), comm.Size()), err)
		comm.Abort(code)
	}
	if cerr := comm.Close(); err == nil {
		err = cerr
	}
	return err
}

func isRoot(c dist.Comm) bool { return c == nil || c.Rank() == 0 }
