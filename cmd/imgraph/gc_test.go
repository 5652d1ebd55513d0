package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/cache"
)

// rebake changes base's script to say version and builds //..., and
// returns the key base got.
func rebake(t *testing.T, ws *testWorkspace, files func(version string) map[string]string, version string, label string, args ...string) string {
	t.Helper()
	writeFiles(t, ws.root, files(version))
	events := filepath.Join(t.TempDir(), "events.jsonl")
	if r := ws.imgraph(t, nil, append([]string{"build", "--events", events}, args...)...); r.code != exitOK {
		t.Fatalf("build of %s: %v", version, r)
	}
	return keyOf(t, readEvents(t, events), label)
}

// gcRow is one line of gc's table.
type gcRow struct{ action, label, key, region, id, why string }

// gcRows parses gc's table by image id (local images are their keys,
// shortened), and returns its last line.
func gcRows(t *testing.T, stdout string) (map[string]gcRow, string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "ACTION ") {
		t.Fatalf("gc printed no table:\n%s", stdout)
	}
	rows := map[string]gcRow{}
	for _, line := range lines[1 : len(lines)-1] {
		if strings.HasPrefix(line, " ") {
			continue // another reason of the row above
		}
		action, rest := line, ""
		for _, a := range []string{"would remove", "removed", "failed", "keep"} {
			if after, ok := strings.CutPrefix(line, a+" "); ok {
				action, rest = a, after
				break
			}
		}
		f := strings.Fields(rest)
		if len(f) < 6 {
			t.Fatalf("a gc row with too few columns: %q", line)
		}
		rows[f[3]] = gcRow{action: action, label: f[0], key: f[1], region: f[2], id: f[3], why: strings.Join(f[6:], " ")}
	}
	return rows, lines[len(lines)-1]
}

// TestGCLocal bakes four versions of an image on the local platform and
// retires the superseded ones: the one another build holds and the
// newest superseded stay, with the current one; the rest leave the
// cache, trees and records, and the space is reported.
func TestGCLocal(t *testing.T) {
	ws := newWorkspace(t, nil)
	files := func(v string) map[string]string {
		return map[string]string{
			"base/IMAGES.star": `image(name = "base", source = rootfs(path = "rootfs"), provision = [shell(script = "setup.sh")])`,
			"base/setup.sh":    "head -c 300000 /dev/urandom > /payload\necho " + v + " > /version\n",
		}
	}
	var keys []string
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		keys = append(keys, rebake(t, ws, files, v, "//base:base"))
	}
	// Another build holds v1's key.
	store, err := cache.OpenLocal(ws.cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := store.Lock(t.Context(), keys[0])
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	image := func(k string) string { return filepath.Join(ws.cache, "images", k) }
	record := func(k string) string { return filepath.Join(ws.cache, "records", k[:2], k+".json") }
	want := map[string]string{keys[0]: "keep", keys[1]: "would remove", keys[2]: "keep", keys[3]: "keep"}
	why := map[string]string{
		keys[0]: "another build holds the key's lease", keys[1]: "superseded (the current key of //base:base is " + keys[3][:12],
		keys[2]: "one of the 1 newest superseded versions", keys[3]: "the current key of //base:base",
	}
	check := func(r result, want map[string]string) {
		t.Helper()
		rows, last := gcRows(t, r.stdout)
		for k, action := range want {
			row, ok := rows[k[:12]]
			if !ok {
				t.Errorf("gc does not list %s:\n%s", k[:12], r.stdout)
				continue
			}
			if row.action != action || !strings.Contains(row.why, why[k]) {
				t.Errorf("gc: %s is %q (%s), want %q (%s)", k[:12], row.action, row.why, action, why[k])
			}
		}
		if len(rows) != len(want) {
			t.Errorf("gc lists %d images, want %d:\n%s", len(rows), len(want), r.stdout)
		}
		if strings.Contains(last, " 0 B") == (want[keys[1]] != "keep") {
			t.Errorf("gc's last line %q: want the space freed", last)
		}
	}

	dry := ws.imgraph(t, nil, "gc", "--keep", "1", "--older-than", "0s", "--dry-run")
	if dry.code != exitOK {
		t.Fatalf("gc --dry-run: %v", dry)
	}
	check(dry, want)
	for _, k := range keys {
		if !exists(image(k)) || !exists(record(k)) {
			t.Errorf("gc --dry-run removed %s", k[:12])
		}
	}

	r := ws.imgraph(t, nil, "gc", "--keep", "1", "--older-than", "0s")
	if r.code != exitOK {
		t.Fatalf("gc: %v", r)
	}
	want[keys[1]] = "removed"
	check(r, want)
	if _, last := gcRows(t, r.stdout); !strings.Contains(last, "1 removed") || !strings.Contains(last, "MiB") {
		t.Errorf("gc's last line %q: want one removed and the MiBs of its tree freed", last)
	}
	for i, k := range keys {
		gone := i == 1
		if exists(image(k)) == gone || exists(record(k)) == gone || exists(image(k)+".json") == gone {
			t.Errorf("after gc, image %d (%s): tree there %v, record there %v; want gone %v", i+1, k[:12], exists(image(k)), exists(record(k)), gone)
		}
	}
	if left := tmpTrees(t, ws.cache); len(left) > 0 {
		t.Errorf("gc left trees aside: %v", left)
	}

	// Again: nothing more goes, whatever the dry run said.
	again := ws.imgraph(t, nil, "gc", "--keep", "1", "--older-than", "0s", "--output", "json")
	if again.code != exitOK {
		t.Fatalf("gc again: %v", again)
	}
	var out gcJSON
	if err := json.Unmarshal([]byte(again.stdout), &out); err != nil {
		t.Fatal(err)
	}
	for _, v := range out.Versions {
		if v.Remove {
			t.Errorf("a second gc removes %s", v.Key)
		}
	}
	if len(out.Versions) != 3 || out.FreedBytes != 0 {
		t.Errorf("a second gc: %d versions, %d bytes freed; want 3 kept, none freed", len(out.Versions), out.FreedBytes)
	}
	validate(t, schema(t, "gc.schema.json"), "gc's JSON", []byte(again.stdout))

	// The current image still builds from the cache: nothing it needs went.
	if r := ws.imgraph(t, nil, "plan", "--output", "json"); r.code != exitOK || !strings.Contains(r.stdout, `"action": "cached"`) {
		t.Errorf("plan after gc: %v", r)
	}
	if _, err := os.Stat(image(keys[3])); err != nil {
		t.Error(err)
	}
}

