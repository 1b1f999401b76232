package base

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/model"
)

func TestIdentity(t *testing.T) {
	in, err := Identity()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(weights)
	if got := hex.EncodeToString(sum[:]); got != in.SHA256 {
		t.Fatalf("info.json sha256 %s, embedded weights %s", in.SHA256, got)
	}
	if in.Bytes != int64(len(weights)) || in.Name != Name || in.Steps < 1 || in.Tokens < 1 {
		t.Fatalf("info.json incomplete: %+v", in)
	}
	if len(weights) > 20<<20 {
		t.Fatalf("base model is %d bytes, over the 20 MiB budget", len(weights))
	}
}

func TestResolve(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	if p, err := Resolve("some/dir"); err != nil || p != "some/dir" {
		t.Fatalf("Resolve(other) = %q, %v", p, err)
	}
	p, err := Resolve(Name)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := model.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := Identity()
	if m.ParamCount() != in.Params {
		t.Fatalf("loaded %d parameters, info.json says %d", m.ParamCount(), in.Params)
	}
	// A damaged cached copy is replaced, not used.
	if err := os.WriteFile(p, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	p2, err := Resolve(Name)
	if err != nil || p2 != p {
		t.Fatalf("second Resolve = %q, %v", p2, err)
	}
	if b, _ := os.ReadFile(p2); !bytes.Equal(b, weights) {
		t.Fatal("damaged cached copy was not rewritten")
	}
}
