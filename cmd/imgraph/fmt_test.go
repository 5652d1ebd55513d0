package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/internal/gen"
)

// fmt --check lists an unformatted file and exits 1; --diff shows the
// change; fmt writes it; then --check is quiet.
func TestFmt(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"lib/defs.star":    "def service(name):\n  image(name=name, parent='//base:al2023')\n",
		"base/IMAGES.star": `image(name = "al2023", source = rootfs(path = "rootfs"))` + "\n",
	})
	r := ws.imgraph(t, nil, "fmt", "--check")
	if r.code != exitBakeFailed || r.stdout != "lib/defs.star\n" {
		t.Fatalf("fmt --check: %v\nwant exit 1 listing lib/defs.star", r)
	}
	r = ws.imgraph(t, nil, "fmt", "--diff", "lib/defs.star")
	if r.code != exitOK || !strings.Contains(r.stdout, "-  image(name=name, parent='//base:al2023')\n+    image(name = name, parent = \"//base:al2023\")\n") {
		t.Fatalf("fmt --diff: %v", r)
	}
	if r := ws.imgraph(t, nil, "fmt", "//..."); r.code != exitOK {
		t.Fatalf("fmt: %v", r)
	}
	if r := ws.imgraph(t, nil, "fmt", "--check"); r.code != exitOK || r.stdout != "" {
		t.Fatalf("fmt --check after fmt: %v", r)
	}
	if got := readFile(t, filepath.Join(ws.root, "lib/defs.star")); got != "def service(name):\n    image(name = name, parent = \"//base:al2023\")\n" {
		t.Errorf("formatted: %q", got)
	}
}

// Formatting is idempotent on every .star file of this repository, and
// on the generator's workspaces, where it changes no key.
func TestFmtIdempotentAndMeaningPreserving(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("git", "-C", "../..", "ls-files", "*.star").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "rules/testdata/") {
			continue // cases of bad input, cut apart by the test that reads them
		}
		src, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		once, ferr := formatStar(f, src)
		if ferr != nil {
			t.Fatalf("%s: %v", f, ferr)
		}
		if twice, _ := formatStar(f, once); string(twice) != string(once) {
			t.Errorf("%s: formatting twice differs from once:\n%s\n---\n%s", f, once, twice)
		}
	}
	for _, seed := range []int64{1, 2} {
		ws := &testWorkspace{root: t.TempDir(), cache: t.TempDir()}
		if _, err := gen.Write(ws.root, gen.Config{Images: 120, Packages: 12, SharedFiles: 3, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		// Written carelessly: two-space indents, no spaces around =.
		files, _ := filepath.Glob(filepath.Join(ws.root, "*", "IMAGES.star"))
		for _, f := range files {
			careless := strings.NewReplacer("    ", "  ", " = ", "=").Replace(readFile(t, f))
			if err := os.WriteFile(f, []byte(careless), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		before := ws.imgraph(t, nil, "plan", "--output", "json")
		if r := ws.imgraph(t, nil, "fmt", "--check"); r.code != exitBakeFailed || strings.Count(r.stdout, "\n") < len(files) {
			t.Fatalf("seed %d: fmt --check on careless files: %v", seed, r)
		}
		if r := ws.imgraph(t, nil, "fmt"); r.code != exitOK {
			t.Fatalf("fmt: %v", r)
		}
		if r := ws.imgraph(t, nil, "fmt", "--check"); r.code != exitOK {
			t.Errorf("seed %d: fmt is not idempotent: %v", seed, r)
		}
		if after := ws.imgraph(t, nil, "plan", "--output", "json"); before.code != exitOK || after.stdout != before.stdout {
			t.Errorf("seed %d: formatting changed the plan:\n%v\n%v", seed, before, after)
		}
	}
}
