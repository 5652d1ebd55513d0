//go:build linux

package local_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/testrootfs"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

func TestCopy(t *testing.T) {
	t.Parallel()
	b, _ := newBaker(t)
	ws := newWorkspace(t)
	conf := ws.file("files/app.conf", "port=8080\n", 0o644)
	tool := ws.file("files/tool.sh", "#!/bin/sh\necho tool\n", 0o750)
	motd := ws.file("files/motd", "welcome\n", 0o644)
	ws.file("site/index.html", "<h1>hi</h1>\n", 0o644)
	ws.file("site/js/app.js", "run()\n", 0o600)
	if err := os.Symlink("index.html", filepath.Join(ws.dir, "site", "home.html")); err != nil {
		t.Fatal(err)
	}
	site := &rules.File{Label: label.Label{Pkg: "t", Name: "site"}, Path: filepath.Join(ws.dir, "site")}

	id, _ := bakeOK(t, b, rootJob(image("copies",
		copyTo(conf, "/opt/app/conf/app.conf", "0600"),
		copyTo(tool, "/usr/local/bin/tool", ""),
		copyTo(motd, "/etc", "0644"), // an existing directory: the file goes inside
		copyTo(site, "/srv/www", ""),
		// A later step sees what the copies placed.
		inline("/usr/local/bin/tool > /tool.out", "cat /etc/motd /srv/www/home.html > /seen"),
	), testrootfs.New(t)))
	dir := b.ImageDir(id)

	checks := []struct {
		path    string
		mode    uint32
		content string
	}{
		{"opt/app/conf/app.conf", 0o600, "port=8080\n"},
		{"usr/local/bin/tool", 0o750, "#!/bin/sh\necho tool\n"},
		{"etc/motd", 0o644, "welcome\n"},
		{"srv/www/index.html", 0o644, "<h1>hi</h1>\n"},
		{"srv/www/js/app.js", 0o600, "run()\n"},
		{"tool.out", 0o644, "tool\n"},
		{"seen", 0o644, "welcome\n<h1>hi</h1>\n"},
	}
	for _, c := range checks {
		st := lstat(t, filepath.Join(dir, c.path))
		if st.Mode&0o7777 != c.mode {
			t.Errorf("/%s: mode %o, want %o", c.path, st.Mode&0o7777, c.mode)
		}
		if st.Uid != 0 && os.Geteuid() == 0 {
			t.Errorf("/%s: owned by %d, want root", c.path, st.Uid)
		}
		if got := imageFile(t, b, id, c.path); got != c.content {
			t.Errorf("/%s = %q, want %q", c.path, got, c.content)
		}
	}
	for _, d := range []string{"opt", "opt/app", "opt/app/conf", "usr/local/bin"} {
		if st := lstat(t, filepath.Join(dir, d)); st.Mode&0o7777 != 0o755 {
			t.Errorf("/%s: mode %o, want 755", d, st.Mode&0o7777)
		}
	}
	if target, err := os.Readlink(filepath.Join(dir, "srv", "www", "home.html")); err != nil || target != "index.html" {
		t.Errorf("/srv/www/home.html -> %q, %v; want a symlink to index.html", target, err)
	}
}