// Local images are layers on their parents': gc removes a superseded
// child and the superseded parent it lay on in one run, and never a layer
// a kept image lies on.
func TestGCLocalLayers(t *testing.T) {
	ws := newWorkspace(t, nil)
	files := func(v string) map[string]string {
		return map[string]string{
			"base/IMAGES.star": `image(name = "base", source = rootfs(path = "rootfs"), provision = [shell(inline = ["echo ` + v + ` > /version"])])
image(name = "app", parent = ":base", provision = [shell(inline = ["cat /version > /app"])])
image(name = "pinned", parent = ":base", salt = "` + v + `")
`,
		}
	}
	var bases, apps, pinned []string
	for _, v := range []string{"v1", "v2"} {
		writeFiles(t, ws.root, files(v))
		events := filepath.Join(t.TempDir(), "events.jsonl")
		if r := ws.imgraph(t, nil, "build", "--events", events); r.code != exitOK {
			t.Fatalf("build of %s: %v", v, r)
		}
		evs := readEvents(t, events)
		bases = append(bases, keyOf(t, evs, "//base:base"))
		apps = append(apps, keyOf(t, evs, "//base:app"))
		pinned = append(pinned, keyOf(t, evs, "//base:pinned"))
	}
	// A build of another revision holds the first pinned image, which
	// lies on the first base.
	store, err := cache.OpenLocal(ws.cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	pinnedV1 := pinned[0]
	unlock, err := store.Lock(t.Context(), pinnedV1)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	// The dry run says what the run does: the base stays.
	dry := ws.imgraph(t, nil, "gc", "--keep", "0", "--older-than", "0s", "--dry-run")
	if rows, _ := gcRows(t, dry.stdout); dry.code != exitOK || rows[bases[0][:12]].action != "keep" {
		t.Errorf("gc --dry-run: the first base is %q, want keep:\n%s", rows[bases[0][:12]].action, dry.stdout)
	}
	r := ws.imgraph(t, nil, "gc", "--keep", "0", "--older-than", "0s")
	if r.code != exitOK {
		t.Fatalf("gc: %v", r)
	}
	rows, _ := gcRows(t, r.stdout)
	if row := rows[apps[0][:12]]; row.action != "removed" {
		t.Errorf("the first app: %+v, want removed:\n%s", row, r.stdout)
	}
	if row := rows[bases[0][:12]]; row.action != "keep" || !strings.Contains(row.why, "lies on its") {
		t.Errorf("the first base, under a kept image: %+v, want kept for the image on its layer:\n%s", row, r.stdout)
	}
	if !exists(filepath.Join(ws.cache, "images", bases[0])) {
		t.Fatal("gc removed a layer a kept image lies on")
	}
	out := filepath.Join(t.TempDir(), "pinned")
	if r := ws.imgraph(t, nil, "export", "//base:pinned", out, "--format", "dir"); r.code != exitOK {
		t.Errorf("export of the current pinned image after gc: %v", r)
	}

	// Once nothing holds the pinned image, the next gc takes it and the
	// base it lay on, in one run.
	unlock()
	r = ws.imgraph(t, nil, "gc", "--keep", "0", "--older-than", "0s")
	if r.code != exitOK {
		t.Fatalf("second gc: %v", r)
	}
	rows, _ = gcRows(t, r.stdout)
	for _, k := range []string{pinnedV1, bases[0]} {
		if rows[k[:12]].action != "removed" || exists(filepath.Join(ws.cache, "images", k)) {
			t.Errorf("%s: %+v, want removed:\n%s", k[:12], rows[k[:12]], r.stdout)
		}
	}
	for _, k := range []string{bases[1], apps[1]} {
		if !exists(filepath.Join(ws.cache, "images", k)) {
			t.Errorf("gc removed the current %s", k[:12])
		}
	}
}
