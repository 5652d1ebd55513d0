package rules_test

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// TestLoadReportsEveryPackage shows that the errors of several packages
// come back together, sorted by file, and that good packages still load.
func TestLoadReportsEveryPackage(t *testing.T) {
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star":      awsWorkspace,
		"good/IMAGES.star": `image(name = "good", source = ami("ami-0123456789abcdef0"))` + "\n",
		"c/IMAGES.star":    `image(name = "c" source = 1)` + "\n",
		"a/IMAGES.star":    `image(name = "a", parent = "//nope:x")` + "\n",
		"b/IMAGES.star": `image(
    name = "b",
    source = ami("ami-0123456789abcdef0"),
    provision = [shell(script = "missing.sh")],
)
`,
	})
	res, err := load(t, root, rules.Config{})
	var list rules.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("got %v (%T), want an ErrorList", err, err)
	}
	var files []string
	for _, e := range list {
		files = append(files, e.Pos.File)
	}
	if want := []string{"a/IMAGES.star", "b/IMAGES.star", "c/IMAGES.star"}; !reflect.DeepEqual(files, want) {
		t.Errorf("errors in %v, want one in each of %v:\n%v", files, want, err)
	}
	for _, want := range []string{"package //nope does not exist", "script //b:missing.sh does not exist", "syntax error", "3 errors"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the errors do not say %q:\n%v", want, err)
		}
	}
	if res == nil || res.Images[label.Label{Pkg: "good", Name: "good"}] == nil {
		t.Errorf("the good package did not load beside the bad ones")
	}
}

// TestErrorPositions shows that an error points at file:line:col of the
// call that caused it, quoting its line, even through a macro.
func TestErrorPositions(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		wantPos string
		wantMsg string
	}{{
		name: "image",
		files: map[string]string{"pkg/IMAGES.star": `# a comment first
image(name = "x", source = ami("ami-0123456789abcdef0"), regions = ["mars"])
`},
		wantPos: "pkg/IMAGES.star:2:58", // the argument, not the call
		wantMsg: `regions: "mars"`,
	}, {
		name: "indented provisioner",
		files: map[string]string{"pkg/IMAGES.star": `image(
    name = "x",
    source = ami("ami-0123456789abcdef0"),
    provision = [
        shell(inline = ["true"]),
        shell(script = "missing.sh"),
    ],
)
`},
		wantPos: "pkg/IMAGES.star:6:9",
		wantMsg: "script //pkg:missing.sh does not exist",
	}, {
		name: "nested call",
		files: map[string]string{"pkg/IMAGES.star": `image(name = "x", source = ami("i-123"))
`},
		wantPos: "pkg/IMAGES.star:1:28",
		wantMsg: `ami: "i-123" is not an image id`,
	}, {
		name: "var",
		files: map[string]string{"pkg/IMAGES.star": `SALT = var("patch_cycle")
`},
		wantPos: "pkg/IMAGES.star:1:8",
		wantMsg: `var("patch_cycle") is not set`,
	}, {
		name: "through a macro",
		files: map[string]string{
			"lib/defs.star": `def service(name):
    image(name = name, source = ami("ami-0123456789abcdef0"), provision = [shell(script = name + ".sh")])
`,
			"pkg/IMAGES.star": `load("//lib:defs.star", "service")

service("api")
`,
		},
		wantPos: "pkg/IMAGES.star:3:1",
		wantMsg: "script //pkg:api.sh does not exist",
	}, {
		name: "error raised in a macro",
		files: map[string]string{
			"lib/defs.star": `def service(name):
    fail("service %s: no port" % name)
`,
			"pkg/IMAGES.star": `load("//lib:defs.star", "service")

service("api")
`,
		},
		// Errors of the interpreter point at the call's '(' (column 9),
		// ours at the name called; only the line is held to here.
		wantPos: "lib/defs.star:2:",
		wantMsg: "service api: no port",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.files["IMAGES.star"] = awsWorkspace
			root := writeWorkspace(t, tt.files)
			_, err := load(t, root, rules.Config{})
			var list rules.ErrorList
			if !errors.As(err, &list) || len(list) != 1 {
				t.Fatalf("got %v, want one error", err)
			}
			e := list[0]
			if got := e.Pos.String(); got != tt.wantPos && !(strings.HasSuffix(tt.wantPos, ":") && strings.HasPrefix(got, tt.wantPos)) {
				t.Errorf("position %s, want %s:\n%v", got, tt.wantPos, e)
			}
			if !strings.Contains(e.Msg, tt.wantMsg) {
				t.Errorf("message %q, want %q", e.Msg, tt.wantMsg)
			}
			// The quoted line is the line the position names.
			file := tt.files[e.Pos.File]
			if lines := strings.Split(file, "\n"); int(e.Pos.Line) > len(lines) || e.Line != lines[e.Pos.Line-1] {
				t.Errorf("quoted %q, which is not line %d of %s", e.Line, e.Pos.Line, e.Pos.File)
			}
			// The caret sits under the column.
			if !strings.Contains(e.Error(), "\n    "+strings.Repeat(" ", int(e.Pos.Col-1))+"^") {
				t.Errorf("no caret at column %d:\n%s", e.Pos.Col, e.Error())
			}
		})
	}
}

