package gen

import (
	"bytes"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imgraph/imgraph/label"
)

func TestWriteIsDeterministic(t *testing.T) {
	c := Config{Images: 300, Packages: 40, Depth: 5, FanOut: 3, ScriptBytes: 300, SharedFiles: 6, Seed: 7}
	a, b := t.TempDir(), t.TempDir()
	sa, err := Write(a, c)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Write(b, c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sa.Labels, sb.Labels) || sa.Files != sb.Files {
		t.Fatalf("stats differ: %+v vs %+v", sa, sb)
	}
	fa, fb := readTree(t, a), readTree(t, b)
	if len(fa) != sa.Files {
		t.Errorf("Stats.Files = %d, wrote %d files", sa.Files, len(fa))
	}
	if len(fa) != len(fb) {
		t.Fatalf("%d files vs %d files", len(fa), len(fb))
	}
	for p, x := range fa {
		if y, ok := fb[p]; !ok || !bytes.Equal(x, y) {
			t.Fatalf("%s differs between two writes of the same Config", p)
		}
	}

	c.Seed = 8
	other := t.TempDir()
	if _, err := Write(other, c); err != nil {
		t.Fatal(err)
	}
	if same(fa, readTree(t, other)) {
		t.Error("seeds 7 and 8 wrote the same workspace")
	}
}

func TestWriteShape(t *testing.T) {
	for _, c := range []Config{
		{Images: 1, Seed: 1},
		{Images: 5, Packages: 5, Depth: 5, FanOut: 1, Seed: 2},
		{Images: 10, Packages: 3, Depth: 4, FanOut: 3, Seed: 3},
		{Images: 50, Packages: 50, Depth: 1, Seed: 4},
		{Images: 100, Packages: 10, Depth: 3, FanOut: 1000, Seed: 8},
		{Images: 200, Packages: 20, Depth: 6, FanOut: 2, SharedFiles: 3, Seed: 5},
		{Images: 1000, Packages: 100, Depth: 8, FanOut: 5, SharedFiles: 20, ScriptBytes: 1024, Seed: 6},
		{Images: 400, Packages: 30, Depth: 3, FanOut: 4, SharedFiles: 5, Seed: 9, Platform: "aws"},
	} {
		dir := t.TempDir()
		st, err := Write(dir, c)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		c = c.Defaults()
		ws := parse(t, dir)
		if st.Images != c.Images || len(ws.parent) != c.Images {
			t.Errorf("%+v: Stats.Images = %d, found %d images, want %d", c, st.Images, len(ws.parent), c.Images)
		}
		if st.Packages != c.Packages || len(ws.packages) != c.Packages {
			t.Errorf("%+v: Stats.Packages = %d, found %d packages, want %d", c, st.Packages, len(ws.packages), c.Packages)
		}
		if !slices.Equal(st.Labels, ws.labels()) {
			t.Errorf("%+v: Stats.Labels are not the sorted labels of the images written", c)
		}

		depth, children := ws.shape(t)
		if depth != c.Depth {
			t.Errorf("%+v: longest chain is %d, want %d", c, depth, c.Depth)
		}
		for p, n := range children {
			if n > c.FanOut {
				t.Errorf("%+v: %s has %d children, want at most %d", c, p, n, c.FanOut)
			}
		}

		for _, f := range ws.files {
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f))); err != nil {
				t.Errorf("%+v: a provisioner names %s, which was not written", c, f)
			}
		}
		if c.Platform == "aws" {
			if ws.rootfs != 0 || ws.amis == 0 {
				t.Errorf("%+v: %d rootfs and %d ami sources, want only ami", c, ws.rootfs, ws.amis)
			}
		} else if ws.amis != 0 || ws.rootfs == 0 {
			t.Errorf("%+v: %d rootfs and %d ami sources, want only rootfs", c, ws.rootfs, ws.amis)
		}
	}
}