func TestInline(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	rootfs := testrootfs.New(t)
	// The lines are one script: they share the shell's variables.
	id, _ := bakeOK(t, b, rootJob(image("inline", inline("answer=42", "echo $answer > /answer")), rootfs))
	if got := imageFile(t, b, id, "answer"); got != "42\n" {
		t.Errorf("/answer = %q, want 42", got)
	}

	// The first failing line stops the step, as with Packer's inline.
	var log strings.Builder
	job := rootJob(image("stops", inline("echo first", "false", "echo second")), rootfs)
	job.Log = &log
	_, err := b.Bake(context.Background(), job)
	if err == nil || !strings.Contains(err.Error(), "provision [0] shell (inline) exited with status 1") {
		t.Fatalf("Bake = %v, want provision [0] shell (inline) exited with status 1", err)
	}
	if !strings.Contains(log.String(), "first") || strings.Contains(log.String(), "second") {
		t.Errorf("log = %q, want the first line's output and not the third's", log.String())
	}
	if left := leftovers(t, store); len(left) > 0 {
		t.Errorf("temporary trees left: %v", left)
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("IMGRAPH_HOST_ONLY", "leaked")
	b, _ := newBaker(t)
	step := inline("env > /env.txt")
	step.Env = map[string]string{"GREETING": "hello world", "QUOTED": `a "b" $c`}
	id, _ := bakeOK(t, b, rootJob(image("env", step), testrootfs.New(t)))
	env := imageFile(t, b, id, "env.txt")
	for _, want := range []string{
		"GREETING=hello world\n",
		"QUOTED=a \"b\" $c\n",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
		"HOME=/root\n",
	} {
		if !strings.Contains(env, want) {
			t.Errorf("the step's environment lacks %q:\n%s", want, env)
		}
	}
	for _, leak := range []string{"IMGRAPH_HOST_ONLY", "IMGRAPH_SANDBOX"} {
		if strings.Contains(env, leak) {
			t.Errorf("the step's environment holds the host's %s:\n%s", leak, env)
		}
	}
}

// A secret reaches the script through its environment, and nothing of the
// bake writes it to a file: not the image, not the cache.
func TestSecretEnv(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	ws := newWorkspace(t)
	secret := "s3cr3t-" + newKey()
	step := ws.script("publish.sh", `printf %s "$API_TOKEN" | sha256sum | cut -d' ' -f1 > /token.sha256`+"\n")
	step.SecretEnv = []string{"API_TOKEN"}
	job := rootJob(image("secret", step), testrootfs.New(t))
	job.Env, _, _ = bake.Environment(job.Image, func(name string) (string, bool) {
		if name == "API_TOKEN" {
			return secret, true
		}
		return "", false
	})
	id, log := bakeOK(t, b, job)
	sum := sha256.Sum256([]byte(secret))
	if got := strings.TrimSpace(imageFile(t, b, id, "token.sha256")); got != hex.EncodeToString(sum[:]) {
		t.Errorf("the script saw a token hashing to %s, want the secret's hash", got)
	}
	if found := filesHolding(t, store.Dir(), secret); len(found) > 0 {
		t.Errorf("the secret was written to %v", found)
	}
	if strings.Contains(log, secret) {
		t.Errorf("the secret is in the log")
	}
}

// Artifacts are at $IMGRAPH_ARTIFACT_<NAME> while the provisioners run,
// and gone, with every other file of imgraph's, from the baked image.
func TestArtifacts(t *testing.T) {
	t.Parallel()
	b, _ := newBaker(t)
	ws := newWorkspace(t)
	jar := ws.file("dist/api.jar", "jar bytes "+newKey()+"\n", 0o644)
	job := rootJob(image("artifacts",
		ws.script("install.sh", strings.Join([]string{
			`[ "$IMGRAPH_ARTIFACT_APP" = /tmp/imgraph-artifacts/app ]`,
			`[ "$IMGRAPH_ARTIFACT_DOCS" = /tmp/imgraph-artifacts/docs ]`,
			`mkdir -p /opt/api && cp "$IMGRAPH_ARTIFACT_APP" /opt/api/api.jar`,
			`ls /tmp > /tmp-during`,
		}, "\n")),
		inline(`cat "$IMGRAPH_ARTIFACT_DOCS" > /opt/api/README`),
	), testrootfs.New(t))
	docs := ws.file("dist/README", "docs\n", 0o644)
	job.Artifacts = map[string]string{"app": jar.Path, "docs": docs.Path}
	id, _ := bakeOK(t, b, job)
	want, _ := os.ReadFile(jar.Path)
	if got := imageFile(t, b, id, "opt/api/api.jar"); got != string(want) {
		t.Errorf("/opt/api/api.jar = %q, want the artifact's bytes", got)
	}
	if got := imageFile(t, b, id, "opt/api/README"); got != "docs\n" {
		t.Errorf("/opt/api/README = %q", got)
	}
	if during := imageFile(t, b, id, "tmp-during"); !strings.Contains(during, "imgraph-artifacts") {
		t.Errorf("/tmp during the step held %q, want imgraph-artifacts", during)
	}
	entries, err := os.ReadDir(filepath.Join(b.ImageDir(id), "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "imgraph-") {
			t.Errorf("the image keeps /tmp/%s", e.Name())
		}
	}
	if st := lstat(t, filepath.Join(b.ImageDir(id), "tmp")); st.Mode&0o7777 != 0o1777 {
		t.Errorf("/tmp: mode %o, want 1777", st.Mode&0o7777)
	}
}

// A failing step fails the bake with an error naming the provisioner and
// its exit status; its output is in the log; nothing is left behind.
func TestFailingScript(t *testing.T) {
	t.Parallel()
	b, store := newBaker(t)
	ws := newWorkspace(t)
	var log strings.Builder
	job := rootJob(image("fails",
		inline("echo step zero"),
		ws.script("fail.sh", "echo about to fail\necho on stderr >&2\nexit 3\n"),
		inline("echo never"),
	), testrootfs.New(t))
	job.Log = &log
	var phases []string
	job.Phase = func(p string) { phases = append(phases, p) }
	_, err := b.Bake(context.Background(), job)
	want := "provision [1] shell (//t:fail.sh) exited with status 3"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Bake = %v, want %q", err, want)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("a failed step is not a cancellation")
	}
	for _, out := range []string{"step zero", "about to fail", "on stderr"} {
		if !strings.Contains(log.String(), out) {
			t.Errorf("log lacks %q:\n%s", out, log.String())
		}
	}
	if strings.Contains(log.String(), "never") {
		t.Errorf("a step after the failing one ran:\n%s", log.String())
	}
	if got, want := fmt.Sprint(phases), "[prepare provision [0] shell provision [1] shell cleanup]"; got != want {
		t.Errorf("phases = %s, want %s", got, want)
	}
	ref := bake.ImageRef{Key: job.Key, Region: "local", ID: job.Key}
	exist, err := b.Exist(context.Background(), []bake.ImageRef{ref})
	if err != nil || exist[ref] {
		t.Errorf("Exist after a failed bake = %v, %v; want false", exist, err)
	}
	if left := leftovers(t, store); len(left) > 0 {
		t.Errorf("temporary trees left: %v", left)
	}
}