// TestMacroDeclaresInCallingPackage shows that an image() called by a
// macro of a loaded .star file belongs to the package that called the
// macro, with its files resolved there.
func TestMacroDeclaresInCallingPackage(t *testing.T) {
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star": awsWorkspace,
		"lib/defs.star": `REGIONS = ["eu-west-1"]

def service(name, port):
    image(
        name = name,
        parent = "//base:base",
        provision = [shell(script = "install.sh", env = {"PORT": str(port)})],
        regions = REGIONS,
    )
`,
		"base/IMAGES.star":     `image(name = "base", source = ami("ami-0123456789abcdef0"))` + "\n",
		"apps/api/IMAGES.star": "load(\"//lib:defs.star\", \"service\")\n\nservice(\"api\", 8080)\nservice(\"api-canary\", 8081)\n",
		"apps/api/install.sh":  "echo api\n",
		"apps/web/IMAGES.star": "load(\"//lib:defs.star\", svc = \"service\")\nsvc(\"web\", 80)\n",
		"apps/web/install.sh":  "echo web\n",
	})
	res := mustLoad(t, root, rules.Config{})
	tests := []struct {
		label, script, port, pos string
	}{
		{"//apps/api:api", "//apps/api:install.sh", "8080", "apps/api/IMAGES.star:3:1"},
		{"//apps/api:api-canary", "//apps/api:install.sh", "8081", "apps/api/IMAGES.star:4:1"},
		{"//apps/web:web", "//apps/web:install.sh", "80", "apps/web/IMAGES.star:2:1"},
	}
	for _, tt := range tests {
		l, _ := label.Parse(tt.label)
		im := res.Images[l]
		if im == nil {
			t.Errorf("%s was not declared; images: %v", tt.label, rules.SortedLabels(res.Images))
			continue
		}
		if got := im.Provision[0].Script.Label.String(); got != tt.script {
			t.Errorf("%s: script %s, want %s", tt.label, got, tt.script)
		}
		if got := im.Provision[0].Env["PORT"]; got != tt.port {
			t.Errorf("%s: PORT %q, want %q", tt.label, got, tt.port)
		}
		if got := im.Pos.String(); got != tt.pos {
			t.Errorf("%s: declared at %s, want %s (the macro's call)", tt.label, got, tt.pos)
		}
	}
	var names []string
	for _, im := range res.Loaded["apps/api"].Images {
		names = append(names, im.Label.Name)
	}
	if want := []string{"api", "api-canary"}; !reflect.DeepEqual(names, want) {
		t.Errorf("//apps/api declares %v, want %v in call order", names, want)
	}
	if got := len(res.Images); got != 4 {
		t.Errorf("%d images, want 4: %v", got, rules.SortedLabels(res.Images))
	}
}

// TestImageAtTopLevelOfStarFile shows that a loaded .star file cannot
// declare images on its own, only through a macro an IMAGES.star calls.
func TestImageAtTopLevelOfStarFile(t *testing.T) {
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star":     awsWorkspace,
		"lib/defs.star":   `image(name = "stray", source = ami("ami-0123456789abcdef0"))` + "\n",
		"pkg/IMAGES.star": `load("//lib:defs.star", "x")` + "\n",
	})
	_, err := load(t, root, rules.Config{})
	if err == nil || !strings.Contains(err.Error(), "image() may only be called while loading an IMAGES.star") {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "lib/defs.star:1:1") {
		t.Errorf("the error does not point at lib/defs.star:1:1:\n%v", err)
	}
}

// TestLoadCycle shows that a cycle of load()s is an error that names the
// whole chain, and that it never hangs.
func TestLoadCycle(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{{
		name: "two files",
		files: map[string]string{
			"lib/a.star": `load(":b.star", "B")` + "\nA = 1\n",
			"lib/b.star": `load(":a.star", "A")` + "\nB = 1\n",
		},
		want: "load cycle: lib/a.star -> lib/b.star -> lib/a.star",
	}, {
		name: "itself",
		files: map[string]string{
			"lib/a.star": `load("//lib:a.star", "A")` + "\nA = 1\n",
		},
		want: "load cycle: lib/a.star -> lib/a.star",
	}, {
		name: "three files across directories",
		files: map[string]string{
			"lib/a.star":   `load("//util:b.star", "B")` + "\nA = 1\n",
			"util/b.star":  `load("//other:c.star", "C")` + "\nB = 1\n",
			"other/c.star": `load("//lib:a.star", "A")` + "\nC = 1\n",
		},
		want: "load cycle: lib/a.star -> util/b.star -> other/c.star -> lib/a.star",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.files["IMAGES.star"] = awsWorkspace
			// Two packages load the cycle at once: neither may wait on the other.
			tt.files["p1/IMAGES.star"] = `load("//lib:a.star", "A")` + "\n"
			tt.files["p2/IMAGES.star"] = `load("//lib:a.star", "A")` + "\n"
			root := writeWorkspace(t, tt.files)
			_, err := load(t, root, rules.Config{})
			var list rules.ErrorList
			if !errors.As(err, &list) || len(list) != 2 {
				t.Fatalf("got %v, want an error in each of p1 and p2", err)
			}
			for _, e := range list {
				if !strings.Contains(e.Msg, tt.want) {
					t.Errorf("%s: %q does not say %q", e.Pos, e.Msg, tt.want)
				}
			}
		})
	}
}

