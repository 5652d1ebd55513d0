package rules_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/rules"
)

// TestPackages shows which directories are packages: those with an
// IMAGES.star, except ignored directories and nested workspaces.
func TestPackages(t *testing.T) {
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star":                       awsWorkspace,
		"a/IMAGES.star":                     "",
		"a/b/IMAGES.star":                   "",
		"gap/inner/IMAGES.star":             "", // gap itself is no package
		"gap/README":                        "",
		".git/x/IMAGES.star":                "",
		"node_modules/y/IMAGES.star":        "",
		"a/node_modules/z/IMAGES.star":      "",
		"imgraph-out/logs/IMAGES.star":      "",
		"hidden/.imgraphignore":             "",
		"hidden/IMAGES.star":                "",
		"hidden/sub/IMAGES.star":            "",
		"nested/IMAGES.star":                `workspace(name = "other")` + "\n",
		"nested/inner/IMAGES.star":          "",
		"notnested/IMAGES.star":             "# workspace(name = \"commented out\")\nDOC = \"\"\"\nworkspace(name = \"in a string\")\n\"\"\"\n",
		"notnested/deeper/IMAGES.star":      "",
		".hiddenbydot/IMAGES.star":          "", // only the names above are ignored
		"files/only/a/file/named/images.sh": "",
	})
	want := []string{"", ".hiddenbydot", "a", "a/b", "gap/inner", "notnested", "notnested/deeper"}
	ws, err := rules.FindWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ws.Packages()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("packages %q, want %q", got, want)
	}
	l, err := rules.NewLoader(ws, rules.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if all, err := l.Packages(); err != nil || !reflect.DeepEqual(all, want) {
		t.Errorf("the loader's packages %q (%v), want %q", all, err, want)
	}
	// Found lazily, by a fresh loader each time, a package is what the
	// walk of the whole workspace finds: looked for along its path, or
	// by the walk of a tree above it.
	fresh := func() *rules.Loader {
		l, err := rules.NewLoader(ws, rules.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	candidates := []string{"", ".hiddenbydot", "a", "a/b", "gap", "gap/inner", ".git/x", "node_modules/y", "a/node_modules/z",
		"imgraph-out/logs", "hidden", "hidden/sub", "nested", "nested/inner", "notnested", "notnested/deeper",
		"files", "files/only/a/file/named", "missing", "a/b/c"}
	for _, p := range candidates {
		got, err := fresh().HasPackage(p)
		if err != nil || got != slices.Contains(want, p) {
			t.Errorf("HasPackage(%q) = %v, %v; want %v", p, got, err, slices.Contains(want, p))
		}
		var below []string
		for _, w := range want {
			if p == "" || w == p || strings.HasPrefix(w, p+"/") {
				below = append(below, w)
			}
		}
		if got, err := fresh().PackagesBeneath(p); err != nil || !slices.Equal(got, below) {
			t.Errorf("PackagesBeneath(%q) = %q, %v; want %q", p, got, err, below)
		}
	}
}

// TestFindWorkspace shows that the workspace is the nearest ancestor whose
// IMAGES.star calls workspace() at top level.
func TestFindWorkspace(t *testing.T) {
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star":           localWorkspace,
		"apps/IMAGES.star":      "", // a package, not a workspace
		"apps/api/files/x":      "",
		"inner/IMAGES.star":     `workspace(name = "inner", home_region = "eu-west-1")` + "\n",
		"inner/pkg/IMAGES.star": "",
		"inner/pkg/deep/dir/":   "",
		"fake/IMAGES.star":      "if False:\n    workspace(name = \"not at top level\")\n",
		"fake/sub/":             "",
		"commented/IMAGES.star": "# workspace(name = \"no\")\n",
		"commented/pkg/":        "",
	})
	tests := []struct {
		dir      string
		wantRoot string
		wantName string
	}{
		{"", "", "acme"},
		{"apps", "", "acme"},
		{"apps/api/files", "", "acme"},
		{"inner", "inner", "inner"},
		{"inner/pkg/deep/dir", "inner", "inner"},
		{"fake/sub", "", "acme"},
		{"commented/pkg", "", "acme"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			ws, err := rules.FindWorkspace(filepath.Join(root, tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(root, tt.wantRoot); ws.Root != want || ws.Name != tt.wantName {
				t.Errorf("found %s (%s), want %s (%s)", ws.Root, ws.Name, want, tt.wantName)
			}
		})
	}

	ws, err := rules.FindWorkspace(filepath.Join(root, "inner"))
	if err != nil {
		t.Fatal(err)
	}
	if ws.HomeRegion != "eu-west-1" || ws.Platform != rules.PlatformAWS {
		t.Errorf("inner: home region %q, platform %q; want eu-west-1 and the default, aws", ws.HomeRegion, ws.Platform)
	}
	if got := ws.PackageOf(filepath.Join(root, "inner/pkg/deep")); got != "pkg/deep" {
		t.Errorf("PackageOf = %q, want pkg/deep", got)
	}
	if got := ws.PackageOf(root); got != "" {
		t.Errorf("PackageOf(outside) = %q, want \"\"", got)
	}
}

// TestFindWorkspaceNone shows the error when no ancestor is a workspace.
func TestFindWorkspaceNone(t *testing.T) {
	root := writeWorkspace(t, map[string]string{"a/IMAGES.star": "", "a/b/": ""})
	_, err := rules.FindWorkspace(filepath.Join(root, "a/b"))
	var e *rules.Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "no workspace found at or above "+filepath.Join(root, "a/b")) || !strings.Contains(e.Hint, "--workspace") {
		t.Fatalf("got %v", err)
	}
}

