// Package devdata locates the shared development captures (dev-v1) for the
// extended tests, and is imported by tests only (the import-rule test
// checks that).
//
// The data lives outside the repository, in ../shared/data/dev-v1 beside
// the module root (or where TRAFFICGPT_DEVDATA points). The core of every
// package is tested on fixtures inside the repository (testdata/ and
// captures the tests build); tests on dev-v1 are extended checks. When the
// data is missing they skip, except when the environment variable CI is
// set: then a missing file is a failure, so that CI cannot pass by
// silently skipping its extended checks (.ci/run sets CI only when the
// clone has ../shared beside it). LookPath applies the same rule to the
// external programs such checks run (tshark): .ci/run installs them.
//
// Paths are relative to the test's working directory (its package folder)
// and resolved by the operating system, as `test -d ../shared` in .ci/run
// is, so both agree even when the clone is reached through a symlink.
package devdata

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// EnvDir overrides where the data is looked for.
const EnvDir = "TRAFFICGPT_DEVDATA"

// Dir returns the dev-v1 folder: $TRAFFICGPT_DEVDATA if set, else
// ../shared/data/dev-v1 beside the module root (found by looking for go.mod
// in the working directory and its parents). It does not check that the
// folder exists.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	rel := "."
	for range 16 {
		if _, err := os.Stat(filepath.Join(rel, "go.mod")); err == nil {
			return filepath.Join(rel, "..", "shared", "data", "dev-v1")
		}
		rel = filepath.Join(rel, "..")
	}
	return filepath.Join("..", "shared", "data", "dev-v1")
}

// Required reports whether missing data fails tests (CI is set).
func Required() bool { return os.Getenv("CI") != "" }

// Path returns Dir joined with parts when that file or folder exists.
// Otherwise it skips the test, or fails it when CI is set.
func Path(t testing.TB, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Dir()}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		Missing(t, p, err)
	}
	return p
}

// Missing ends a test whose dev data p is not usable (err says why): a
// skip, or a failure when CI is set.
func Missing(t testing.TB, p string, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("dev data %s: %v (CI is set, so extended checks must not skip)", p, err)
	}
	t.Skipf("dev data not found (%v): extended check skipped", err)
}

// LookPath returns the path of an external program an extended check needs
// (e.g. tshark). When it is not installed the test skips, or fails when CI
// is set (.ci/run installs the tools).
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if Required() {
			t.Fatalf("%s not found (%v): CI is set, so checks that need it must not skip", name, err)
		}
		t.Skipf("%s not installed: check skipped", name)
	}
	return p
}
