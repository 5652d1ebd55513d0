package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/internal/testrootfs"
)

// Locking for one platform keeps every other platform's entries: the
// local platform's graph names no AMI, and must not delete the lock the
// aws platform's builds need.
func TestLockForOnePlatformKeepsTheOthers(t *testing.T) {
	startSim(t)
	ws := examplesWorkspace(t, "aws")
	if r := ws.imgraph(t, nil, "lock"); r.code != exitOK {
		t.Fatalf("lock: %v", r)
	}
	before, err := os.ReadFile(filepath.Join(ws.root, "IMAGES.lock"))
	if err != nil {
		t.Fatal(err)
	}
	// The local platform's base image starts from a root filesystem.
	if err := os.MkdirAll(filepath.Join(ws.root, "examples", "base", "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"lock", "--platform", "local"}, {"lock", "--update", "--platform", "local"}} {
		r := ws.imgraph(t, nil, args...)
		if r.code != exitOK || !strings.Contains(r.stdout, "IMAGES.lock is up to date (1 sources)") {
			t.Errorf("%s: %v", strings.Join(args, " "), r)
		}
		if after, _ := os.ReadFile(filepath.Join(ws.root, "IMAGES.lock")); string(after) != string(before) {
			t.Errorf("%s rewrote IMAGES.lock:\n%s\nwas:\n%s", strings.Join(args, " "), after, before)
		}
	}
}

// lock --update PATTERN resolves again the sources the pattern selects,
// and nothing else: not the other images' sources, newer as they may be,
// nor the sources the lock does not cover yet.
func TestLockUpdateOfAPatternTouchesOnlyIt(t *testing.T) {
	sim := startSim(t)
	rootfs := filepath.Join(t.TempDir(), "ubuntu")
	testrootfs.At(t, rootfs)
	register := func(name string, created time.Time) {
		t.Helper()
		if _, err := sim.RegisterImage("us-east-1", ec2sim.BaseImage{Name: name, Owner: "amazon", RootFS: rootfs, Created: created}); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	register("ubuntu-noble-1", day)
	register("debian-12-1", day)
	ws := &testWorkspace{root: filepath.Join(t.TempDir(), "ws"), cache: filepath.Join(t.TempDir(), "cache")}
	writeFiles(t, ws.root, map[string]string{
		"IMAGES.star":        `workspace(name = "t", platform = "aws")` + "\n",
		"ubuntu/IMAGES.star": `image(name = "ubuntu", source = ami_filter(owners = ["amazon"], name = "ubuntu-noble-*"))` + "\n",
		"debian/IMAGES.star": `image(name = "debian", source = ami_filter(owners = ["amazon"], name = "debian-12-*"))` + "\n",
	})
	if r := ws.imgraph(t, nil, "lock"); r.code != exitOK {
		t.Fatalf("lock: %v", r)
	}
	first, err := engine.ReadLock(ws.root)
	if err != nil {
		t.Fatal(err)
	}
	register("ubuntu-noble-2", day.Add(24*time.Hour))
	register("debian-12-2", day.Add(24*time.Hour))
	// An image added since: lock --update //ubuntu is not the moment to
	// lock its source.
	register("fedora-41-1", day)
	writeFiles(t, ws.root, map[string]string{
		"fedora/IMAGES.star": `image(name = "fedora", source = ami_filter(owners = ["amazon"], name = "fedora-41-*"))` + "\n",
	})

	if r := ws.imgraph(t, nil, "lock", "--update", "//ubuntu"); r.code != exitOK || !strings.Contains(r.stdout, "IMAGES.lock: 1 changes") {
		t.Fatalf("lock --update //ubuntu: %v", r)
	}
	next, err := engine.ReadLock(ws.root)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range next.Sources {
		moved := e.ID != first.Sources[i].ID
		if ubuntu := strings.Contains(e.Source, "ubuntu"); moved != ubuntu {
			t.Errorf("%s: %s -> %s; want only the ubuntu source resolved again", e.Source, first.Sources[i].ID, e.ID)
		}
	}
}

// A lock entry whose id is not an image id of the platform that bakes
// its source is bad input, however it got there.
func TestLockEntryThatIsNotAnImageID(t *testing.T) {
	ws := &testWorkspace{root: filepath.Join(t.TempDir(), "ws"), cache: filepath.Join(t.TempDir(), "cache")}
	writeFiles(t, ws.root, map[string]string{
		"IMAGES.star":      `workspace(name = "t", platform = "aws")` + "\n",
		"base/IMAGES.star": `image(name = "base", source = ssm_parameter("/images/base"))` + "\n",
		"IMAGES.lock": `{"version": 1, "sources": [
  {"source": "ssm_parameter(name = \"/images/base\")", "region": "us-east-1", "id": "../../etc/passwd"}]}
`,
	})
	for _, cmd := range []string{"plan", "explain", "lock"} {
		args := []string{cmd}
		if cmd == "explain" {
			args = append(args, "//base")
		}
		r := ws.imgraph(t, nil, args...)
		if r.code != exitBadInput || !strings.Contains(r.stderr, `IMAGES.lock: ssm_parameter(name = "/images/base") in us-east-1: "../../etc/passwd" is not an AMI id`) {
			t.Errorf("%s: %v\nwant exit 2 naming the entry", cmd, r)
		}
	}
}
