//go:build linux

package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/internal/testrootfs"
	"github.com/imgraph/imgraph/rules"
)

func TestPhases(t *testing.T) {
	t.Parallel()
	b, _ := newBaker(t)
	ws := newWorkspace(t)
	var phases []string
	job := rootJob(image("phases", inline("true"), copyTo(ws.file("f", "f\n", 0o644), "/f", "")), testrootfs.New(t))
	job.Phase = func(p string) { phases = append(phases, p) }
	bakeOK(t, b, job)
	want := []string{bake.PhasePrepare, "provision [0] shell", "provision [1] copy", bake.PhaseCapture, bake.PhaseCleanup}
	if fmt.Sprint(phases) != fmt.Sprint(want) {
		t.Errorf("phases = %q, want %q", phases, want)
	}
}

// Two bakes of one key at once (two imgraph processes, say) end with one
// image and no temporary tree.
func TestConcurrentBakesOfOneKey(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	rootfs := testrootfs.New(t)
	key := newKey()
	var g errgroup.Group
	for i := range 2 {
		g.Go(func() error {
			job := rootJob(image("same", inline(fmt.Sprintf("echo %d > /who", i))), rootfs)
			job.Key = key
			var log strings.Builder
			job.Log = &log
			id, err := b.Bake(context.Background(), job)
			if err == nil && id != key {
				err = fmt.Errorf("bake %d returned %s", i, id)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(store.Path("images"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{key, key + ".entries"}) {
		t.Errorf("images/ holds %v, want only %s and its count of entries", names, key)
	}
	if who := imageFile(t, b, key, "who"); who != "0\n" && who != "1\n" {
		t.Errorf("/who = %q: the image is not one bake's whole tree", who)
	}
}

// When another process captures the same key first, its image stands and
// this bake's tree is discarded.
func TestCaptureLosesToAnotherProcess(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	job := rootJob(image("late", inline("echo mine > /who")), testrootfs.New(t))
	job.Phase = func(p string) {
		if p == bake.PhaseCapture {
			mustMkdir(t, filepath.Join(b.ImageDir(job.Key), "etc"), 0o755)
			writeFile(t, filepath.Join(b.ImageDir(job.Key), "who"), "theirs\n", 0o644)
		}
	}
	bakeOK(t, b, job)
	if who := imageFile(t, b, job.Key, "who"); who != "theirs\n" {
		t.Errorf("/who = %q, want the image captured first", who)
	}
	if left := leftovers(t, store); len(left) > 0 {
		t.Errorf("temporary trees left: %v", left)
	}
}

// An image cut down since it was captured is damaged: the bake moves it
// aside with its count and bakes it again. One that cannot be read (its
// count here unreadable) may be whole: it is an error, and left be.
func TestDamagedAndUnreadableImages(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	job := rootJob(image("kept", inline("echo hi > /hi")), testrootfs.New(t))
	bakeOK(t, b, job)
	ref := bake.ImageRef{Region: "local", ID: job.Key, Key: job.Key}

	if err := os.Remove(filepath.Join(b.ImageDir(job.Key), "hi")); err != nil {
		t.Fatal(err)
	}
	if exist, err := b.Exist(context.Background(), []bake.ImageRef{ref}); err != nil || exist[ref] {
		t.Fatalf("Exist of a cut-down image = %v, %v; want false", exist, err)
	}
	bakeOK(t, b, job)
	if hi := imageFile(t, b, job.Key, "hi"); hi != "hi\n" {
		t.Errorf("/hi = %q after baking again", hi)
	}
	if left := leftovers(t, store); len(left) > 0 {
		t.Errorf("temporary trees left: %v", left)
	}

	count := store.Path("images", job.Key+".entries")
	if err := os.Remove(count); err != nil {
		t.Fatal(err)
	}
	mustMkdir(t, count, 0o755)
	if _, err := b.Exist(context.Background(), []bake.ImageRef{ref}); err == nil {
		t.Error("Exist of an image that cannot be read succeeded")
	}
	if _, err := b.Bake(context.Background(), job); err == nil || !strings.Contains(err.Error(), "reading image") {
		t.Errorf("Bake over an image that cannot be read = %v, want an error reading it", err)
	}
	// Its layer, read as it is: the image cannot be read whole.
	if hi, err := os.ReadFile(filepath.Join(b.ImageDir(job.Key), "hi")); err != nil || string(hi) != "hi\n" {
		t.Errorf("/hi = %q, %v: the image that could not be read was touched", hi, err)
	}
}

// An image seen whole is remembered by its tree's stat, and a look that
// the index answers still sees an image cut down since.
func TestAnImageSeenWholeIsStillCheckedForDamage(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	job := rootJob(image("kept", inline("echo hi > /hi")), testrootfs.New(t))
	bakeOK(t, b, job)
	ref := bake.ImageRef{Region: "local", ID: job.Key, Key: job.Key}
	exist := func(what string, want bool) {
		t.Helper()
		again, err := local.New(store, local.Options{}) // another process
		if err != nil {
			t.Fatal(err)
		}
		if got, err := again.Exist(context.Background(), []bake.ImageRef{ref}); err != nil || got[ref] != want {
			t.Fatalf("%s: Exist = %v, %v; want %v", what, got, err, want)
		}
	}
	// Too new to be remembered: its tree could change within the tick.
	exist("right after the bake", true)
	if data, _ := os.ReadFile(store.Path("images.index")); strings.Contains(string(data), job.Key) {
		t.Errorf("an image just baked was remembered as whole")
	}
	fi, err := os.Lstat(b.ImageDir(job.Key))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := cache.StatOf(fi)
	time.Sleep(time.Until(time.Unix(0, st.CTime).Add(cache.RacyWindow + time.Millisecond)))
	exist("once it settled", true)
	if data, _ := os.ReadFile(store.Path("images.index")); !strings.Contains(string(data), job.Key) {
		t.Errorf("an image seen whole was not remembered")
	}
	exist("remembered", true)
	if err := os.Remove(filepath.Join(b.ImageDir(job.Key), "hi")); err != nil {
		t.Fatal(err)
	}
	exist("cut down", false)
}

func TestExistCopyPublish(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	id, _ := bakeOK(t, b, rootJob(image("base"), testrootfs.New(t)))
	ctx := context.Background()
	missing := newKey()
	ref := func(region, id, key string) bake.ImageRef { return bake.ImageRef{Key: key, Region: region, ID: id} }
	want := map[bake.ImageRef]bool{
		ref("us-east-1", id, id): true, ref("eu-west-1", id, id): true,
		ref("us-east-1", missing, missing): false, ref("us-east-1", "../../etc", "../../etc"): false,
		ref("us-east-1", id, missing): false, // another key's image
	}
	exist, err := b.Exist(ctx, slices.Collect(maps.Keys(want)))
	if err != nil {
		t.Fatal(err)
	}
	for r, ok := range want {
		if exist[r] != ok {
			t.Errorf("Exist[%+v] = %v, want %v", r, exist[r], ok)
		}
	}

	copied, err := b.Copy(ctx, &bake.CopyJob{ID: id, From: "us-east-1", To: "eu-west-1"})
	if err != nil || copied != id {
		t.Errorf("Copy = %q, %v; want the same id", copied, err)
	}
	if _, err := b.Copy(ctx, &bake.CopyJob{ID: missing, From: "us-east-1", To: "eu-west-1"}); err == nil {
		t.Errorf("Copy of an image that is not baked succeeded")
	}

	before := treeHash(t, b.ImageDir(id))
	tags := map[string]string{"imgraph:key": id, "Team": "platform"}
	if err := b.Publish(ctx, &bake.PublishJob{Image: image("base"), ID: id, Region: "us-east-1", Tags: tags}); err != nil {
		t.Fatal(err)
	}
	if treeHash(t, b.ImageDir(id)) != before {
		t.Errorf("Publish changed the image")
	}
	data, err := os.ReadFile(store.Path("images", id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Tags map[string]string }
	if err := json.Unmarshal(data, &rec); err != nil || rec.Tags["Team"] != "platform" {
		t.Errorf("published record %s: %v", data, err)
	}
	if left := leftovers(t, store); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestResolveIsBadInput(t *testing.T) {
	t.Parallel()
	b, _ := newBaker(t)
	_, err := b.Resolve(context.Background(), "us-east-1", &rules.Source{Kind: rules.SourceAMIFilter})
	var bad interface{ BadInput() bool }
	if !errors.As(err, &bad) || !bad.BadInput() || !strings.Contains(err.Error(), "no floating sources") {
		t.Errorf("Resolve = %v, want a bad-input error saying there are no floating sources", err)
	}
}

func TestBadJobs(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	cases := []struct {
		name string
		job  *bake.Job
		want string
	}{
		{"parent not baked", childJob(image("orphan"), newKey()), "is not baked"},
		{"ami source", &bake.Job{Image: image("ami"), Key: newKey(), Source: &rules.Source{Kind: rules.SourceAMI}, SourceID: "ami-0123"},
			"bakes from a parent image or a root filesystem"},
		{"missing rootfs", rootJob(image("gone"), "/nonexistent/rootfs"), "/nonexistent/rootfs"},
		{"key not hex", &bake.Job{Image: image("bad"), Key: "../escape", Parent: newKey()}, "not an image id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.Bake(context.Background(), c.job)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Bake = %v, want an error containing %q", err, c.want)
			}
		})
	}
	if left := leftovers(t, store); len(left) > 0 {
		t.Errorf("temporary trees left: %v", left)
	}
}
