package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/internal/testrootfs"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// The aws platform's end-to-end tests: the CLI, the real aws-sdk-go-v2
// client and SSH, against the EC2 simulator.

const al2023 = "al2023-ami-2023.6.20261101.0-kernel-6.1-x86_64"

// startSim starts a simulator with Amazon's base image in the home region
// (a BusyBox root filesystem) and points this process's AWS configuration
// at it.
func startSim(t *testing.T) *ec2sim.Sim {
	t.Helper()
	sim, env := newSim(t, 22)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return sim
}

// newSim starts a simulator with Amazon's base image in the home region,
// its instances' SSH servers on sshPort, and returns the environment that
// points an imgraph process at it.
func newSim(t *testing.T, sshPort int) (*ec2sim.Sim, []string) {
	t.Helper()
	rootfs := filepath.Join(t.TempDir(), "al2023")
	testrootfs.At(t, rootfs)
	sim, err := ec2sim.New(ec2sim.Options{SSHPort: sshPort})
	if err != nil {
		t.Fatal(err)
	}
	endpoint, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if _, err := sim.RegisterImage("us-east-1", ec2sim.BaseImage{Name: al2023, Owner: "amazon", Architecture: "x86_64", RootFS: rootfs}); err != nil {
		t.Fatal(err)
	}
	return sim, []string{
		"AWS_ENDPOINT_URL=" + endpoint, "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_POLL_DELAY_SECONDS=0.01",
		"AWS_CONFIG_FILE=" + filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(t.TempDir(), "none"),
	}
}

