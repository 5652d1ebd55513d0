package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/ec2sim"
)

// TestAWSGC bakes four versions of a base and of two images on it, each
// copied to a second region, and retires the superseded ones with --keep
// 1: exactly those beyond it that nothing protects go, in both regions,
// with their snapshots; the current ones, the newest superseded, and
// those named in IMAGES.lock, published in an SSM parameter, shared with
// another account or under another build's lease stay. A dry run lists
// the same and removes nothing; a second gc removes nothing.
func TestAWSGC(t *testing.T) {
	sim := startSim(t)
	ws := &testWorkspace{root: filepath.Join(t.TempDir(), "ws"), cache: filepath.Join(t.TempDir(), "cache")}
	files := func(version string) map[string]string {
		share := ""
		if version == "v1" {
			share = `, share_with = ["210987654321"]`
		}
		return map[string]string{
			"IMAGES.star": `workspace(name = "t", platform = "aws", home_region = "us-east-1")` + "\n",
			"base/IMAGES.star": `REGIONS = ["us-east-1", "eu-west-1"]
image(name = "base", source = ami_filter(owners = ["amazon"], name = "al2023-ami-2023.*-x86_64"),
    provision = [shell(script = "setup.sh")], regions = REGIONS)
image(name = "app", parent = ":base", provision = [shell(inline = ["echo app > /app"])], regions = REGIONS,
    publish_ssm = "/t/app"` + share + `)
image(name = "tool", parent = ":base", provision = [shell(inline = ["echo tool > /tool"])], regions = REGIONS)
`,
			"base/setup.sh": "echo " + version + " > /version\n",
			// An image baked elsewhere from base, pinned in IMAGES.lock.
			"pinned/IMAGES.star": `image(name = "pinned", source = ami_filter(owners = ["self"], name = "imgraph-base-base-*"), regions = ["us-east-1"])` + "\n",
		}
	}
	labels := []string{"//base:base", "//base:app", "//base:tool"}
	versions := map[string][]engine.ManifestEntry{} // label -> its versions, oldest first
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		writeFiles(t, ws.root, files(v))
		if r := ws.imgraph(t, nil, "build", "//base/..."); r.code != exitOK {
			t.Fatalf("build of %s: %v", v, r)
		}
		m, err := engine.ReadManifest(filepath.Join(ws.root, "imgraph-out"))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range labels {
			versions[l] = append(versions[l], m.Images[l])
		}
		if v == "v1" {
			if r := ws.imgraph(t, nil, "lock"); r.code != exitOK {
				t.Fatalf("lock: %v", r)
			}
		}
	}
	base, app, tool := versions["//base:base"], versions["//base:app"], versions["//base:tool"]
	if lock := readFile(t, filepath.Join(ws.root, "IMAGES.lock")); !strings.Contains(lock, base[0].Images["us-east-1"]) {
		t.Fatalf("IMAGES.lock does not pin base's first image %s:\n%s", base[0].Images["us-east-1"], lock)
	}
	// app's parameter rolled back to its second version in eu-west-1.
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("eu-west-1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ssm.NewFromConfig(cfg).PutParameter(t.Context(), &ssm.PutParameterInput{
		Name: awssdk.String("/t/app"), Value: awssdk.String(app[1].Images["eu-west-1"]), Overwrite: awssdk.Bool(true),
		Type: "String", DataType: awssdk.String("aws:ec2:image"),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Another build holds tool's first key.
	store, err := cache.OpenLocal(ws.cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := store.Lock(t.Context(), tool[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	type verdict struct {
		remove bool
		why    string
	}
	want := map[string]verdict{ // by key
		base[3].Key: {false, "the current key of //base:base"},
		base[2].Key: {false, "one of the 1 newest superseded versions of //base:base"},
		base[1].Key: {true, "superseded (the current key of //base:base is " + base[3].Key[:12]},
		base[0].Key: {false, "is named in IMAGES.lock (ami_filter("},
		app[3].Key:  {false, "the current key of //base:app"},
		app[2].Key:  {false, "one of the 1 newest superseded"},
		app[1].Key:  {false, " in eu-west-1 is named in the SSM parameter /t/app in eu-west-1"},
		app[0].Key:  {false, "is shared with other accounts (--include-shared lets it go)"},
		tool[3].Key: {false, "the current key of //base:tool"},
		tool[2].Key: {false, "one of the 1 newest superseded"},
		tool[1].Key: {true, "superseded (the current key of //base:tool is " + tool[3].Key[:12]},
		tool[0].Key: {false, "another build holds the key's lease"},
	}
	gone := []engine.ManifestEntry{base[1], tool[1]}
	snapshots := snapshotsByImage(sim)
	gc := func(action string, args ...string) map[string]string {
		t.Helper()
		r := ws.imgraph(t, nil, append([]string{"gc", "--keep", "1", "--older-than", "0s", "--output", "json"}, args...)...)
		if r.code != exitOK {
			t.Fatalf("gc %s: %v", args, r)
		}
		validate(t, schema(t, "gc.schema.json"), "gc's JSON", []byte(r.stdout))
		var out gcJSON
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatal(err)
		}
		actions := map[string]string{} // image id -> action
		for _, v := range out.Versions {
			w, ok := want[v.Key]
			if !ok {
				t.Errorf("gc lists %s %s, which no build baked", v.Label, v.Key)
				continue
			}
			if v.Remove != w.remove || !strings.Contains(strings.Join(v.Reasons, "\n"), w.why) {
				t.Errorf("gc %s: %s %s: remove %v %q; want remove %v and a reason with %q", args, v.Label, v.Key[:12], v.Remove, v.Reasons, w.remove, w.why)
			}
			if len(v.Images) != 2 {
				t.Errorf("gc %s: %s %s has %d images, want one per region", args, v.Label, v.Key[:12], len(v.Images))
			}
			for _, img := range v.Images {
				actions[img.ID] = img.Action
				if v.Remove && img.Action != action {
					t.Errorf("gc %s: %s in %s is %q, want %q", args, img.ID, img.Region, img.Action, action)
				}
				if action == "removed" && v.Remove && !slices.Equal(sorted(img.SnapshotsDeleted), sorted(snapshots[img.ID])) {
					t.Errorf("gc: %s deleted snapshots %v, want its own %v", img.ID, img.SnapshotsDeleted, snapshots[img.ID])
				}
			}
		}
		if len(out.Versions) != len(want) {
			t.Errorf("gc %s lists %d versions, want %d", args, len(out.Versions), len(want))
		}
		return actions
	}

	dry := gc("would remove", "--dry-run")
	if missing := missingImages(sim, snapshots); len(missing) > 0 {
		t.Fatalf("gc --dry-run removed %v", missing)
	}
	done := gc("removed")
	var wouldGo, went []string
	for id, a := range dry {
		if a == "would remove" {
			wouldGo = append(wouldGo, id)
		}
		if done[id] == "removed" {
			went = append(went, id)
		}
	}
	if slices.Sort(wouldGo); !slices.Equal(wouldGo, sorted(went)) || len(went) != 4 {
		t.Errorf("gc removed %v; the dry run said %v; want the same four", sorted(went), wouldGo)
	}

	// In the simulator: exactly those images and their snapshots are gone.
	var wantGone []string
	for _, e := range gone {
		for _, id := range e.Images {
			wantGone = append(wantGone, id)
			wantGone = append(wantGone, snapshots[id]...)
		}
	}
	if missing := missingImages(sim, snapshots); !slices.Equal(sorted(missing), sorted(wantGone)) {
		t.Errorf("gone from the simulator: %v\nwant: %v", sorted(missing), sorted(wantGone))
	}
	for _, e := range gone {
		if exists(filepath.Join(ws.cache, "records", e.Key[:2], e.Key+".json")) {
			t.Errorf("the record of %s is left", e.Key[:12])
		}
	}
	if exists(filepath.Join(ws.cache, "records", base[2].Key[:2], base[2].Key+".json")) != true {
		t.Errorf("the record of a kept version went")
	}
	if left := leftovers(sim); len(left) > 0 {
		t.Errorf("temporary resources left: %v", left)
	}

	for _, e := range gone {
		delete(want, e.Key)
	}
	again := gc("none")
	for id, a := range again {
		if a != "keep" {
			t.Errorf("a second gc: %s is %q", id, a)
		}
	}
	// The workspace still plans as cached: nothing current went.
	if r := ws.imgraph(t, nil, "plan", "//base/...", "--detailed-exitcode"); r.code != exitOK {
		t.Errorf("plan after gc: %v", r)
	}
}

// snapshotsByImage is every image's snapshots in the simulator, by id.
func snapshotsByImage(sim *ec2sim.Sim) map[string][]string {
	out := map[string][]string{}
	for _, st := range sim.State().Regions {
		for _, im := range st.Images {
			out[im.ID] = im.Snapshots
		}
	}
	return out
}

// missingImages lists what of images (ids and their snapshots) the
// simulator no longer holds.
func missingImages(sim *ec2sim.Sim, images map[string][]string) []string {
	have := map[string]bool{}
	for _, st := range sim.State().Regions {
		for _, im := range st.Images {
			have[im.ID] = true
		}
		for _, sn := range st.Snapshots {
			have[sn.ID] = true
		}
	}
	var missing []string
	for id, snaps := range images {
		for _, x := range append([]string{id}, snaps...) {
			if !have[x] {
				missing = append(missing, x)
			}
		}
	}
	return missing
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
