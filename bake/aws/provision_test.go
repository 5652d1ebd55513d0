package aws

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// pkgFiles writes the files of a package //t for the provisioners.
type pkgFiles struct {
	t   *testing.T
	dir string
}

func (p *pkgFiles) file(name, content string, mode os.FileMode) *rules.File {
	p.t.Helper()
	path := filepath.Join(p.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		p.t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		p.t.Fatal(err)
	}
	return &rules.File{Label: label.Label{Pkg: "t", Name: name}, Path: path}
}

// provisionOverSSH runs the upload and provision steps of a bake of im
// against a test SSH server, and returns the server (whose /tmp holds
// what they wrote), the log and the phases.
func provisionOverSSH(t *testing.T, im *rules.Image, job *bake.Job) (*testSSHD, string, []string, error) {
	t.Helper()
	c, d := connected(t)
	var log bytes.Buffer
	var phases []string
	job.Image = im
	job.Log = &log
	s := &bakeState{job: job, label: im.Label.String(), comm: c, log: &lockedWriter{w: &log},
		phase: func(p string) { phases = append(phases, p) }}
	ctx := context.Background()
	err := (&stepUpload{}).Run(ctx, s)
	if err == nil {
		err = (&stepProvision{}).Run(ctx, s)
	}
	return d, log.String(), phases, err
}

func TestProvisionersRunLikeTheLocalPlatform(t *testing.T) {
	files := &pkgFiles{t: t, dir: t.TempDir()}
	artifact := filepath.Join(t.TempDir(), "app.jar")
	if err := os.WriteFile(artifact, []byte("JAR"), 0o644); err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr3t-'$`value"
	im := &rules.Image{
		Label: label.Label{Pkg: "t", Name: "img"},
		Provision: []rules.Provisioner{
			{Kind: rules.ProvisionShell, Script: files.file("scripts/install.sh", `
mkdir -p /tmp/out
printf '%s' "$GREETING" > /tmp/out/greeting
printf '%s' "$TOKEN" > /tmp/out/token
cp "$IMGRAPH_ARTIFACT_APP" /tmp/out/app.jar
echo "installed from $0"
`, 0o644), Env: map[string]string{"GREETING": "it's \"$HOME\" `x`\nline 2"}, SecretEnv: []string{"TOKEN"}},
			{Kind: rules.ProvisionShell, Inline: []string{"echo inline >> /tmp/out/inline", "echo again >> /tmp/out/inline"}},
			{Kind: rules.ProvisionCopy, Src: files.file("files/a.conf", "a", 0o600), Dest: "/tmp/out/etc/a.conf", Mode: "0644"},
			{Kind: rules.ProvisionCopy, Src: files.file("files/run.sh", "#!/bin/sh\n", 0o755), Dest: "/tmp/out"},
			{Kind: rules.ProvisionCopy, Src: &rules.File{Label: label.Label{Pkg: "t", Name: "tree"}, Path: filepath.Dir(files.file("tree/sub/b.txt", "b", 0o640).Path)}, Dest: "/tmp/out/tree"},
		},
	}
	im.Artifacts = []rules.Artifact{{Name: "app"}}
	job := &bake.Job{Artifacts: map[string]string{"app": artifact}}
	job.Env, _, _ = bake.Environment(im, func(name string) (string, bool) {
		if name == "TOKEN" {
			return secret, true
		}
		return "", false
	})
	d, log, phases, err := provisionOverSSH(t, im, job)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log)
	}
	out := filepath.Join(d.tmp, "out")
	for name, want := range map[string]string{
		"greeting":   "it's \"$HOME\" `x`\nline 2",
		"token":      secret,
		"app.jar":    "JAR",
		"inline":     "inline\nagain\n",
		"etc/a.conf": "a",
		"run.sh":     "#!/bin/sh\n",
		"tree/b.txt": "b",
	} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	for name, want := range map[string]os.FileMode{"etc/a.conf": 0o644, "run.sh": 0o755, "tree/b.txt": 0o640} {
		if info, err := os.Stat(filepath.Join(out, name)); err != nil || info.Mode().Perm() != want {
			t.Errorf("mode of %s = %v, %v; want %v", name, info.Mode().Perm(), err, want)
		}
	}
	// Nothing of the bake is left in /tmp.
	entries, _ := os.ReadDir(d.tmp)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "imgraph-") {
			t.Errorf("/tmp/%s was left on the instance", e.Name())
		}
	}
	if !strings.Contains(log, "installed from /tmp/imgraph-") || !strings.Contains(log, "==> provision [0] shell (//t:scripts/install.sh)") {
		t.Errorf("log:\n%s", log)
	}
	if strings.Contains(log, "s3cr3t") || d.sent("s3cr3t") {
		t.Errorf("the secret appeared in the log or on a command line")
	}
	if got := strings.Join(phases, ","); got != "upload,provision [0] shell,provision [1] shell,provision [2] copy,provision [3] copy,provision [4] copy" {
		t.Errorf("phases = %s", got)
	}
}

func TestProvisionFailureNamesTheProvisioner(t *testing.T) {
	files := &pkgFiles{t: t, dir: t.TempDir()}
	im := &rules.Image{
		Label: label.Label{Pkg: "t", Name: "img"},
		Provision: []rules.Provisioner{
			{Kind: rules.ProvisionShell, Inline: []string{"true"}},
			{Kind: rules.ProvisionShell, Script: files.file("fail.sh", "echo failing >&2\nexit 3\n", 0o644)},
			{Kind: rules.ProvisionShell, Inline: []string{"touch /tmp/never"}},
		},
	}
	d, log, _, err := provisionOverSSH(t, im, &bake.Job{})
	if err == nil || err.Error() != "provision [1] shell (//t:fail.sh) exited with status 3" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(log, "failing") {
		t.Errorf("stderr is not in the log:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(d.tmp, "never")); err == nil {
		t.Error("a provisioner after the failing one ran")
	}
}
