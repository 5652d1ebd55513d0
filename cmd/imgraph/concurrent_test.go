package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/engine"
)

// diamond is one root with four children; child(n) is the provisioning
// of the n-th, 1 to 4.
func diamond(child func(n int) string) map[string]string {
	var kids strings.Builder
	for n := 1; n <= 4; n++ {
		fmt.Fprintf(&kids, "image(name = \"kid%d\", parent = \"//base:root\", provision = [shell(inline = [%s])])\n", n, child(n))
	}
	return map[string]string{
		"base/IMAGES.star": `image(name = "root", source = rootfs(path = "rootfs"), provision = [shell(inline = ["echo root > /etc/root"])])
`,
		"kids/IMAGES.star": kids.String(),
	}
}

// checksum is real work for a child: a checksum of every file of the image.
func checksum(n int) string {
	return fmt.Sprintf(`"find / -xdev -type f -exec sha256sum {} + > /etc/kid%d.sum"`, n)
}

// concurrency returns the most bakes the events show running at once:
// each bake runs from its start to its finish or failure.
func concurrency(t *testing.T, events []engine.Event) int {
	t.Helper()
	running, most := 0, 0
	for _, e := range events {
		if e.Action != "bake" {
			continue
		}
		switch e.Type {
		case engine.EventStart:
			running++
			most = max(most, running)
		case engine.EventFinish, engine.EventFail:
			running--
		}
	}
	if running != 0 {
		t.Errorf("%d bakes started and never finished", running)
	}
	return most
}

// With --jobs 4, four siblings bake at once: each child's script waits at
// a gate the test opens only once all four are there, so the build can
// only finish if the four run together.
func TestBuildSiblingsAtOnce(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	ws := newWorkspace(t, diamond(func(n int) string {
		return fmt.Sprintf("%q, %s", g.pass(fmt.Sprintf("kid%d", n)), checksum(n))
	}))
	events := filepath.Join(t.TempDir(), "events.jsonl")
	done := make(chan result, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- ws.imgraph(t, nil, "build", "--jobs", "4", "--events", events)
	}()
	// On a failure the build is interrupted when the test ends, and must
	// be over before its directories are removed.
	t.Cleanup(func() { <-finished })
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	for n := 1; n <= 4; n++ {
		select {
		case <-g.arrival(fmt.Sprintf("kid%d", n)):
		case r := <-done:
			t.Fatalf("the build ended before all four children were baking: %v", r)
		case <-ctx.Done():
			t.Fatalf("child %d never reached its gate", n)
		}
	}
	for n := 1; n <= 4; n++ {
		g.open(fmt.Sprintf("kid%d", n))
	}
	r := <-done
	if r.code != exitOK {
		t.Fatalf("build: %v", r)
	}

	evs := readEvents(t, events)
	firstFinish, lastStart := len(evs), -1
	for i, e := range evs {
		if e.Action != "bake" || !strings.HasPrefix(e.Label, "//kids:") {
			continue
		}
		switch e.Type {
		case engine.EventStart:
			lastStart = max(lastStart, i)
		case engine.EventFinish:
			firstFinish = min(firstFinish, i)
		}
	}
	if lastStart > firstFinish {
		t.Errorf("a child finished (event %d) before the last one started (event %d)", firstFinish, lastStart)
	}
	if got := concurrency(t, evs); got != 4 {
		t.Errorf("the events show at most %d bakes at once, want 4 (--jobs 4)", got)
	}
	if finishes := bakeEvents(evs, engine.EventFinish); len(finishes) != 5 {
		t.Errorf("%d images baked, want 5", len(finishes))
	}
}

// With --jobs 1 the same graph bakes one image at a time.
func TestBuildOneJob(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, diamond(checksum))
	events := filepath.Join(t.TempDir(), "events.jsonl")
	r := ws.imgraph(t, nil, "build", "--jobs", "1", "--events", events)
	if r.code != exitOK {
		t.Fatalf("build: %v", r)
	}
	evs := readEvents(t, events)
	if got := concurrency(t, evs); got != 1 {
		t.Errorf("the events show %d bakes at once, want 1 (--jobs 1)", got)
	}
	if finishes := bakeEvents(evs, engine.EventFinish); len(finishes) != 5 {
		t.Errorf("%d images baked, want 5", len(finishes))
	}
}

