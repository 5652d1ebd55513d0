package engine_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/rules"
)

var hexKeyRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TestKeysIgnorePathTimeAndRun shows that a key depends on content only:
// the same workspace at two paths, with other file times, analysed twice,
// keys every image alike; and no key mentions where the workspace is.
func TestKeysIgnorePathTimeAndRun(t *testing.T) {
	files := forest()
	root1 := writeWorkspace(t, files)
	root2 := writeWorkspace(t, files)
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for name := range files {
		if err := os.Chtimes(filepath.Join(root2, filepath.FromSlash(name)), old, old); err != nil {
			t.Fatal(err)
		}
	}
	first := keys(t, root1, rules.Config{})
	again := keys(t, root1, rules.Config{})
	moved := keys(t, root2, rules.Config{})
	if len(first) != 5 {
		t.Fatalf("%d keys, want 5", len(first))
	}
	seen := map[string]string{}
	for l, k := range first {
		if !hexKeyRE.MatchString(k.Hex) {
			t.Errorf("%s: key %q is not 64 hex digits", l, k.Hex)
		}
		if other, dup := seen[k.Hex]; dup {
			t.Errorf("%s and %s have the same key", l, other)
		}
		seen[k.Hex] = l
		if again[l].Hex != k.Hex {
			t.Errorf("%s: key changed between two runs: %s, %s", l, k.Short(), again[l].Short())
		}
		if moved[l].Hex != k.Hex {
			t.Errorf("%s: key depends on the workspace's path or file times: %s, %s\n%v", l, k.Short(), moved[l].Short(), engine.Diff(k.Parts, moved[l].Parts))
		}
		parts, err := json.Marshal(k.Parts)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(parts), root1) {
			t.Errorf("%s: the key's parts mention the workspace's path %s: %s", l, root1, parts)
		}
	}
}

// TestKeysIgnoreDictOrder shows that the order a dict is written in does
// not change a key, while its content does.
func TestKeysIgnoreDictOrder(t *testing.T) {
	image := func(env, tags, artifacts string) map[string]string {
		files := map[string]string{
			"IMAGES.star": localWorkspace,
			"pkg/IMAGES.star": `image(
    name = "x",
    source = rootfs(path = "rootfs"),
    provision = [shell(script = "run.sh", env = ` + env + `)],
    tags = ` + tags + `,
    artifacts = ` + artifacts + `,
)
image(name = "y", parent = ":x")
`,
			"pkg/run.sh":  "true\n",
			"pkg/rootfs/": "",
		}
		return files
	}
	const (
		env       = `{"A": "1", "B": "2", "C": "3"}`
		envRev    = `{"C": "3", "B": "2", "A": "1"}`
		envSwap   = `{"A": "2", "B": "1", "C": "3"}`
		tags      = `{"Team": "x", "Role": "y", "Stage": "z"}`
		tagsRev   = `{"Stage": "z", "Role": "y", "Team": "x"}`
		arts      = `{"app": artifact(url = "s3://b/app.jar", sha256 = "` + sumA + `"), "lib": artifact(url = "s3://b/lib.jar", sha256 = "` + sumB + `")}`
		artsRev   = `{"lib": artifact(url = "s3://b/lib.jar", sha256 = "` + sumB + `"), "app": artifact(url = "s3://b/app.jar", sha256 = "` + sumA + `")}`
		artsSwap  = `{"app": artifact(url = "s3://b/app.jar", sha256 = "` + sumB + `"), "lib": artifact(url = "s3://b/lib.jar", sha256 = "` + sumA + `")}`
		unchanged = false
		changed   = true
	)
	want := keys(t, writeWorkspace(t, image(env, tags, arts)), rules.Config{})
	tests := []struct {
		name            string
		env, tags, arts string
		wantChange      bool
	}{
		{"env reversed", envRev, tags, arts, unchanged},
		{"tags reversed", env, tagsRev, arts, unchanged},
		{"artifacts reversed", env, tags, artsRev, unchanged},
		{"all reversed", envRev, tagsRev, artsRev, unchanged},
		{"env values swapped", envSwap, tags, arts, changed},
		{"artifact digests swapped", env, tags, artsSwap, changed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := keys(t, writeWorkspace(t, image(tt.env, tt.tags, tt.arts)), rules.Config{})
			for _, l := range []string{"//pkg:x", "//pkg:y"} {
				if differ := got[l].Hex != want[l].Hex; differ != tt.wantChange {
					t.Errorf("%s: key changed = %v, want %v\n%v", l, differ, tt.wantChange, engine.Diff(want[l].Parts, got[l].Parts))
				}
			}
		})
	}
}

