package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/bake/aws"
	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// writeWorkspace writes files (slash-separated paths relative to the root)
// into a fresh temporary directory and returns its absolute path. A path
// ending in "/" makes an empty directory.
func writeWorkspace(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		writeFile(t, root, name, text)
	}
	return root
}

// writeFile writes one file of a workspace, replacing it if it exists.
func writeFile(t *testing.T, root, name, text string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if strings.HasSuffix(name, "/") {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// chmod sets the permission bits of a workspace file exactly.
func chmod(t *testing.T, root, name string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(filepath.Join(root, filepath.FromSlash(name)), mode); err != nil {
		t.Fatal(err)
	}
}

func patterns(t testing.TB, ps ...string) []label.Pattern {
	t.Helper()
	if len(ps) == 0 {
		ps = []string{"//..."}
	}
	out := make([]label.Pattern, len(ps))
	for i, s := range ps {
		p, err := label.ParsePattern(s, "")
		if err != nil {
			t.Fatal(err)
		}
		out[i] = p
	}
	return out
}

func loader(t testing.TB, root string, cfg rules.Config) *rules.Loader {
	t.Helper()
	ws, err := rules.FindWorkspace(root)
	if err != nil {
		t.Fatalf("FindWorkspace: %v", err)
	}
	l, err := rules.NewLoader(ws, cfg)
	if err != nil {
		t.Fatalf("NewLoader: %v", err)
	}
	return l
}

// tryAnalyze analyses the workspace at root for the patterns (//... when
// none are given).
func tryAnalyze(t testing.TB, root string, cfg rules.Config, opt engine.AnalyzeOptions, ps ...string) (*engine.Analysis, error) {
	t.Helper()
	opt.Patterns = patterns(t, ps...)
	l := loader(t, root, cfg)
	if opt.Platform == nil {
		opt.Platform = platformOf(t, l)
	}
	return engine.Analyze(context.Background(), l, opt)
}

// platformOf is the platform a loader resolved select() for.
func platformOf(t testing.TB, l *rules.Loader) bake.Platform {
	t.Helper()
	for _, p := range []bake.Platform{aws.Platform{}, local.Platform{}} {
		if p.Name() == l.Platform() {
			return p
		}
	}
	t.Fatalf("no platform %q", l.Platform())
	return nil
}

func analyze(t *testing.T, root string, cfg rules.Config, ps ...string) *engine.Analysis {
	t.Helper()
	a, err := tryAnalyze(t, root, cfg, engine.AnalyzeOptions{}, ps...)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	return a
}

// keys is the key of every image of the workspace, by label.
func keys(t *testing.T, root string, cfg rules.Config) map[string]engine.Key {
	t.Helper()
	a := analyze(t, root, cfg)
	out := make(map[string]engine.Key, len(a.Keys))
	for l, k := range a.Keys {
		out[l.String()] = k
	}
	if len(out) != len(a.Graph.Images) {
		t.Fatalf("%d keys for %d images", len(out), len(a.Graph.Images))
	}
	return out
}

func lbl(t *testing.T, s string) label.Label {
	t.Helper()
	l, err := label.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func labelStrings(ls []label.Label) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.String()
	}
	return out
}

const (
	localWorkspace = `workspace(name = "acme", home_region = "us-east-1", platform = "local")
`
	awsWorkspace = `workspace(name = "acme", home_region = "us-east-1", platform = "aws")
`
	sumA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	sumB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// forest is a local workspace of two roots: //base:base with two children,
// //apps/api:api (which has a child, //apps/api:debug) and //apps/web:web;
// and //other:other.
func forest() map[string]string {
	return map[string]string{
		"IMAGES.star": localWorkspace,
		"base/IMAGES.star": `image(
    name = "base",
    source = rootfs(path = "rootfs"),
    provision = [shell(script = "harden.sh")],
)
`,
		"base/harden.sh":       "#!/bin/sh\ndnf -y update\n",
		"base/rootfs/etc/motd": "welcome\n",
		"base/rootfs/bin/sh":   "busybox\n",
		"apps/api/IMAGES.star": `image(
    name = "api",
    parent = "//base:base",
    provision = [shell(script = "install.sh", env = {"PORT": "8080"})],
)
image(
    name = "debug",
    parent = ":api",
    provision = [shell(script = "debug.sh")],
)
`,
		"apps/api/install.sh":  "#!/bin/sh\ninstall api\n",
		"apps/api/debug.sh":    "#!/bin/sh\ninstall gdb\n",
		"apps/web/IMAGES.star": `image(name = "web", parent = "//base:base", provision = [shell(script = "install.sh")])` + "\n",
		"apps/web/install.sh":  "#!/bin/sh\ninstall web\n",
		"other/IMAGES.star": `image(
    name = "other",
    source = rootfs(path = "rootfs"),
    provision = [shell(script = "setup.sh")],
)
`,
		"other/setup.sh":        "#!/bin/sh\nsetup\n",
		"other/rootfs/etc/motd": "other\n",
	}
}
