package engine_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// moduleDeps maps every package of this module to the module's packages
// it depends on, directly or not.
func moduleDeps(t *testing.T) map[string][]string {
	t.Helper()
	const mod = "github.com/imgraph/imgraph/"
	out, err := exec.Command("go", "list", "-test=false", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		deps[pkg] = []string{}
		for _, d := range fields[1:] {
			if strings.HasPrefix(d, mod) {
				deps[pkg] = append(deps[pkg], strings.TrimPrefix(d, mod))
			}
		}
	}
	return deps
}

// The dependencies point down (docs/architecture.md): the engine reaches
// platforms through bake alone, loading and querying never reach a
// platform, the simulator stands apart from imgraph's platforms, and
// nothing imports the CLI.
func TestLayering(t *testing.T) {
	never := map[string][]string{
		"engine":          {"bake/aws", "bake/local"},
		"rules":           {"bake", "engine", "cache"},
		"query":           {"rules", "bake", "engine"},
		"bake":            {"engine", "cache", "bake/aws", "bake/local"},
		"internal/ec2sim": {"bake", "bake/aws", "bake/local", "engine"},
		// The data channel is a protocol, for the platform and the simulator alike.
		"internal/ssmsession": {"rules", "bake", "bake/aws", "engine", "internal/ec2sim"},
	}
	all := moduleDeps(t)
	if !slices.Contains(all["engine"], "bake") {
		t.Fatalf("go list says the engine does not depend on bake: %v", all["engine"])
	}
	for pkg, deps := range all {
		for _, d := range deps {
			if d == "cmd/imgraph" || slices.Contains(never[pkg], d) {
				t.Errorf("%s depends on %s", pkg, d)
			}
		}
	}
}

// The engine never spells a platform's name: it asks the platform.
func TestEngineNamesNoPlatform(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`"aws"|"local"|PlatformAWS|PlatformLocal`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := name.Find(data); m != nil {
			t.Errorf("%s names a platform: %s", f, m)
		}
	}
}
