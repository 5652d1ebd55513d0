package rules_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/imgraph/imgraph/rules"
)

// writeWorkspace writes files (slash-separated paths relative to the root)
// into a fresh temporary directory and returns its absolute path. A path
// ending in "/" makes an empty directory.
func writeWorkspace(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if name[len(name)-1] == '/' {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const localWorkspace = `workspace(name = "acme", home_region = "us-east-1", platform = "local")
`

// load loads every package of the workspace at root.
func load(t *testing.T, root string, cfg rules.Config) (*rules.Result, error) {
	t.Helper()
	ws, err := rules.FindWorkspace(root)
	if err != nil {
		t.Fatalf("FindWorkspace: %v", err)
	}
	l, err := rules.NewLoader(ws, cfg)
	if err != nil {
		t.Fatalf("NewLoader: %v", err)
	}
	pkgs, err := l.Packages()
	if err != nil {
		return nil, err
	}
	return l.Load(context.Background(), pkgs, nil)
}

// mustLoad loads every package and fails the test on any error.
func mustLoad(t *testing.T, root string, cfg rules.Config) *rules.Result {
	t.Helper()
	res, err := load(t, root, cfg)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return res
}