// sha12 is the short sha256 of text, as Diff prints a file's digest.
func sha12(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])[:12]
}

// changedKeys lists the labels whose keys differ, sorted.
func changedKeys(before, after map[string]engine.Key) []string {
	var out []string
	for l, k := range before {
		if after[l].Hex != k.Hex {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// TestEditRebakesExactlyBelow shows that editing a file changes the key of
// the image that sends it and of every image below it, and of nothing else.
func TestEditRebakesExactlyBelow(t *testing.T) {
	tests := []struct {
		file, text string
		want       []string
	}{
		{"base/harden.sh", "#!/bin/sh\ndnf -y update --security\n", []string{"//apps/api:api", "//apps/api:debug", "//apps/web:web", "//base:base"}},
		{"apps/api/install.sh", "#!/bin/sh\ninstall api 2\n", []string{"//apps/api:api", "//apps/api:debug"}},
		{"apps/api/debug.sh", "#!/bin/sh\ninstall lldb\n", []string{"//apps/api:debug"}},
		{"apps/web/install.sh", "#!/bin/sh\ninstall web 2\n", []string{"//apps/web:web"}},
		{"other/setup.sh", "#!/bin/sh\nsetup 2\n", []string{"//other:other"}},
		{"base/rootfs/etc/motd", "hello\n", []string{"//apps/api:api", "//apps/api:debug", "//apps/web:web", "//base:base"}},
		{"base/rootfs/etc/new", "", []string{"//apps/api:api", "//apps/api:debug", "//apps/web:web", "//base:base"}},
		{"other/rootfs/etc/motd", "other\n", nil}, // written as it was
		{"base/unused.sh", "#!/bin/sh\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			root := writeWorkspace(t, forest())
			before := keys(t, root, rules.Config{})
			writeFile(t, root, tt.file, tt.text)
			after := keys(t, root, rules.Config{})
			if got := changedKeys(before, after); !equalStrings(got, tt.want) {
				t.Errorf("changed %v, want %v", got, tt.want)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDiffNamesTheChange shows that Diff between the parts of the old and
// new key names the input that changed: the script for the image that runs
// it, the parent for the images below.
func TestDiffNamesTheChange(t *testing.T) {
	root := writeWorkspace(t, forest())
	before := keys(t, root, rules.Config{})
	writeFile(t, root, "base/harden.sh", "#!/bin/sh\ndnf -y update --security\n")
	after := keys(t, root, rules.Config{})

	tests := []struct {
		label    string
		wantPath string
		wantText []string
	}{
		{"//base:base", "provision: [0] shell: script", []string{"//base:harden.sh", sha12(forest()["base/harden.sh"]), sha12("#!/bin/sh\ndnf -y update --security\n")}},
		{"//apps/api:api", "parent", []string{"//base:base", before["//base:base"].Short(), after["//base:base"].Short()}},
		{"//apps/api:debug", "parent", []string{"//apps/api:api"}},
		{"//other:other", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			changes := engine.Diff(before[tt.label].Parts, after[tt.label].Parts)
			if tt.wantPath == "" {
				if len(changes) != 0 {
					t.Fatalf("Diff = %v, want none", changes)
				}
				return
			}
			if len(changes) != 1 {
				t.Fatalf("Diff = %v, want one change", changes)
			}
			c := changes[0]
			if c.Path != tt.wantPath || c.Was == "" || c.Now == "" || c.Was == c.Now {
				t.Errorf("change %+v, want path %q with both values", c, tt.wantPath)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(c.String(), s) {
					t.Errorf("change %q does not mention %q", c, s)
				}
			}
		})
	}
}

// apiImage is a local workspace with one image using every kind of input,
// and a child.
func apiImage() map[string]string {
	return map[string]string{
		"IMAGES.star": localWorkspace,
		"base/IMAGES.star": `image(name = "base", source = rootfs(path = "rootfs"))
image(name = "base2", source = rootfs(path = "rootfs"), salt = "other")
`,
		"base/rootfs/bin/sh": "busybox\n",
		"apps/api/IMAGES.star": `image(
    name = "api",
    parent = "//base:base",
    provision = [
        shell(script = "install.sh", env = {"PORT": "8080", "MODE": "prod"}),
        shell(inline = ["systemctl enable api"]),
        copy(src = "files/api.service", dest = "/etc/systemd/system/api.service", mode = "0644"),
    ],
    artifacts = {"app": artifact(url = "s3://releases/api/api-1.4.2.jar", sha256 = "` + sumA + `")},
    salt = "2026-11",
    regions = ["eu-west-1"],
    tags = {"Role": "api"},
    description = "API server",
    share_with = ["123456789012"],
    publish_ssm = "/images/api/latest",
)
image(name = "child", parent = ":api")
`,
		"apps/api/install.sh":        "#!/bin/sh\ninstall api\n",
		"apps/api/files/api.service": "[Unit]\n",
	}
}

// TestKeyInputs shows, for each attribute of an image, whether it is part
// of the key, and that Diff names it when it is.
func TestKeyInputs(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		wantPath string // the one change Diff reports; "" when no key changes
		many     bool   // Diff reports several changes
	}{
		{"tags", `tags = {"Role": "api"}`, `tags = {"Role": "api", "Stage": "prod"}`, "", false},
		{"regions", `regions = ["eu-west-1"]`, `regions = ["eu-west-1", "ap-south-1"]`, "", false},
		{"description", `description = "API server"`, `description = "The API server"`, "", false},
		{"share_with", `share_with = ["123456789012"]`, `share_with = []`, "", false},
		{"publish_ssm", `publish_ssm = "/images/api/latest"`, `publish_ssm = "/images/api/stable"`, "", false},
		{"artifact url", `url = "s3://releases/api/api-1.4.2.jar"`, `url = "https://mirror.example.com/api.jar"`, "", false},
		{"copy mode spelt short", `mode = "0644"`, `mode = "644"`, "", false},
		{"salt", `salt = "2026-11"`, `salt = "2026-12"`, "salt", false},
		{"salt removed", `salt = "2026-11",`, ``, "salt", false},
		{"env value", `"PORT": "8080"`, `"PORT": "9090"`, "provision: [0] shell: env: PORT", false},
		{"env added", `"MODE": "prod"`, `"MODE": "prod", "DEBUG": "1"`, "provision: [0] shell: env: DEBUG", false},
		{"secret_env names", `shell(inline = ["systemctl enable api"])`, `shell(inline = ["systemctl enable api"], secret_env = ["TOKEN"])`, "provision: [1] shell: secret_env", false},
		{"inline command", `"systemctl enable api"`, `"systemctl enable --now api"`, "provision: [1] shell: inline", false},
		{"copy mode", `mode = "0644"`, `mode = "0600"`, "provision: [2] copy: mode", false},
		{"copy dest", `dest = "/etc/systemd/system/api.service"`, `dest = "/usr/lib/systemd/system/api.service"`, "provision: [2] copy: dest", false},
		{"artifact sha256", `sha256 = "` + sumA + `"`, `sha256 = "` + sumB + `"`, "artifacts: app", false},
		{"artifact renamed", `{"app": artifact(`, `{"jar": artifact(`, "", true},
		{"parent", `parent = "//base:base"`, `parent = "//base:base2"`, "parent", false},
		{"provisioners reordered", "shell(script = \"install.sh\", env = {\"PORT\": \"8080\", \"MODE\": \"prod\"}),\n        shell(inline = [\"systemctl enable api\"]),",
			"shell(inline = [\"systemctl enable api\"]),\n        shell(script = \"install.sh\", env = {\"PORT\": \"8080\", \"MODE\": \"prod\"}),", "", true},
	}
	const file = "apps/api/IMAGES.star"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := apiImage()
			root := writeWorkspace(t, files)
			before := keys(t, root, rules.Config{})
			if strings.Count(files[file], tt.old) != 1 {
				t.Fatalf("%q is not in %s exactly once", tt.old, file)
			}
			writeFile(t, root, file, strings.Replace(files[file], tt.old, tt.new, 1))
			after := keys(t, root, rules.Config{})

			wantChange := tt.wantPath != "" || tt.many
			var want []string
			if wantChange {
				want = []string{"//apps/api:api", "//apps/api:child"}
			}
			if got := changedKeys(before, after); !equalStrings(got, want) {
				t.Errorf("changed %v, want %v\n%v", got, want, engine.Diff(before["//apps/api:api"].Parts, after["//apps/api:api"].Parts))
			}
			changes := engine.Diff(before["//apps/api:api"].Parts, after["//apps/api:api"].Parts)
			switch {
			case tt.many:
				if len(changes) < 2 {
					t.Errorf("Diff = %v, want several changes", changes)
				}
			case tt.wantPath == "":
				if len(changes) != 0 {
					t.Errorf("Diff = %v, want none", changes)
				}
			case len(changes) != 1 || changes[0].Path != tt.wantPath:
				t.Errorf("Diff = %v, want one change at %q", changes, tt.wantPath)
			}
		})
	}
}

// TestKeyFileModes shows that a file's executable bit is part of its key
// and its other permission bits are not (checkouts differ in umask).
func TestKeyFileModes(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		from, to   os.FileMode
		wantChange bool
	}{
		{"script made executable", "apps/api/install.sh", 0o644, 0o755, true},
		{"script no longer executable", "apps/api/install.sh", 0o755, 0o644, true},
		{"script group writable", "apps/api/install.sh", 0o644, 0o664, false},
		{"executable script group writable", "apps/api/install.sh", 0o755, 0o775, false},
		{"copied file made executable", "apps/api/files/api.service", 0o644, 0o744, true},
		{"copied file world readable only", "apps/api/files/api.service", 0o644, 0o444, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeWorkspace(t, apiImage())
			chmod(t, root, tt.file, tt.from)
			before := keys(t, root, rules.Config{})
			chmod(t, root, tt.file, tt.to)
			after := keys(t, root, rules.Config{})
			var want []string
			if tt.wantChange {
				want = []string{"//apps/api:api", "//apps/api:child"}
			}
			if got := changedKeys(before, after); !equalStrings(got, want) {
				t.Errorf("changed %v, want %v", got, want)
			}
			if tt.wantChange {
				changes := engine.Diff(before["//apps/api:api"].Parts, after["//apps/api:api"].Parts)
				if len(changes) != 1 || !strings.Contains(changes[0].String(), "0755") || !strings.Contains(changes[0].String(), "0644") {
					t.Errorf("Diff = %v, want one change from one mode to the other", changes)
				}
			}
		})
	}
}