func TestScriptsHaveTheirSize(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, Config{Images: 40, Packages: 8, SharedFiles: 3, ScriptBytes: 777, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for p, data := range readTree(t, dir) {
		if !strings.HasSuffix(p, ".sh") {
			continue
		}
		n++
		if mode, _, _ := bytes.Cut(data, []byte("\n")); string(mode) != "-rwxr-xr-x" {
			t.Errorf("%s has mode %s, want -rwxr-xr-x", p, mode)
		}
		_, data, _ = bytes.Cut(data, []byte("\n"))
		if len(data) != 777 {
			t.Errorf("%s is %d bytes, want 777", p, len(data))
		}
		if !bytes.HasPrefix(data, []byte("#!/bin/sh\n")) || !bytes.Contains(data, []byte("\nset -eu\n")) {
			t.Errorf("%s does not start like a script:\n%s", p, data)
		}
	}
	if n == 0 {
		t.Fatal("no scripts written")
	}
}

func TestWriteTenThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 14,000 files")
	}
	c := Config{Images: 10000, Packages: 700, Depth: 7, FanOut: 4, SharedFiles: 50, Seed: 42}
	dir := t.TempDir()
	start := time.Now()
	st, err := Write(dir, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d images in %d packages, %d files, in %v", st.Images, st.Packages, st.Files, time.Since(start))
	if st.Images != c.Images || len(st.Labels) != c.Images {
		t.Errorf("Stats.Images = %d with %d labels, want %d", st.Images, len(st.Labels), c.Images)
	}
	pkgs := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "IMAGES.star" && filepath.Dir(p) != dir {
			pkgs++
		}
		return err
	})
	if pkgs != c.Packages || st.Packages != c.Packages {
		t.Errorf("found %d packages, Stats.Packages = %d, want %d", pkgs, st.Packages, c.Packages)
	}
}

func TestWriteRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{}, "Images is 0"},
		{Config{Images: 3, Packages: 4}, "Packages is 4"},
		{Config{Images: 3, Depth: 4}, "Depth is 4"},
		{Config{Images: 3, FanOut: -1}, "FanOut is -1"},
		{Config{Images: 3, SharedFiles: -1}, "may not be negative"},
		{Config{Images: 3, Platform: "gcp"}, `Platform is "gcp"`},
	} {
		_, err := Write(t.TempDir(), tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Write(%+v) = %v, want an error saying %q", tc.c, err, tc.want)
		}
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, Config{Images: 3}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Write into a non-empty directory = %v, want an error", err)
	}
}

func TestLevelSizes(t *testing.T) {
	for _, tc := range []struct {
		n, depth, fanOut int
		want             []int
	}{
		{1, 1, 3, []int{1}},
		{5, 5, 1, []int{1, 1, 1, 1, 1}},
		{10, 4, 3, []int{1, 3, 5, 1}},
		{40, 4, 3, []int{1, 3, 9, 27}},
		{41, 4, 3, []int{2, 6, 18, 15}},
		{10, 4, 1, []int{3, 3, 3, 1}},
		{6, 2, 100, []int{1, 5}},
	} {
		got := levelSizes(tc.n, tc.depth, tc.fanOut)
		if !slices.Equal(got, tc.want) {
			t.Errorf("levelSizes(%d, %d, %d) = %v, want %v", tc.n, tc.depth, tc.fanOut, got, tc.want)
		}
	}
}

func BenchmarkWrite10000(b *testing.B) {
	c := Config{Images: 10000, Packages: 700, Depth: 7, FanOut: 4, SharedFiles: 50, Seed: 42}
	for b.Loop() {
		if _, err := Write(b.TempDir(), c); err != nil {
			b.Fatal(err)
		}
	}
}

// workspace is what a light reading of the written IMAGES.star files finds.
type workspace struct {
	packages     map[string]bool
	parent       map[label.Label]label.Label // zero for a root
	files        []string                    // workspace-relative files the provisioners name
	rootfs, amis int
}

var (
	nameRE   = regexp.MustCompile(`(?m)^    name = "([^"]+)",$`)
	parentRE = regexp.MustCompile(`(?m)^    parent = "([^"]+)",$`)
	fileRE   = regexp.MustCompile(`(?:script|src) = "([^"]+)"`)
)