// Two imgraph processes building the same graph on one cache bake each
// image once: the second waits for the first and reuses its bake.
func TestBuildTwoProcessesOneCache(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	files := map[string]string{
		// Process a holds the root's bake until b has planned it too.
		"base/IMAGES.star": `image(name = "root", source = rootfs(path = "rootfs"), provision = [shell(inline = ["` + g.pass("root") + `", "echo root > /etc/root"])])
`,
		"apps/IMAGES.star": `image(name = "a", parent = "//base:root", provision = [shell(inline = ["echo a > /etc/a"])])
image(name = "b", parent = "//base:root", provision = [shell(inline = ["echo b > /etc/b"])])
image(name = "c", parent = ":a", provision = [shell(inline = ["echo c > /etc/c"])])
`,
	}
	// Two copies of the workspace, since each build writes its own
	// imgraph-out; keys do not depend on where the workspace is.
	wsA := newWorkspace(t, files)
	wsB := newWorkspace(t, files)
	wsB.cache = wsA.cache
	dir := t.TempDir()
	eventsA := filepath.Join(dir, "a.jsonl")
	streamB := newEventFIFO(t, filepath.Join(dir, "b.jsonl"))

	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	a := wsA.start(t, nil, "build", "--events", eventsA)
	select {
	case <-g.arrival("root"):
	case <-a.done:
		t.Fatalf("the first build ended before baking the root: %v", a.wait(t))
	case <-ctx.Done():
		t.Fatalf("the first build never baked the root:\n%s", a.stderr)
	}
	b := wsB.start(t, nil, "build", "--events", filepath.Join(dir, "b.jsonl"))
	// b has planned once it starts building: the root had no record then.
	if err := streamB.waitFor(ctx, "the second build to start", func(e engine.Event) bool { return e.Type == engine.EventBuildStart }); err != nil {
		t.Fatalf("%v\n%s", err, b.stderr)
	}
	g.open("root")
	ra, rb := a.wait(t), b.wait(t)
	if ra.code != exitOK || rb.code != exitOK {
		t.Fatalf("first build: %v\nsecond build: %v", ra, rb)
	}
	if err := streamB.waitFor(ctx, "the second build's last event", func(e engine.Event) bool { return e.Type == engine.EventBuildFinish }); err != nil {
		t.Fatal(err)
	}
	evsA := readEvents(t, eventsA)
	evsB, err := streamB.all()
	if err != nil {
		t.Fatal(err)
	}

	// Every key bakes once, in one process; the other reuses it.
	labels := []string{"//base:root", "//apps:a", "//apps:b", "//apps:c"}
	both := map[string][]engine.Event{"first": evsA, "second": evsB}
	for _, l := range labels {
		key := keyOf(t, evsA, l)
		if keyB := keyOf(t, evsB, l); keyB != key {
			t.Fatalf("%s has key %s in one workspace and %s in its copy", l, key, keyB)
		}
		bakedBy := []string{}
		for name, evs := range both {
			finishes, cached := 0, 0
			for _, e := range evs {
				switch {
				case e.Key == key && e.Type == engine.EventFinish && e.Action == "bake":
					finishes++
				case e.Key == key && e.Type == engine.EventCached:
					cached++
				}
			}
			switch {
			case finishes == 1 && cached == 0:
				bakedBy = append(bakedBy, name)
			case finishes == 0 && cached == 1:
			default:
				t.Errorf("the %s build baked %s %d times and reused it %d times", name, l, finishes, cached)
			}
		}
		if len(bakedBy) != 1 {
			t.Errorf("%s was baked by %d builds (%v), want 1", l, len(bakedBy), bakedBy)
		}
	}
	rows, _ := summary(t, rb.stdout)
	if rows["//base:root"].action != "cached*" || !strings.Contains(rb.stdout, "* baked by another build running at the same time") {
		t.Errorf("the second build does not say the first baked the root while it waited:\n%s", rb.stdout)
	}

	if keys := recordKeys(t, wsA.cache); len(keys) != len(labels) {
		t.Errorf("the cache holds %d records, want %d", len(keys), len(labels))
	}
	ma, err := engine.ReadManifest(filepath.Join(wsA.root, "imgraph-out"))
	if err != nil {
		t.Fatal(err)
	}
	mb, err := engine.ReadManifest(filepath.Join(wsB.root, "imgraph-out"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range labels {
		ea, eb := ma.Images[l], mb.Images[l]
		if ea.Key == "" || ea.Key != eb.Key || ea.Images["us-east-1"] == "" || ea.Images["us-east-1"] != eb.Images["us-east-1"] {
			t.Errorf("the manifests disagree on %s: %+v and %+v", l, ea, eb)
		}
	}
	if left := tmpTrees(t, wsA.cache); len(left) > 0 {
		t.Errorf("temporary trees left behind: %v", left)
	}
	if _, err := os.Stat(filepath.Join(wsA.cache, "images", ma.Images["//apps:c"].Images["us-east-1"], "etc", "c")); err != nil {
		t.Errorf("//apps:c: %v", err)
	}
}