// examplesWorkspace copies the repository's example monorepo into a new
// workspace of the given platform.
func examplesWorkspace(t *testing.T, platform string) *testWorkspace {
	t.Helper()
	ws := &testWorkspace{root: filepath.Join(t.TempDir(), "ws"), cache: filepath.Join(t.TempDir(), "cache")}
	writeFiles(t, ws.root, map[string]string{"IMAGES.star": `workspace(name = "examples", home_region = "us-east-1", platform = "` + platform + `")` + "\n"})
	src, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() && d.Name() == "rootfs" {
			return filepath.SkipDir // the local platform's, assembled by the demo
		}
		dest := filepath.Join(ws.root, "examples", rel)
		if d.IsDir() {
			return os.MkdirAll(dest, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dest, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// regionsOf loads the workspace and returns the regions each image wants.
func regionsOf(t *testing.T, root string) map[string][]string {
	t.Helper()
	ws, err := rules.FindWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := rules.NewLoader(ws, rules.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := engine.LoadGraph(context.Background(), l, []label.Pattern{{Recursive: true, Selects: label.Rules}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for lbl, im := range a.Graph.Images {
		out[lbl.String()] = im.Regions
	}
	return out
}

// runOf is the run of the one instance the simulator holds.
func runOf(sim *ec2sim.Sim) string {
	for _, st := range sim.State().Regions {
		for _, i := range st.Instances {
			if run := i.Tags["imgraph:run"]; run != "" && i.State != "terminated" {
				return run
			}
		}
	}
	return ""
}

// leftovers lists every temporary resource the simulator still holds.
func leftovers(sim *ec2sim.Sim) []string {
	var out []string
	for region, st := range sim.State().Regions {
		for _, i := range st.Instances {
			if i.State != "terminated" {
				out = append(out, region+" instance "+i.ID+" "+i.State)
			}
		}
		for _, k := range st.KeyPairs {
			out = append(out, region+" key pair "+k.Name)
		}
		for _, g := range st.SecurityGroups {
			if g.Name != "default" {
				out = append(out, region+" security group "+g.ID)
			}
		}
		for _, v := range st.Volumes {
			out = append(out, region+" volume "+v.ID+" "+v.State)
		}
		for _, im := range st.Images {
			if im.Tags["imgraph:temporary"] != "" || im.State != "available" {
				out = append(out, region+" image "+im.ID+" "+im.State)
			}
		}
	}
	return out
}

func TestAWSBuildOfTheExamples(t *testing.T) {
	sim := startSim(t)
	ws := examplesWorkspace(t, "aws")

	if r := ws.imgraph(t, nil, "lock"); r.code != exitOK || !strings.Contains(r.stdout, al2023) && !strings.Contains(r.stdout, "ami-") {
		t.Fatalf("imgraph lock: %v", r)
	}
	lock, err := engine.ReadLock(ws.root)
	if err != nil || len(lock.Sources) != 1 || lock.Sources[0].Name != al2023 {
		t.Fatalf("IMAGES.lock: %v %+v, want the base image resolved", err, lock)
	}

	events := filepath.Join(t.TempDir(), "events.jsonl")
	r := ws.imgraph(t, nil, "build", "//examples/...", "--jobs", "4", "--events", events)
	if r.code != exitOK {
		t.Fatalf("build: %v", r)
	}
	if rows, count := summary(t, r.stdout); count != "9 images: 9 baked" {
		t.Fatalf("summary %q %v", count, rows)
	}
	m, err := engine.ReadManifest(filepath.Join(ws.root, "imgraph-out"))
	if err != nil {
		t.Fatal(err)
	}
	st := sim.State()
	images := map[string]ec2sim.Image{}
	for region, rs := range st.Regions {
		for _, im := range rs.Images {
			images[region+" "+im.ID] = im
		}
	}
	wantRegions := regionsOf(t, ws.root)
	for label, entry := range m.Images {
		want := wantRegions[label]
		if len(want) == 0 || len(entry.Images) != len(want) {
			t.Errorf("%s is in %v, want %v", label, entry.Images, want)
		}
		for _, region := range want {
			im, ok := images[region+" "+entry.Images[region]]
			if !ok || im.State != "available" || im.Tags["imgraph:key"] != entry.Key || im.Tags["imgraph:label"] != label {
				t.Errorf("%s in %s: %+v, want an available image tagged with its key and label", label, region, im)
			}
		}
	}
	api := m.Images["//examples/apps/api:api"]
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		im := images[region+" "+api.Images[region]]
		shared := false
		for _, p := range im.LaunchPermissions {
			shared = shared || p.UserID == "210987654321"
		}
		if !shared {
			t.Errorf("api in %s is not shared with 210987654321: %+v", region, im.LaunchPermissions)
		}
		found := false
		for _, p := range st.Regions[region].Parameters {
			found = found || p.Name == "/imgraph/examples/api/latest" && p.Value == api.Images[region]
		}
		if !found {
			t.Errorf("SSM /imgraph/examples/api/latest in %s does not name %s", region, api.Images[region])
		}
	}
	if left := leftovers(sim); len(left) > 0 {
		t.Errorf("the build left temporary resources: %v", left)
	}
	// One instance per bake, and one for the base's test, launched from
	// the new base image.
	if n := sim.Calls()["us-east-1"]["RunInstances"]; n != 10 {
		t.Errorf("%d RunInstances calls, want 9 bakes and 1 test", n)
	}
	base := m.Images["//examples/base:base"].Images["us-east-1"]
	var fromBase []string
	for _, in := range st.Regions["us-east-1"].Instances {
		if in.ImageID == base {
			fromBase = append(fromBase, in.State)
		}
	}
	// The base's children start from it too: their bakes' instances.
	if children := 3; len(fromBase) != children+1 || slices.ContainsFunc(fromBase, func(s string) bool { return s != "terminated" }) {
		t.Errorf("instances launched from the base image: %q, want its test's and its children's bakes', all terminated", fromBase)
	}

	// A second build bakes nothing, its hits checked with one
	// DescribeImages call per region.
	before := sim.Calls()
	r = ws.imgraph(t, nil, "build", "//examples/...")
	if _, count := summary(t, r.stdout); r.code != exitOK || count != "9 images: 9 cached" {
		t.Fatalf("second build: %v", r)
	}
	after := sim.Calls()
	if after["us-east-1"]["RunInstances"] != before["us-east-1"]["RunInstances"] {
		t.Error("the second build launched an instance")
	}
	for region := range after {
		if n := after[region]["DescribeImages"] - before[region]["DescribeImages"]; n > 1 {
			t.Errorf("the second build called DescribeImages %d times in %s, want one batched call", n, region)
		}
	}
}

func TestAWSDistributionChangesNeverRebake(t *testing.T) {
	sim := startSim(t)
	ws := examplesWorkspace(t, "aws")
	if r := ws.imgraph(t, nil, "build", "//examples/apps/api"); r.code != exitOK {
		t.Fatalf("build: %v", r)
	}
	runs := sim.Calls()["us-east-1"]["RunInstances"]
	copies := sim.Calls()["ap-southeast-2"]["CopyImage"]

	// New tags, one more region, one more account: nothing in the key.
	path := filepath.Join(ws.root, "examples", "apps", "api", "IMAGES.star")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), `share_with = ["210987654321"]`, `share_with = ["210987654321", "333333333333"]`, 1)
	edited = strings.Replace(edited, `regions = EU_REGIONS`, `regions = EU_REGIONS + ["ap-southeast-2"]`, 1)
	if edited == string(src) {
		t.Fatal("the example no longer has the attributes this test edits")
	}
	writeFiles(t, ws.root, map[string]string{"examples/apps/api/IMAGES.star": edited})

	r := ws.imgraph(t, nil, "plan", "//examples/apps/api", "--output", "json")
	if r.code != exitOK || !strings.Contains(r.stdout, `"action": "copy"`) || !strings.Contains(r.stdout, "share_with changed") {
		t.Fatalf("plan: %v\nwant the api image to copy and share, not bake", r)
	}
	if r := ws.imgraph(t, nil, "build", "//examples/apps/api"); r.code != exitOK {
		t.Fatalf("build: %v", r)
	}
	if n := sim.Calls()["us-east-1"]["RunInstances"]; n != runs {
		t.Errorf("RunInstances went from %d to %d: a distribution change rebaked", runs, n)
	}
	if n := sim.Calls()["ap-southeast-2"]["CopyImage"]; n != copies+1 {
		t.Errorf("%d copies into ap-southeast-2, want %d", n, copies+1)
	}
	if left := leftovers(sim); len(left) > 0 {
		t.Errorf("temporary resources left: %v", left)
	}
}

// TestAWSCleanupAfterKill kills a build with SIGKILL while its instance
// runs a provisioner, so nothing is undone, then lets cleanup find it.
func TestAWSCleanupAfterKill(t *testing.T) {
	sim := startSim(t)
	g := newGate(t)
	ws, p := heldBuild(t, g, "echo never")
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
	if len(leftovers(sim)) == 0 {
		t.Fatal("the killed build left nothing: the test did not kill it mid-bake")
	}
	// Its resources beat a moment ago: from here, it could be alive on
	// another machine, and cleanup leaves them, saying so.
	run := runOf(sim)
	r := ws.imgraph(t, nil, "cleanup", "--older-than", "0s")
	if r.code != exitOK || strings.Contains(r.stdout, "removed") || !strings.Contains(r.stdout, "left alone: ") ||
		!strings.Contains(r.stdout, "of run "+run) || !strings.Contains(r.stdout, "imgraph cleanup --run RUN") {
		t.Fatalf("cleanup of a run that beat a moment ago: %v", r)
	}
	var out cleanupJSON
	r = ws.imgraph(t, nil, "cleanup", "--older-than", "0s", "--output", "json")
	if err := json.Unmarshal([]byte(r.stdout), &out); r.code != exitOK || err != nil ||
		len(out.Removed) != 0 || len(out.LeftAlone) == 0 || out.LeftAlone[0].Run != run || out.LeftAlone[0].Resources == 0 {
		t.Fatalf("cleanup --output json of a run that beat a moment ago: %v (%v)", r, err)
	}
	// A dry run of its removal says what would go, as JSON, and removes nothing.
	r = ws.imgraph(t, nil, "cleanup", "--older-than", "0s", "--run", run, "--dry-run", "--output", "json")
	out = cleanupJSON{}
	if err := json.Unmarshal([]byte(r.stdout), &out); r.code != exitOK || err != nil || !out.DryRun ||
		!slices.ContainsFunc(out.Removed, func(x removedJSON) bool { return x.Kind == "instance" && x.Run == run }) {
		t.Fatalf("cleanup --run --dry-run --output json: %v (%v)", r, err)
	}
	if len(leftovers(sim)) == 0 {
		t.Fatal("a dry run removed what it would remove")
	}
	// Named as dead, its resources go.
	r = ws.imgraph(t, nil, "cleanup", "--older-than", "0s", "--run", run)
	if r.code != exitOK || !strings.Contains(r.stdout, "removed instance") || !strings.Contains(r.stdout, "removed key-pair") {
		t.Fatalf("cleanup --run: %v", r)
	}
	if left := leftovers(sim); len(left) > 0 {
		t.Errorf("cleanup left %v", left)
	}
	if r := ws.imgraph(t, nil, "cleanup", "--older-than", "0s"); r.code != exitOK || !strings.Contains(r.stdout, "nothing to clean up") {
		t.Errorf("a second cleanup: %v", r)
	}
}

// Cleanup beside a live build that uses another cache (or another
// machine) leaves the build's resources alone: they beat, and the build
// finishes.
func TestAWSCleanupBesideALiveBuildOfAnotherCache(t *testing.T) {
	startSim(t)
	g := newGate(t)
	ws, p := heldBuild(t, g)
	other := &testWorkspace{root: ws.root, cache: filepath.Join(t.TempDir(), "other-cache")}
	r := other.imgraph(t, nil, "cleanup", "--older-than", "0s")
	if r.code != exitOK || strings.Contains(r.stdout, "removed") || !strings.Contains(r.stdout, "left alone: ") {
		t.Errorf("cleanup beside a live build: %v", r)
	}
	g.open("held")
	if r := p.wait(t); r.code != exitOK {
		t.Fatalf("the build after the cleanup: %v", r)
	}
}

// heldBuild starts a build of one image on aws whose provisioner waits at
// the gate "held" (then runs more), and returns once it is there.
func heldBuild(t *testing.T, g *gate, more ...string) (*testWorkspace, *process) {
	t.Helper()
	ws := &testWorkspace{root: filepath.Join(t.TempDir(), "ws"), cache: filepath.Join(t.TempDir(), "cache")}
	lines := append([]string{g.pass("held")}, more...)
	writeFiles(t, ws.root, map[string]string{
		"IMAGES.star": `workspace(name = "t", platform = "aws")` + "\n",
		"base/IMAGES.star": `image(name = "base", source = ami_filter(owners = ["amazon"], name = "al2023-ami-2023.*-x86_64"),
    provision = [shell(inline = ["` + strings.Join(lines, `", "`) + `"])])`,
	})
	p := ws.start(t, nil, "build", "//base")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	select {
	case <-g.arrival("held"):
	case <-p.done:
		t.Fatalf("the build ended before its provisioner ran: %v", p.wait(t))
	case <-ctx.Done():
		t.Fatal("the provisioner never ran")
	}
	return ws, p
}

// A test-only edit on aws tests the baked image again on an instance of
// its own, with no new image made, and leaves nothing behind.
func TestAWSTestOnlyEditRetests(t *testing.T) {
	sim := startSim(t)
	ws := examplesWorkspace(t, "aws")
	if r := ws.imgraph(t, nil, "build", "//examples/base"); r.code != exitOK {
		t.Fatalf("build: %v", r)
	}
	before := sim.Calls()["us-east-1"]
	script := filepath.Join(ws.root, "examples", "base", "tests", "hardened.sh")
	data, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, ws.root, map[string]string{"examples/base/tests/hardened.sh": string(data) + "test -d /etc/sysctl.d\n"})
	r := ws.imgraph(t, nil, "build", "//examples/base")
	if rows, count := summary(t, r.stdout); r.code != exitOK || rows["//examples/base:base"].action != "test" || count != "1 image: 1 tested" {
		t.Fatalf("build after a test edit: %v", r)
	}
	after := sim.Calls()["us-east-1"]
	if after["CreateImage"] != before["CreateImage"] || after["RunInstances"] != before["RunInstances"]+1 {
		t.Errorf("CreateImage %d -> %d, RunInstances %d -> %d: want no image made and one test instance",
			before["CreateImage"], after["CreateImage"], before["RunInstances"], after["RunInstances"])
	}
	if left := leftovers(sim); len(left) > 0 {
		t.Errorf("the re-test left: %v", left)
	}
}
