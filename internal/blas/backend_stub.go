package blas

// Backend names the sgemm implementation compiled in.
func Backend() string { return backend }