// A provisioner that writes a secret in two pieces, with stderr output
// in between, has it masked in the log: each stream is masked on its own.
func TestSecretWrittenInPiecesIsMasked(t *testing.T) {
	t.Parallel()
	b, _ := newBaker(t)
	const secret = "s3cr3t-0123456789"
	job := rootJob(image("pieces", inline(
		`printf 's3cr3t-'`,
		`echo between >&2`,
		`printf '0123456789\n'`,
	)), testrootfs.New(t))
	var log bytes.Buffer
	redactor := engine.NewRedactor(&log, []string{secret})
	job.Log = redactor
	if _, err := b.Bake(context.Background(), job); err != nil {
		t.Fatalf("Bake: %v\n%s", err, log.String())
	}
	redactor.Flush()
	out := log.String()
	if strings.Contains(out, "s3cr3t-") || strings.Contains(out, "0123456789") || !strings.Contains(out, engine.Mask) ||
		!strings.Contains(out, "between") {
		t.Errorf("log:\n%s\nwant the secret masked and the stderr line whole", out)
	}
}

// A copy's mode may carry the setuid, setgid and sticky bits, and the
// image keeps them.
func TestCopyModeWithSpecialBits(t *testing.T) {
	t.Parallel()
	b, _ := newBaker(t)
	ws := newWorkspace(t)
	tool := ws.file("bin/tool", "#!/bin/sh\n", 0o644)
	id, _ := bakeOK(t, b, rootJob(image("setuid", copyTo(tool, "/usr/bin/tool", "4755"), copyTo(tool, "/srv/drop", "1777")), testrootfs.New(t)))
	for name, want := range map[string]os.FileMode{"usr/bin/tool": 0o755 | os.ModeSetuid, "srv/drop": 0o777 | os.ModeSticky} {
		info, err := os.Lstat(filepath.Join(b.ImageDir(id), name))
		if err != nil || info.Mode() != want {
			t.Errorf("/%s: %v, %v; want %v", name, info.Mode(), err, want)
		}
	}
}