// TestWorkspaceErrors shows that workspace(...) is checked, with every
// mistake reported at its place.
func TestWorkspaceErrors(t *testing.T) {
	tests := []struct {
		src  string
		want []string // position: message, one per error
	}{
		{`workspace(name = "a", platform = "gcp")`, []string{`IMAGES.star:1:34: workspace(platform = "gcp"): the platforms are "aws" and "local"`}},
		{`workspace(name = "a", home_region = "Europe")`, []string{`IMAGES.star:1:37: workspace(home_region = "Europe"): "Europe" is not an AWS region`}},
		{`workspace(home_region = "us-east-1")`, []string{`IMAGES.star:1:1: workspace() needs name = "..."`}},
		{`workspace(name = NAME)`, []string{`IMAGES.star:1:18: workspace(name = ...) must be a string literal`}},
		{`workspace("a")`, []string{`IMAGES.star:1:11: workspace() takes only keyword arguments`}},
		{"workspace(\n    name = \"a\",\n    region = \"us-east-1\",\n    name = \"b\",\n)", []string{
			`IMAGES.star:3:5: workspace() has no argument "region"`,
			`IMAGES.star:4:5: workspace() got name twice`,
		}},
		{`workspace(name = "a"`, []string{`IMAGES.star:2:1: syntax error`}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			root := writeWorkspace(t, map[string]string{"IMAGES.star": tt.src + "\n"})
			_, err := rules.FindWorkspace(root)
			var list rules.ErrorList
			if !errors.As(err, &list) || len(list) != len(tt.want) {
				t.Fatalf("got %v, want %d errors", err, len(tt.want))
			}
			for i, e := range list {
				if got := e.Pos.String() + ": " + e.Msg; !strings.HasPrefix(got, tt.want[i]) {
					t.Errorf("got %q, want %q", got, tt.want[i])
				}
			}
		})
	}
}

// TestPlatformOverride shows that Config.Platform overrides the
// workspace's, and that an unknown platform is refused.
func TestPlatformOverride(t *testing.T) {
	root := writeWorkspace(t, map[string]string{"IMAGES.star": localWorkspace})
	ws, err := rules.FindWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ given, want string }{{"", "local"}, {"aws", "aws"}, {"local", "local"}} {
		l, err := rules.NewLoader(ws, rules.Config{Platform: tt.given})
		if err != nil {
			t.Fatal(err)
		}
		if l.Platform() != tt.want {
			t.Errorf("platform %q gives %q, want %q", tt.given, l.Platform(), tt.want)
		}
	}
	if _, err := rules.NewLoader(ws, rules.Config{Platform: "gcp"}); err == nil || !strings.Contains(err.Error(), `unknown platform "gcp"`) {
		t.Errorf("platform gcp: got %v", err)
	}
}