// parse reads every package's IMAGES.star by its fixed layout: image( opens
// a target, its name and parent are the lines indented by four spaces.
func parse(t *testing.T, dir string) *workspace {
	t.Helper()
	ws := &workspace{packages: map[string]bool{}, parent: map[label.Label]label.Label{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "IMAGES.star" || filepath.Dir(p) == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, filepath.Dir(p))
		pkg := filepath.ToSlash(rel)
		ws.packages[pkg] = true
		text, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, block := range strings.Split(string(text), "\nimage(\n")[1:] {
			m := nameRE.FindStringSubmatch(block)
			if m == nil {
				t.Fatalf("%s: an image without a name:\n%s", pkg, block)
			}
			l := label.Label{Pkg: pkg, Name: m[1]}
			if _, dup := ws.parent[l]; dup {
				t.Fatalf("%s declared twice", l)
			}
			ws.parent[l] = label.Label{}
			if m := parentRE.FindStringSubmatch(block); m != nil {
				pl, err := label.ParseRelative(m[1], pkg)
				if err != nil {
					t.Fatalf("%s: parent: %v", l, err)
				}
				ws.parent[l] = pl
			}
			ws.rootfs += strings.Count(block, "source = rootfs(path = \"rootfs\")")
			ws.amis += strings.Count(block, "source = ami(\"ami-")
			for _, m := range fileRE.FindAllStringSubmatch(block, -1) {
				f := path.Join(pkg, m[1])
				if strings.HasPrefix(m[1], "//") {
					fl, err := label.Parse(m[1])
					if err != nil {
						t.Fatalf("%s: %v", l, err)
					}
					f = path.Join(fl.Pkg, fl.Name)
				}
				ws.files = append(ws.files, f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func (ws *workspace) labels() []string {
	ls := make([]label.Label, 0, len(ws.parent))
	for l := range ws.parent {
		ls = append(ls, l)
	}
	sortLabels(ls)
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.String()
	}
	return out
}

// shape returns the longest parent chain and each parent's child count,
// failing on a parent that is not an image.
func (ws *workspace) shape(t *testing.T) (int, map[label.Label]int) {
	t.Helper()
	depth := map[label.Label]int{}
	var depthOf func(l label.Label, seen int) int
	depthOf = func(l label.Label, seen int) int {
		if d, ok := depth[l]; ok {
			return d
		}
		if seen > len(ws.parent) {
			t.Fatalf("cycle through %s", l)
		}
		p := ws.parent[l]
		d := 1
		if !p.IsZero() {
			if _, ok := ws.parent[p]; !ok {
				t.Fatalf("%s: parent %s is not an image", l, p)
			}
			d = depthOf(p, seen+1) + 1
		}
		depth[l] = d
		return d
	}
	longest := 0
	children := map[label.Label]int{}
	for l, p := range ws.parent {
		longest = max(longest, depthOf(l, 0))
		if !p.IsZero() {
			children[p]++
		}
	}
	return longest, children
}

// readTree reads every file under dir, each as its mode, a newline, and its
// bytes.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = append([]byte(info.Mode().String()+"\n"), data...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func same(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for p, x := range a {
		if !bytes.Equal(x, b[p]) {
			return false
		}
	}
	return true
}

func TestBaseAMI(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, Config{Images: 30, Packages: 5, Seed: 3, Platform: "aws", BaseAMI: "ami-0123456789abcdef0"}); err != nil {
		t.Fatal(err)
	}
	ws := parse(t, dir)
	if ws.amis == 0 {
		t.Fatal("no ami sources")
	}
	for p, data := range readTree(t, dir) {
		for _, m := range regexp.MustCompile(`ami\("(ami-[0-9a-f]+)"\)`).FindAllSubmatch(data, -1) {
			if string(m[1]) != "ami-0123456789abcdef0" {
				t.Errorf("%s starts from %s", p, m[1])
			}
		}
	}
	for _, c := range []Config{
		{Images: 3, BaseAMI: "ami-0123456789abcdef0"},                  // local
		{Images: 3, Platform: "aws", BaseAMI: "al2023"},                // not an id
		{Images: 3, Platform: "aws", BaseAMI: "ami-0123456789abcdef0"}, // fine
	} {
		_, err := Write(t.TempDir(), c)
		if (err == nil) != (c.Platform == "aws" && c.BaseAMI == "ami-0123456789abcdef0") {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