// TestLoadFollowsParents shows that loading a package loads the packages
// of its images' ancestors, and no others.
func TestLoadFollowsParents(t *testing.T) {
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star":          awsWorkspace,
		"os/IMAGES.star":       `image(name = "al2023", source = ami("ami-0123456789abcdef0"))` + "\n",
		"platform/IMAGES.star": `image(name = "jre", parent = "//os:al2023")` + "\n",
		"apps/api/IMAGES.star": `image(name = "api", parent = "//platform:jre")` + "\n",
		"apps/web/IMAGES.star": `image(name = "web", parent = "//os:al2023")` + "\n",
		"broken/IMAGES.star":   "this is not starlark\n",
	})
	ws, err := rules.FindWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := rules.NewLoader(ws, rules.Config{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Load(context.Background(), []string{"apps/api"}, nil)
	if err != nil {
		t.Fatalf("the broken package was loaded, or: %v", err)
	}
	var loaded []string
	for p := range res.Loaded {
		loaded = append(loaded, p)
	}
	sort.Strings(loaded)
	if want := []string{"apps/api", "os", "platform"}; !reflect.DeepEqual(loaded, want) {
		t.Errorf("loaded %v, want %v", loaded, want)
	}
	if all, err := l.Packages(); err != nil || !reflect.DeepEqual(all, []string{"", "apps/api", "apps/web", "broken", "os", "platform"}) {
		t.Errorf("packages %q (%v), want every package", all, err)
	}
}

// TestParentThatDoesNotExist shows the hint for a misspelt parent.
func TestParentThatDoesNotExist(t *testing.T) {
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star":     awsWorkspace,
		"os/IMAGES.star":  `image(name = "al2023", source = ami("ami-0123456789abcdef0"))` + "\n",
		"app/IMAGES.star": `image(name = "app", parent = "//os:al2032")` + "\n",
	})
	_, err := load(t, root, rules.Config{})
	var list rules.ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("got %v, want one error", err)
	}
	if e := list[0]; e.Pos.String() != "app/IMAGES.star:1:1" || !strings.Contains(e.Msg, `package //os has no image "al2032"`) || e.Hint != "did you mean //os:al2023?" {
		t.Errorf("got %s %q hint %q", e.Pos, e.Msg, e.Hint)
	}
}

// A file whose loop never ends is stopped after the step budget, with an
// error naming the file and where it was, in IMAGES.star files and in the
// .star files they load.
func TestStepBudget(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]string
		at    string
	}{
		{"IMAGES.star", map[string]string{
			"IMAGES.star":     awsWorkspace,
			"pkg/IMAGES.star": "for i in range(1000000000000):\n    pass\n",
		}, "pkg/IMAGES.star:1:1: pkg/IMAGES.star ran for more than 10000 Starlark steps"},
		{"loaded file", map[string]string{
			"IMAGES.star":     awsWorkspace,
			"pkg/IMAGES.star": `load("//lib:defs.star", "x")` + "\n",
			"lib/defs.star":   "def spin():\n    for i in range(1000000000000):\n        pass\n    return 1\nx = spin()\n",
		}, "lib/defs.star:2:5: lib/defs.star ran for more than 10000 Starlark steps"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := writeWorkspace(t, tt.files)
			_, err := load(t, root, rules.Config{MaxSteps: 10_000})
			var list rules.ErrorList
			if !errors.As(err, &list) || !strings.Contains(err.Error(), tt.at) {
				t.Fatalf("err = %v, want the step budget's error at %s", err, tt.at)
			}
		})
	}
}

// Cancelling the context stops a file that is running, at once, whatever
// its step budget.
func TestLoadStopsWhenCancelled(t *testing.T) {
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star":     awsWorkspace,
		"pkg/IMAGES.star": "while True:\n    pass\n",
	})
	ws, err := rules.FindWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := rules.NewLoader(ws, rules.Config{MaxSteps: 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := l.Load(ctx, []string{"pkg"}, nil)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Load = %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Load went on running after its context was cancelled")
	}
}
