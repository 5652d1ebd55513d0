package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A secret_env value reaches the script and nothing else: not the cache,
// the image's record, the logs, the manifest, the events or the output.
func TestBuildSecretEnv(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "root", source = rootfs(path = "rootfs"), provision = [shell(inline = ["echo root > /etc/root"])])
`,
		"sec/IMAGES.star": `image(name = "sec", parent = "//base:root", provision = [shell(script = "token.sh", secret_env = ["API_TOKEN"])])
`,
		"sec/token.sh": `echo "token=$API_TOKEN"
printf %s "$API_TOKEN" | wc -c > /etc/token-length
`,
	})

	// Not set: the bake fails before it starts, naming the variable.
	r := ws.imgraph(t, nil, "build")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "API_TOKEN (needed by //sec:sec)") {
		t.Fatalf("build without API_TOKEN: %v\nwant exit code %d and a message naming API_TOKEN", r, exitBadInput)
	}

	token := "tok-" + randomHex(16)
	events := filepath.Join(t.TempDir(), "events.jsonl")
	r = ws.imgraph(t, map[string]string{"API_TOKEN": token}, "build", "--events", events)
	if r.code != exitOK {
		t.Fatalf("build: %v", r)
	}
	key := keyOf(t, readEvents(t, events), "//sec:sec")
	length, err := os.ReadFile(filepath.Join(ws.cache, "images", key, "etc", "token-length"))
	if err != nil || strings.TrimSpace(string(length)) != strconv.Itoa(len(token)) {
		t.Fatalf("the image's /etc/token-length = %q, %v; want %d: the script did not get the secret", length, err, len(token))
	}
	log, err := os.ReadFile(filepath.Join(ws.root, "imgraph-out", "logs", "sec", "sec.log"))
	if err != nil || !strings.Contains(string(log), "token=****\n") {
		t.Errorf("the bake's log: %q, %v; want the secret masked as token=****", log, err)
	}

	// The cache (records and image trees), the workspace (imgraph-out and
	// its logs and manifest), the events and the output.
	for _, root := range []string{ws.cache, ws.root, events} {
		if found := holding(t, root, token); len(found) > 0 {
			t.Errorf("the secret is in %v", found)
		}
	}
	if strings.Contains(r.stdout, token) || strings.Contains(r.stderr, token) {
		t.Errorf("the secret is in the output:\n%v", r)
	}

	// Nor is it in the key: another value reuses the bake.
	r = ws.imgraph(t, map[string]string{"API_TOKEN": "another-" + token}, "build")
	if _, count := summary(t, r.stdout); r.code != exitOK || count != "2 images: 2 cached" {
		t.Errorf("build with another API_TOKEN: %v\nwant both images cached", r)
	}
}

// holding lists the files under root (a file or a directory) whose name,
// content or symlink target holds s.
func holding(t *testing.T, root, s string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(p, s) {
			found = append(found, p)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if target, err := os.Readlink(p); err == nil && strings.Contains(target, s) {
				found = append(found, p)
			}
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(s)) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
