package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A cache record whose image is of no use (deleted, emptied, naming
// another key's image, or naming none) is a miss with a warning: plan
// says the image bakes again, build bakes it again and says why, and the
// next build finds it cached.
func TestADamagedCachedImageIsBakedAgain(t *testing.T) {
	t.Parallel()
	for name, damage := range map[string]func(t *testing.T, ws *testWorkspace, key string){
		"tree deleted": func(t *testing.T, ws *testWorkspace, key string) {
			if err := os.RemoveAll(filepath.Join(ws.cache, "images", key)); err != nil {
				t.Fatal(err)
			}
		},
		"tree emptied": func(t *testing.T, ws *testWorkspace, key string) {
			dir := filepath.Join(ws.cache, "images", key)
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
					t.Fatal(err)
				}
			}
		},
		"record names no image": func(t *testing.T, ws *testWorkspace, key string) {
			editRecord(t, ws, key, func(rec map[string]any) { rec["images"] = map[string]string{} })
		},
		"record names another key's image": func(t *testing.T, ws *testWorkspace, key string) {
			// Another image, baked: its tree is whole, and not this key's.
			writeFiles(t, ws.root, map[string]string{"other/IMAGES.star": `image(name = "other", parent = "//base", provision = [shell(inline = ["true"])])` + "\n"})
			if r := ws.imgraph(t, nil, "build", "//other"); r.code != exitOK {
				t.Fatalf("build //other: %v", r)
			}
			var other string
			for k := range recordKeys(t, ws.cache) {
				if k != key {
					other = k
				}
			}
			editRecord(t, ws, key, func(rec map[string]any) { rec["images"] = map[string]string{"us-east-1": other} })
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ws := newWorkspace(t, map[string]string{
				"base/IMAGES.star": `image(name = "base", source = rootfs(path = "rootfs"), provision = [shell(inline = ["echo hi > /etc/hi"])])` + "\n",
			})
			if r := ws.imgraph(t, nil, "build"); r.code != exitOK {
				t.Fatalf("build: %v", r)
			}
			keys := recordKeys(t, ws.cache)
			if len(keys) != 1 {
				t.Fatalf("%d records, want 1", len(keys))
			}
			var key string
			for k := range keys {
				key = k
			}
			damage(t, ws, key)

			r := ws.imgraph(t, nil, "plan", "//base")
			if r.code != exitOK || !strings.Contains(r.stdout, "bake    //base:base") || !strings.Contains(r.stderr, "warning: the cache's record of //base:base") {
				t.Fatalf("plan after the damage: %v\nwant a bake and a warning", r)
			}
			r = ws.imgraph(t, nil, "build", "//base")
			if r.code != exitOK || !strings.Contains(r.stderr, "warning: the cache's record of //base:base") {
				t.Fatalf("build after the damage: %v\nwant a rebake and a warning", r)
			}
			if rows, _ := summary(t, r.stdout); rows["//base:base"].action != "bake" {
				t.Errorf("build after the damage: %s, want bake:\n%s", rows["//base:base"].action, r.stdout)
			}
			if data, err := os.ReadFile(filepath.Join(ws.cache, "images", key, "etc", "hi")); err != nil || string(data) != "hi\n" {
				t.Errorf("the image was not baked again: /etc/hi = %q, %v", data, err)
			}
			r = ws.imgraph(t, nil, "build", "//base")
			if rows, _ := summary(t, r.stdout); r.code != exitOK || rows["//base:base"].action != "cached" {
				t.Errorf("the build after: %v\nwant the image cached", r)
			}
		})
	}
}

// editRecord rewrites the local cache's record of key.
func editRecord(t *testing.T, ws *testWorkspace, key string, edit func(rec map[string]any)) {
	t.Helper()
	path := filepath.Join(ws.cache, "records", key[:2], key+".json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	edit(rec)
	if data, err = json.Marshal(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
