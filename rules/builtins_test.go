package rules_test

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

const awsWorkspace = `workspace(name = "acme", home_region = "us-east-1", platform = "aws")
`

// chunk is one case of a chunked test file.
type chunk struct {
	line int    // where the chunk starts in the test file
	text string // the chunk, which is the IMAGES.star of //pkg
}

// readChunks splits a test file at lines "---"; text above the first one
// describes the file and is dropped.
func readChunks(t *testing.T, file string) []chunk {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var chunks []chunk
	lines := strings.SplitAfter(string(data), "\n")
	cur := -1
	for i, ln := range lines {
		if strings.TrimRight(ln, "\n") == "---" {
			chunks = append(chunks, chunk{line: i + 2})
			cur = len(chunks) - 1
			continue
		}
		if cur >= 0 {
			chunks[cur].text += ln
		}
	}
	return chunks
}

// expectations reads the "### regexp" markers of a chunk, by line.
func expectations(t *testing.T, text string) map[int32][]*regexp.Regexp {
	t.Helper()
	want := map[int32][]*regexp.Regexp{}
	for i, ln := range strings.Split(text, "\n") {
		parts := strings.Split(ln, "###")
		for _, p := range parts[1:] {
			re, err := regexp.Compile(strings.TrimSpace(p))
			if err != nil {
				t.Fatalf("line %d: bad expectation: %v", i+1, err)
			}
			want[int32(i+1)] = append(want[int32(i+1)], re)
		}
	}
	return want
}

// TestErrorChunks loads each case of testdata/errors.star and checks that
// exactly the expected errors are reported, each at its line.
func TestErrorChunks(t *testing.T) {
	chunks := readChunks(t, "testdata/errors.star")
	if len(chunks) < 40 {
		t.Fatalf("read %d chunks; the file has more", len(chunks))
	}
	for _, c := range chunks {
		t.Run(fmt.Sprintf("line%d", c.line), func(t *testing.T) {
			root := writeWorkspace(t, map[string]string{
				"IMAGES.star":     awsWorkspace,
				"pkg/IMAGES.star": c.text,
				"pkg/install.sh":  "#!/bin/sh\ntrue\n",
				"pkg/files/motd":  "hello\n",
				"pkg/rootfs/":     "",
			})
			_, err := load(t, root, rules.Config{})
			want := expectations(t, c.text)
			var list rules.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("testdata/errors.star:%d: got error %v (%T), want an ErrorList", c.line, err, err)
			}
			for _, e := range list {
				if e.Pos.File != "pkg/IMAGES.star" {
					t.Errorf("testdata/errors.star:%d: error in %q, want pkg/IMAGES.star: %v", c.line, e.Pos.File, e)
					continue
				}
				res := want[e.Pos.Line]
				text := e.Msg + "\n" + e.Hint
				found := -1
				for i, re := range res {
					if re.MatchString(text) {
						found = i
						break
					}
				}
				if found < 0 {
					t.Errorf("testdata/errors.star:%d: unexpected error at chunk line %d:\n%v", c.line+int(e.Pos.Line)-1, e.Pos.Line, e)
					continue
				}
				want[e.Pos.Line] = append(res[:found], res[found+1:]...)
				if e.Line == "" {
					t.Errorf("testdata/errors.star:%d: error %q quotes no source line", c.line+int(e.Pos.Line)-1, e.Msg)
				}
			}
			for line, res := range want {
				for _, re := range res {
					t.Errorf("testdata/errors.star:%d: no error matching %q\ngot: %v", c.line+int(line)-1, re, err)
				}
			}
		})
	}
}

// TestSelect shows that select() takes the branch of the platform being
// loaded, else "default".
func TestSelect(t *testing.T) {
	const pkg = `image(
    name = "x",
    source = select({
        "aws": ami("ami-0123456789abcdef0"),
        "local": rootfs(path = "rootfs"),
    }),
    description = select(%s),
)
`
	tests := []struct {
		name      string
		platform  string // "" for the workspace's (aws)
		branches  string
		wantDesc  string
		wantKind  rules.SourceKind
		wantError string
	}{
		{"aws by default", "", `{"aws": "on aws", "local": "on local"}`, "on aws", rules.SourceAMI, ""},
		{"aws", "aws", `{"aws": "on aws", "local": "on local"}`, "on aws", rules.SourceAMI, ""},
		{"local", "local", `{"aws": "on aws", "local": "on local"}`, "on local", rules.SourceRootfs, ""},
		{"default when no branch", "local", `{"aws": "on aws", "default": "elsewhere"}`, "elsewhere", rules.SourceRootfs, ""},
		{"branch beats default", "aws", `{"default": "elsewhere", "aws": "on aws"}`, "on aws", rules.SourceAMI, ""},
		{"no branch and no default", "local", `{"aws": "on aws"}`, "", "", `no branch for platform "local"`},
		{"unknown key", "aws", `{"aws": "a", "azure": "z"}`, "", "", `unknown key "azure"`},
		{"not a dict", "aws", `["aws"]`, "", "", `select: for parameter branches: got list, want dict`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeWorkspace(t, map[string]string{
				"IMAGES.star":     awsWorkspace,
				"pkg/IMAGES.star": strings.Replace(pkg, "%s", tt.branches, 1),
				"pkg/rootfs/":     "",
			})
			res, err := load(t, root, rules.Config{Platform: tt.platform})
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			im := res.Images[label.Label{Pkg: "pkg", Name: "x"}]
			if im.Description != tt.wantDesc || im.Source.Kind != tt.wantKind {
				t.Errorf("got description %q, source %s; want %q, %s", im.Description, im.Source.Kind, tt.wantDesc, tt.wantKind)
			}
		})
	}
}