// TestRootfsModes shows that a root filesystem keeps every permission bit
// in its key, unlike the files provisioners send: they are the image's.
func TestRootfsModes(t *testing.T) {
	root := writeWorkspace(t, forest())
	chmod(t, root, "base/rootfs/etc/motd", 0o644)
	before := keys(t, root, rules.Config{})
	chmod(t, root, "base/rootfs/etc/motd", 0o664)
	after := keys(t, root, rules.Config{})
	want := []string{"//apps/api:api", "//apps/api:debug", "//apps/web:web", "//base:base"}
	if got := changedKeys(before, after); !equalStrings(got, want) {
		t.Errorf("changed %v, want %v", got, want)
	}
	changes := engine.Diff(before["//base:base"].Parts, after["//base:base"].Parts)
	if len(changes) != 1 || changes[0].Path != "source" || !strings.Contains(changes[0].String(), "//base:rootfs") {
		t.Errorf("Diff = %v, want the source //base:rootfs", changes)
	}
}

// TestPlatformAttributes shows that the aws attributes are part of the key
// on the aws platform and not on the local one.
func TestPlatformAttributes(t *testing.T) {
	files := map[string]string{
		"IMAGES.star": awsWorkspace,
		"base/IMAGES.star": `image(
    name = "base",
    source = select({"aws": ami("ami-0123456789abcdef0"), "local": rootfs(path = "rootfs")}),
    instance_type = "t3.small",
    volume_size_gb = 8,
    ssh_user = "ec2-user",
    subnet = "subnet-1",
)
image(name = "app", parent = ":base")
`,
		"base/rootfs/": "",
	}
	tests := []struct {
		name     string
		old, new string
		inAWSKey bool
	}{
		{"instance_type", `instance_type = "t3.small"`, `instance_type = "m7g.large"`, true},
		{"volume_size_gb", `volume_size_gb = 8`, `volume_size_gb = 30`, true},
		{"ssh_user", `ssh_user = "ec2-user"`, `ssh_user = "ubuntu"`, true},
		{"encrypted", `volume_size_gb = 8,`, `volume_size_gb = 8, encrypted = False,`, true},
		{"kms_key", `volume_size_gb = 8,`, `volume_size_gb = 8, kms_key = "alias/images",`, true},
		{"subnet", `subnet = "subnet-1"`, `subnet = "subnet-2"`, false},
	}
	const file = "base/IMAGES.star"
	for _, platform := range []string{rules.PlatformAWS, rules.PlatformLocal} {
		for _, tt := range tests {
			t.Run(platform+"/"+tt.name, func(t *testing.T) {
				root := writeWorkspace(t, files)
				cfg := rules.Config{Platform: platform}
				before := keys(t, root, cfg)
				if strings.Count(files[file], tt.old) != 1 {
					t.Fatalf("%q is not in %s exactly once", tt.old, file)
				}
				writeFile(t, root, file, strings.Replace(files[file], tt.old, tt.new, 1))
				after := keys(t, root, cfg)
				var want []string
				if platform == rules.PlatformAWS && tt.inAWSKey {
					want = []string{"//base:app", "//base:base"}
					changes := engine.Diff(before["//base:base"].Parts, after["//base:base"].Parts)
					if len(changes) != 1 || changes[0].Path != "aws: "+tt.name {
						t.Errorf("Diff = %v, want one change at aws: %s", changes, tt.name)
					}
				}
				if got := changedKeys(before, after); !equalStrings(got, want) {
					t.Errorf("changed %v, want %v", got, want)
				}
			})
		}
	}

	// The same image keys differently on each platform.
	root := writeWorkspace(t, files)
	aws := keys(t, root, rules.Config{Platform: rules.PlatformAWS})
	local := keys(t, root, rules.Config{Platform: rules.PlatformLocal})
	if aws["//base:app"].Hex == local["//base:app"].Hex {
		t.Errorf("//base:app has one key on both platforms")
	}
}

