package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The import rules of the house (docs/architecture.md), checked on what
// `go list` says the packages import. Changing a rule is a design decision:
// change docs/architecture.md with it.
const module = "github.com/trafficgpt/trafficgpt/"

var (
	// dataSide reads, writes and tokenizes captures; it never needs the
	// model, so it never imports it (also not through other packages).
	dataSide = []string{"internal/pcap", "internal/packet", "internal/flow", "internal/codec", "internal/dataset", "internal/capture"}
	// dataSideMay is what the data side may import besides itself.
	dataSideMay = []string{"internal/atomicfile"}
	// modelSide is what the generation evaluation must not need (it judges
	// captures, whoever made them).
	modelSide = []string{"internal/blas", "internal/kernel", "internal/model", "internal/optim", "internal/train",
		"internal/sample", "internal/classify", "internal/dist", "internal/suite"}
	// pure packages import no other package of the module.
	pure = []string{"internal/metric", "internal/atomicfile", "internal/progress", "internal/devdata", "internal/blas", "internal/optim", "internal/pcap", "internal/tshark"}
)

type listedPackage struct {
	ImportPath, Name, Dir string
	Imports, Deps         []string
	TestImports           []string
	XTestImports          []string
}

func goList(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-json", "./...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 15 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	return pkgs
}

// internalOf keeps the module's packages of paths, without the module prefix.
func internalOf(paths []string) []string {
	var out []string
	for _, p := range paths {
		if rel, ok := strings.CutPrefix(p, module); ok {
			out = append(out, rel)
		}
	}
	return out
}

// TestImportRules enforces the layering every reviewer checks by hand.
func TestImportRules(t *testing.T) {
	pkgs := goList(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p.ImportPath, module)
		seen[rel] = true
		imports, deps := internalOf(p.Imports), internalOf(p.Deps)
		switch {
		case slices.Contains(dataSide, rel):
			for _, d := range deps {
				if !slices.Contains(dataSide, d) && !slices.Contains(dataSideMay, d) {
					t.Errorf("%s (data side) depends on %s", rel, d)
				}
			}
		case rel == "internal/evalgen":
			for _, d := range deps {
				if slices.Contains(modelSide, d) {
					t.Errorf("%s depends on the model side (%s)", rel, d)
				}
			}
		case rel == "cmd/trafficgpt":
			for _, d := range imports {
				if d == "internal/kernel" || d == "internal/blas" {
					t.Errorf("%s imports %s: the CLI reaches compute through model, train and sample", rel, d)
				}
			}
		}
		if slices.Contains(pure, rel) && len(imports) > 0 {
			t.Errorf("%s imports %v; it must import no package of the module", rel, imports)
		}
		if slices.Contains(imports, "internal/devdata") {
			t.Errorf("%s imports internal/devdata outside its tests", rel)
		}
		switch strings.ToLower(p.Name) {
		case "util", "utils", "common", "helpers", "misc":
			t.Errorf("%s: a package named %q says nothing about what it holds", rel, p.Name)
		}
	}
	for _, need := range append(append([]string{"cmd/trafficgpt", "internal/evalgen"}, dataSide...), pure...) {
		if !seen[need] {
			t.Errorf("package %s not found: update the rules", need)
		}
	}
}
