package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The rc files give commands flags: the home directory's, then the
// workspace's, then those of --config, then the command line, the last
// winning.
func TestRCFiles(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	ws := newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "al2023", source = rootfs(path = "rootfs"), salt = var("salt", default = "none"))`,
	})
	writeFiles(t, home, map[string]string{RCFile: "# mine\ncommon --var salt=home\n"})
	writeFiles(t, ws.root, map[string]string{RCFile: "plan --var salt=workspace\nplan:ci --var 'salt=the ci'\nbuild --jobs 0\n"})
	env := map[string]string{"HOME": home}
	salt := func(args ...string) string {
		t.Helper()
		r := ws.imgraph(t, env, append([]string{"explain", "//base:al2023"}, args...)...)
		if r.code != exitOK {
			t.Fatalf("explain %v: %v", args, r)
		}
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.Contains(l, "salt") {
				return strings.TrimSpace(l)
			}
		}
		return ""
	}
	plan := func(args ...string) result {
		t.Helper()
		return ws.imgraph(t, env, append([]string{"plan", "--output", "json"}, args...)...)
	}
	keyOf := func(r result) string {
		t.Helper()
		if r.code != exitOK {
			t.Fatalf("plan: %v", r)
		}
		i := strings.Index(r.stdout, `"key": "`)
		return r.stdout[i+8 : i+72]
	}
	viaRC, viaFlag := keyOf(plan()), keyOf(plan("--var", "salt=workspace"))
	if viaRC != viaFlag {
		t.Errorf("plan with the workspace's rc keyed %s, want %s as with --var salt=workspace", viaRC[:12], viaFlag[:12])
	}
	if got, want := keyOf(plan("--config=ci")), keyOf(plan("--var", "salt=the ci")); got != want {
		t.Errorf("plan --config=ci keyed %s, want %s", got[:12], want[:12])
	}
	if got, want := keyOf(plan("--var", "salt=mine")), keyOf(plan("--ignore-rc", "--var", "salt=mine")); got != want {
		t.Errorf("the command line does not win over the rc files")
	}
	// explain has no lines of its own: common's.
	if got := salt(); !strings.Contains(got, "home") {
		t.Errorf("explain's salt %q, want the home rc's", got)
	}
	if r := plan("--config=nope"); r.code != exitBadInput || !strings.Contains(r.stderr, "--config=nope") {
		t.Errorf("an unknown config: %v", r)
	}
	// The rc's flags are the command's: build --jobs 0 is refused as if typed.
	if r := ws.imgraph(t, env, "build"); r.code != exitBadInput || !strings.Contains(r.stderr, "jobs") {
		t.Errorf("build with the rc's --jobs 0: %v", r)
	}
	writeFiles(t, ws.root, map[string]string{RCFile: "plan //base/...\n"})
	if r := plan(); r.code != exitBadInput || !strings.Contains(r.stderr, filepath.Join(ws.root, RCFile)+":1:") {
		t.Errorf("an rc line with an argument: %v", r)
	}
}

// --var-file gives var() values from a JSON or Starlark file; --var wins.
func TestVarFile(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "al2023", source = rootfs(path = "rootfs"), salt = var("salt") + var("more", default = ""))`,
		"vars.json":        `{"salt": "s1"}`,
		"vars.star":        "_base = \"s\"\nsalt = _base + str(1)\n",
		"bad.json":         `{"salt": 1}`,
	})
	key := func(args ...string) result {
		return ws.imgraph(t, nil, append([]string{"plan", "--output", "json"}, args...)...)
	}
	want := key("--var", "salt=s1")
	for _, file := range []string{"vars.json", "vars.star"} {
		if got := key("--var-file", file); got.code != exitOK || got.stdout != want.stdout {
			t.Errorf("--var-file %s: %v\nwant %v", file, got, want)
		}
	}
	if got := key("--var-file", "vars.json", "--var", "salt=s2"); got.stdout != key("--var", "salt=s2").stdout {
		t.Errorf("--var does not win over --var-file")
	}
	if r := key("--var-file", "bad.json"); r.code != exitBadInput || !strings.Contains(r.stderr, "not a string") {
		t.Errorf("a var file with a number: %v", r)
	}
}

// A common line serves every command: a flag one command does not take is
// left out for it, and a config it names may have nothing for a command.
// Configs name configs, in either form, and --ignore-rc=true reads none.
func TestRCFilesAcrossCommands(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "al2023", source = rootfs(path = "rootfs"))`,
	})
	writeFiles(t, ws.root, map[string]string{RCFile: `common --jobs 3 --config=ci
build:ci --keep-going
plan:ci --config js
plan:js --output json
`})
	if r := ws.imgraph(t, nil, "version"); r.code != exitOK || !strings.HasPrefix(r.stdout, "imgraph ") {
		t.Errorf("version under a common --jobs and a config it has no lines for: %v", r)
	}
	if r := ws.imgraph(t, nil, "plan"); r.code != exitOK || !strings.HasPrefix(r.stdout, "{") {
		t.Errorf("plan under plan:ci naming plan:js (--output json): %v", r)
	}
	if r := ws.imgraph(t, nil, "plan", "--ignore-rc=true"); r.code != exitOK || strings.HasPrefix(r.stdout, "{") {
		t.Errorf("plan --ignore-rc=true: %v", r)
	}
	if r := ws.imgraph(t, nil, "plan", "--config="); r.code != exitBadInput {
		t.Errorf("plan --config= (no name): %v", r)
	}
}

// Configs expand where they stand, the command line's last of all (even
// one an rc line named); a config no line defines is a mistake; a short
// flag with its value attached is read as one; and the command line's
// flags win wherever they stand, before the command's name too.
func TestRCFileOrder(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "al2023", source = rootfs(path = "rootfs"), salt = var("salt", default = "none"))`,
	})
	salt := func(rc string, args ...string) string {
		t.Helper()
		writeFiles(t, ws.root, map[string]string{RCFile: rc})
		r := ws.imgraph(t, nil, args...)
		if r.code != exitOK {
			return fmt.Sprintf("exit %d: %s", r.code, r.stderr)
		}
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.Contains(l, "salt") {
				return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "salt:"))
			}
		}
		return "no salt in:\n" + r.stdout
	}
	explain := []string{"explain", "//base:al2023"}
	for _, tc := range []struct {
		name, rc string
		args     []string
		want     string
	}{
		{"the command line's config after the rc's lines", "common --config=fast\ncommon --var salt=default\ncommon:fast --var salt=fast\n",
			append(slices.Clone(explain), "--config=fast"), "fast"},
		{"a config where it stands", "common --var salt=line --config=x\ncommon:x --var salt=x\n", explain, "x"},
		{"flags after a config override it", "common --config=x --var salt=line\ncommon:x --var salt=x\n", explain, "line"},
		{"a flag before the command's name", "common --var salt=rc\n", append([]string{"--var", "salt=cli"}, explain...), "cli"},
		{"a short flag with its value", "common -j8 --var salt=rc\n", explain, "rc"},
		{"a flag no command takes, with a value", "common --no-such-flag some-value --var salt=rc\n", explain, "rc"},
	} {
		if got := salt(tc.rc, tc.args...); got != tc.want {
			t.Errorf("%s: salt %s, want %s", tc.name, got, tc.want)
		}
	}
	if got := salt("common --config=cii\ncommon:ci --var salt=ci\n", explain...); !strings.Contains(got, "exit 2") || !strings.Contains(got, "--config=cii") {
		t.Errorf("an rc line naming a config no line defines: %s", got)
	}
}
