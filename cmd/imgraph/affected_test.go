package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// affected --since names exactly the images below a script edited since
// the revision, and none for an edit of tags, which are not in any key;
// the root filesystem, ignored by git, counts as unchanged.
func TestAffectedSince(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed: make test's machine has it")
	}
	ws := newWorkspace(t, map[string]string{
		".gitignore":       "base/rootfs/\n",
		"base/IMAGES.star": `image(name = "al2023", source = rootfs(path = "rootfs"))`,
		"apps/IMAGES.star": `image(name = "java", parent = "//base:al2023", provision = [shell(script = "java.sh")], tags = {"Team": "a"})
image(name = "api", parent = ":java")
image(name = "web", parent = "//base:al2023", provision = [shell(script = "web.sh")])`,
		"apps/java.sh": "echo java\n",
		"apps/web.sh":  "echo web\n",
	})
	gitIn := gitAt(t, ws.root)
	gitIn("init", "-q")
	gitIn("add", ".")
	gitIn("commit", "-q", "-m", "first")
	affected := func(what string) []string {
		t.Helper()
		r := ws.imgraph(t, nil, "affected", "--since", "HEAD", "--output", "json")
		var out struct {
			Images []struct{ Label string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); r.code != exitOK || err != nil {
			t.Fatalf("%s: affected: %v (%v)", what, r, err)
		}
		var labels []string
		for _, im := range out.Images {
			labels = append(labels, im.Label)
		}
		return labels
	}
	if got := affected("nothing changed"); len(got) != 0 {
		t.Errorf("with nothing changed, affected: %v", got)
	}
	writeFiles(t, ws.root, map[string]string{"apps/java.sh": "echo java 21\n"})
	if got, want := affected("a script edited"), []string{"//apps:java", "//apps:api"}; !slices.Equal(got, want) {
		t.Errorf("after editing java.sh, affected: %v, want %v", got, want)
	}
	r := ws.imgraph(t, nil, "affected", "--since", "HEAD")
	if !strings.Contains(r.stdout, "//apps:api") || !strings.Contains(r.stdout, "parent //apps:java changes") ||
		!strings.Contains(r.stdout, "provision: [0] shell: script //apps:java.sh") {
		t.Errorf("affected's reasons:\n%s", r.stdout)
	}
	gitIn("commit", "-q", "-a", "-m", "java 21")
	writeFiles(t, ws.root, map[string]string{"apps/IMAGES.star": strings.Replace(readFile(t, ws.root+"/apps/IMAGES.star"), `"Team": "a"`, `"Team": "b"`, 1)})
	if got := affected("a tag edited"); len(got) != 0 {
		t.Errorf("after editing a tag, affected: %v, want none", got)
	}
	if r := ws.imgraph(t, nil, "affected", "--since", "no-such-branch"); r.code != exitBadInput || !strings.Contains(r.stderr, "not a revision") {
		t.Errorf("an unknown revision: %v", r)
	}
}

// A revision that holds a symlink where the working tree has an ignored
// directory gets nothing written through it: the files outside stay as
// they were, and the temporary tree goes, read-only directories and all.
func TestAffectedWritesNothingThroughARevisionsSymlink(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	ws := newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "al2023", source = rootfs(path = "rootfs"))`,
	})
	gitIn := gitAt(t, ws.root)
	if err := os.Symlink(outside, filepath.Join(ws.root, "gen")); err != nil {
		t.Fatal(err)
	}
	gitIn("init", "-q")
	gitIn("add", ".")
	gitIn("commit", "-q", "-m", "gen is a link")
	// Now gen is an ignored directory of generated files, one read-only.
	if err := os.Remove(filepath.Join(ws.root, "gen")); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, ws.root, map[string]string{".gitignore": "gen/\n", "gen/ro/planted": "x"})
	if err := os.Chmod(filepath.Join(ws.root, "gen", "ro"), 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(ws.root, "gen", "ro"), 0o755) })
	before, err := os.Stat(outside)
	if err != nil {
		t.Fatal(err)
	}
	if r := ws.imgraph(t, nil, "affected", "--since", "HEAD"); r.code != exitOK {
		t.Fatalf("affected: %v", r)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("affected wrote %d entries through the revision's symlink", len(entries))
	}
	if fi, _ := os.Stat(outside); fi.Mode() != before.Mode() {
		t.Errorf("the symlink's target is now %v, was %v", fi.Mode(), before.Mode())
	}
	if left, _ := filepath.Glob(filepath.Join(ws.root, "imgraph-out", ".affected-*")); len(left) != 0 {
		t.Errorf("affected left %v", left)
	}
	// What a killed run left goes once it is a day old; a running one's stays.
	old, running := filepath.Join(ws.root, "imgraph-out", ".affected-killed"), filepath.Join(ws.root, "imgraph-out", ".affected-running")
	writeFiles(t, old, map[string]string{"tree/x": ""})
	writeFiles(t, running, map[string]string{"tree/x": ""})
	dayAgo := time.Now().Add(-25 * time.Hour)
	if err := os.Chtimes(old, dayAgo, dayAgo); err != nil {
		t.Fatal(err)
	}
	if r := ws.imgraph(t, nil, "affected", "--since", "HEAD"); r.code != exitOK {
		t.Fatalf("affected: %v", r)
	}
	if _, err := os.Stat(old); err == nil {
		t.Error("a day-old checkout was left")
	}
	if _, err := os.Stat(running); err != nil {
		t.Errorf("a running affected's checkout was removed: %v", err)
	}
}

// A revision from before the workspace existed has no images: every image
// is new. An ignored directory where the revision tracks a file (a .keep)
// is taken from the working tree all the same, entry by entry.
func TestAffectedSinceBeforeTheWorkspaceAndIntoTrackedDirectories(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	gitIn := gitAt(t, root)
	writeFiles(t, root, map[string]string{"README": "before imgraph\n"})
	gitIn("init", "-q")
	gitIn("add", ".")
	gitIn("commit", "-q", "-m", "before")
	ws := &testWorkspace{root: root, cache: t.TempDir()}
	writeFiles(t, root, map[string]string{
		"IMAGES.star":          `workspace(name = "t", platform = "local")`,
		"base/IMAGES.star":     `image(name = "al2023", source = rootfs(path = "rootfs"))`,
		"base/rootfs/.keep":    "",
		"base/rootfs/etc/made": "generated\n",
		".gitignore":           "base/rootfs/*\n!base/rootfs/.keep\n",
	})
	r := ws.imgraph(t, nil, "affected", "--since", "HEAD")
	if r.code != exitOK || !strings.Contains(r.stdout, "//base:al2023") || !strings.Contains(r.stdout, "new") {
		t.Fatalf("affected since a revision without the workspace: %v\nwant //base:al2023, new", r)
	}
	gitIn("add", ".")
	gitIn("commit", "-q", "-m", "imgraph")
	if r := ws.imgraph(t, nil, "affected", "--since", "HEAD"); r.code != exitOK || !strings.Contains(r.stdout, "0 images affected") {
		t.Errorf("affected with the generated files ignored beside a tracked .keep: %v\nwant none", r)
	}
}

// gitAt runs git in dir, as a user named t.
func gitAt(t *testing.T, dir string) func(args ...string) {
	return func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}