// TestAMISourceInKey shows that a root's image id is part of its key.
func TestAMISourceInKey(t *testing.T) {
	files := map[string]string{
		"IMAGES.star":      awsWorkspace,
		"base/IMAGES.star": `image(name = "base", source = ami("ami-0123456789abcdef0"))` + "\nimage(name = \"app\", parent = \":base\")\n",
	}
	root := writeWorkspace(t, files)
	before := keys(t, root, rules.Config{})
	writeFile(t, root, "base/IMAGES.star", strings.Replace(files["base/IMAGES.star"], "ami-0123456789abcdef0", "ami-0fedcba9876543210", 1))
	after := keys(t, root, rules.Config{})
	if got, want := changedKeys(before, after), []string{"//base:app", "//base:base"}; !equalStrings(got, want) {
		t.Errorf("changed %v, want %v", got, want)
	}
	changes := engine.Diff(before["//base:base"].Parts, after["//base:base"].Parts)
	if len(changes) != 1 || changes[0].String() != "source: ami-0123456789abcdef0 → ami-0fedcba9876543210" {
		t.Errorf("Diff = %v", changes)
	}
}

// TestSourceOfAnotherPlatform shows that a root whose source belongs to
// another platform is an error naming the image, not a key.
func TestSourceOfAnotherPlatform(t *testing.T) {
	tests := []struct {
		platform, source, want string
	}{
		{rules.PlatformAWS, `rootfs(path = "rootfs")`, "source rootfs(path = \"//base:rootfs\") cannot be baked on the aws platform"},
		{rules.PlatformLocal, `ami("ami-0123456789abcdef0")`, "source ami(id = \"ami-0123456789abcdef0\") cannot be baked on the local platform"},
	}
	for _, tt := range tests {
		t.Run(tt.platform, func(t *testing.T) {
			root := writeWorkspace(t, map[string]string{
				"IMAGES.star":      awsWorkspace,
				"base/IMAGES.star": `image(name = "base", source = ` + tt.source + ")\n",
				"base/rootfs/":     "",
			})
			_, err := tryAnalyze(t, root, rules.Config{Platform: tt.platform}, engine.AnalyzeOptions{})
			var list rules.ErrorList
			if !errors.As(err, &list) || len(list) != 1 || !strings.Contains(list[0].Msg, tt.want) || list[0].Pos.String() != "base/IMAGES.star:1:31" {
				t.Fatalf("got %v, want one error at base/IMAGES.star:1:31 saying %q", err, tt.want)
			}
		})
	}
}

// TestKeysAreStable pins two keys. A key names a baked image in every
// cache a team has: if this test fails, every image would rebake once,
// everywhere. Make such a change on purpose, with a new KeySchema.
func TestKeysAreStable(t *testing.T) {
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star": awsWorkspace,
		"base/IMAGES.star": `image(name = "base", source = ami("ami-0123456789abcdef0"),
    provision = [shell(script = "setup.sh", env = {"MODE": "prod"})])
image(name = "app", parent = ":base", provision = [copy(src = "app.conf", dest = "/etc/app.conf")])
`,
		"base/setup.sh": "#!/bin/sh\necho hello\n",
		"base/app.conf": "port = 8080\n",
	})
	got := keys(t, root, rules.Config{})
	for l, want := range map[string]string{
		"//base:base": "44677adc82958ee03f8dfef5d8506529bf27913549ed3828a9926fd114a06683",
		"//base:app":  "ee124daab147368a137f1c768b1462b5006ea3281e9e0866091cacea9b43db46",
	} {
		if got[l].Hex != want {
			t.Errorf("key of %s = %s, want %s", l, got[l].Hex, want)
		}
	}
}