// TestVar shows that var() reads Config.Vars, else its default.
func TestVar(t *testing.T) {
	tests := []struct {
		name      string
		vars      map[string]string
		expr      string
		want      string
		wantError string
		wantHint  string
	}{
		{"given", map[string]string{"patch": "2026-12"}, `var("patch", default = "2026-11")`, "2026-12", "", ""},
		{"default", nil, `var("patch", default = "2026-11")`, "2026-11", "", ""},
		{"other vars do not count", map[string]string{"build": "7"}, `var("patch", default = "2026-11")`, "2026-11", "", ""},
		{"given empty", map[string]string{"patch": ""}, `var("patch", default = "2026-11")`, "", "", ""},
		{"default None is no default", nil, `var("patch", default = None)`, "", `var("patch") is not set`, ""},
		{"unset", map[string]string{"build": "7", "arch": "x"}, `var("patch")`, "", `var("patch") is not set and has no default`, "given: arch, build"},
		{"in an expression", map[string]string{"build": "42"}, `"release-" + var("build")`, "release-42", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeWorkspace(t, map[string]string{
				"IMAGES.star":     awsWorkspace,
				"pkg/IMAGES.star": `image(name = "x", source = ami("ami-0123456789abcdef0"), salt = ` + tt.expr + ")\n",
			})
			res, err := load(t, root, rules.Config{Vars: tt.vars})
			if tt.wantError != "" {
				var list rules.ErrorList
				if !errors.As(err, &list) || len(list) != 1 {
					t.Fatalf("got %v, want one error", err)
				}
				e := list[0]
				if !strings.Contains(e.Msg, tt.wantError) || !strings.Contains(e.Hint, tt.wantHint) {
					t.Errorf("got %q (hint %q), want %q (hint %q)", e.Msg, e.Hint, tt.wantError, tt.wantHint)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Images[label.Label{Pkg: "pkg", Name: "x"}].Salt; got != tt.want {
				t.Errorf("salt = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestImageAttributes shows how image() turns what was written into an
// Image: defaults, normalised regions, modes and lists, files resolved
// against the package.
func TestImageAttributes(t *testing.T) {
	const sum = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star": `workspace(name = "acme", home_region = "eu-central-1")
`,
		"common/IMAGES.star":       "",
		"common/scripts/harden.sh": "#!/bin/sh\n",
		"apps/api/IMAGES.star": `image(
    name = "api",
    source = ami("ami-0123456789abcdef0"),
    provision = [
        shell(script = "//common:scripts/harden.sh", secret_env = ["TOKEN", "NPM_TOKEN"]),
        shell(inline = ["systemctl enable api"], env = {"PORT": "8080"}),
        copy(src = "./files/../files/api.service", dest = "/etc/systemd//system/api.service", mode = "644"),
    ],
    artifacts = {
        "zeta": artifact(url = "s3://b/z.jar", sha256 = "` + sum + `"),
        "app": artifact(url = "https://x/app.jar", sha256 = "` + sum + `"),
    },
    regions = ["us-west-2", "eu-central-1", "ap-south-1", "us-west-2"],
    share_with = ["210987654321", "123456789012"],
)
image(name = "plain", parent = ":api")
`,
		"apps/api/files/api.service": "[Unit]\n",
	})
	res := mustLoad(t, root, rules.Config{})
	api := res.Images[label.Label{Pkg: "apps/api", Name: "api"}]
	if api == nil {
		t.Fatalf("no //apps/api:api among %v", rules.SortedLabels(res.Images))
	}
	if want := []string{"eu-central-1", "ap-south-1", "us-west-2"}; !reflect.DeepEqual(api.Regions, want) {
		t.Errorf("regions = %v, want %v (home first, then sorted, no repeats)", api.Regions, want)
	}
	if want := []string{"123456789012", "210987654321"}; !reflect.DeepEqual(api.ShareWith, want) {
		t.Errorf("share_with = %v, want %v", api.ShareWith, want)
	}
	var names []string
	for _, a := range api.Artifacts {
		names = append(names, a.Name)
	}
	if want := []string{"app", "zeta"}; !reflect.DeepEqual(names, want) {
		t.Errorf("artifacts = %v, want %v (sorted by name)", names, want)
	}
	if len(api.Provision) != 3 {
		t.Fatalf("got %d provisioners, want 3", len(api.Provision))
	}
	sh, inl, cp := api.Provision[0], api.Provision[1], api.Provision[2]
	if want := (label.Label{Pkg: "common", Name: "scripts/harden.sh"}); sh.Script == nil || sh.Script.Label != want {
		t.Errorf("script = %+v, want %s", sh.Script, want)
	} else if want := root + "/common/scripts/harden.sh"; sh.Script.Path != want {
		t.Errorf("script path = %s, want %s", sh.Script.Path, want)
	}
	if want := []string{"NPM_TOKEN", "TOKEN"}; !reflect.DeepEqual(sh.SecretEnv, want) {
		t.Errorf("secret_env = %v, want %v", sh.SecretEnv, want)
	}
	if inl.Script != nil || !reflect.DeepEqual(inl.Inline, []string{"systemctl enable api"}) || inl.Env["PORT"] != "8080" {
		t.Errorf("inline shell = %+v", inl)
	}
	if cp.Kind != rules.ProvisionCopy || cp.Mode != "0644" || cp.Dest != "/etc/systemd/system/api.service" ||
		cp.Src.Label != (label.Label{Pkg: "apps/api", Name: "files/api.service"}) {
		t.Errorf("copy = {mode %q, dest %q, src %s}, want mode 0644, cleaned dest and src", cp.Mode, cp.Dest, cp.Src.Label)
	}
	want := rules.AWSAttrs{InstanceType: rules.DefaultInstanceType, SSHUser: rules.DefaultSSHUser,
		SSHPort: rules.DefaultSSHPort, VolumeSizeGB: rules.DefaultVolumeSizeGB, Encrypted: true}
	plain := res.Images[label.Label{Pkg: "apps/api", Name: "plain"}]
	if !reflect.DeepEqual(plain.AWS, want) {
		t.Errorf("defaults = %+v, want %+v", plain.AWS, want)
	}
	if plain.Parent != api.Label || plain.Source != nil {
		t.Errorf("parent = %s, source %v; want %s and no source", plain.Parent, plain.Source, api.Label)
	}
	if !reflect.DeepEqual(plain.Regions, []string{"eu-central-1"}) {
		t.Errorf("regions of an image that names none = %v, want the home region", plain.Regions)
	}
}

// TestFileInSubpackage shows that a file below another package must be
// named by that package's label, as in Bazel.
func TestFileInSubpackage(t *testing.T) {
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star":         awsWorkspace,
		"app/IMAGES.star":     `image(name = "x", source = ami("ami-0123456789abcdef0"), provision = [shell(script = "sub/run.sh")])` + "\n",
		"app/sub/IMAGES.star": "",
		"app/sub/run.sh":      "true\n",
	})
	_, err := load(t, root, rules.Config{})
	if err == nil || !strings.Contains(err.Error(), `"sub/run.sh" is in package //app/sub; name it //app/sub:run.sh`) {
		t.Fatalf("got %v, want an error naming //app/sub:run.sh", err)
	}
}

func TestKMSKeyIn(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:kms:us-east-1:111111111111:key/mrk-1234": "arn:aws:kms:eu-west-1:111111111111:key/mrk-1234",
		"arn:aws:kms:us-east-1:111111111111:alias/images": "arn:aws:kms:eu-west-1:111111111111:alias/images",
		"arn:aws:kms:eu-west-1:111111111111:key/1234abcd": "arn:aws:kms:eu-west-1:111111111111:key/1234abcd",
		"alias/images":                         "alias/images",
		"1234abcd-12ab-34cd-56ef-1234567890ab": "1234abcd-12ab-34cd-56ef-1234567890ab",
	} {
		if got, err := (rules.AWSAttrs{KMSKey: in}).KMSKeyIn("eu-west-1"); err != nil || got != want {
			t.Errorf("KMSKeyIn(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := (rules.AWSAttrs{KMSKey: "arn:aws:kms:us-east-1:111111111111:key/1234abcd"}).KMSKeyIn("eu-west-1")
	if err == nil || !strings.Contains(err.Error(), "multi-Region") {
		t.Errorf("a single-region key of another region: %v", err)
	}
}
