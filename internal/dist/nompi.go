//go:build !mpi

package dist

// HaveMPI reports whether the binary was built with the mpi tag.
const HaveMPI = false

func openMPI() (Comm, error) { return nil, ErrNoMPI }
