package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/ec2sim"
)

// lifecycleImage is an image wanted in two regions, handed to launch
// templates and deprecated when superseded; provision says what it holds.
func lifecycleImage(provision, templates string) string {
	return `image(
    name = "web",
    source = ami_filter(owners = ["amazon"], name = "al2023-ami-2023.*-x86_64"),
    provision = [shell(inline = ["` + provision + `"])],
    regions = ["eu-west-1"],
    launch_templates = ` + templates + `,
    deprecate_after = "90d",
)
`
}

// createLaunchTemplate makes a launch template in region, through the
// API, as a deployment's own tooling would.
func createLaunchTemplate(t *testing.T, region, name string) {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ec2.NewFromConfig(cfg).CreateLaunchTemplate(context.Background(), &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: types.InstanceTypeT3Small},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func templateOf(t *testing.T, sim *ec2sim.Sim, region, name string) ec2sim.LaunchTemplate {
	t.Helper()
	for _, lt := range sim.State().Regions[region].LaunchTemplates {
		if lt.Name == name {
			return lt
		}
	}
	t.Fatalf("no launch template %s in %s", name, region)
	return ec2sim.LaunchTemplate{}
}

// callsTo counts the calls of action in every region.
func callsTo(sim *ec2sim.Sim, action string) int {
	n := 0
	for _, actions := range sim.Calls() {
		n += actions[action]
	}
	return n
}

// The image lifecycle on aws, through the CLI: launch templates follow
// the image in each region, an edited list republishes without a rebake,
// a rebake deprecates the image it supersedes, and going back to the
// first key makes its image current again.
func TestAWSLaunchTemplatesAndDeprecation(t *testing.T) {
	sim := startSim(t)
	regions := []string{"us-east-1", "eu-west-1"}
	for _, region := range regions {
		createLaunchTemplate(t, region, "web")
		createLaunchTemplate(t, region, "batch")
	}
	ws := &testWorkspace{root: filepath.Join(t.TempDir(), "ws"), cache: filepath.Join(t.TempDir(), "cache")}
	writeFiles(t, ws.root, map[string]string{
		"IMAGES.star":     `workspace(name = "t", platform = "aws")` + "\n",
		"web/IMAGES.star": lifecycleImage("echo one > /etc/web", `["web"]`),
	})
	if r := ws.imgraph(t, nil, "build", "//web"); r.code != exitOK {
		t.Fatalf("build: %v", r)
	}
	manifest := func() map[string]string {
		t.Helper()
		m, err := engine.ReadManifest(filepath.Join(ws.root, "imgraph-out"))
		if err != nil {
			t.Fatal(err)
		}
		return m.Images["//web:web"].Images
	}
	first := manifest()
	for _, region := range regions {
		lt := templateOf(t, sim, region, "web")
		if lt.DefaultVersion != 2 || len(lt.Versions) != 2 || lt.Versions[1] != first[region] {
			t.Errorf("web in %s: %+v, want a second version, the default, launching %s", region, lt, first[region])
		}
	}

	// Built again: nothing to do, no new version.
	versions := callsTo(sim, "CreateLaunchTemplateVersion")
	if r := ws.imgraph(t, nil, "build", "//web"); r.code != exitOK || !strings.Contains(r.stdout, "cached") {
		t.Fatalf("second build: %v", r)
	}
	if n := callsTo(sim, "CreateLaunchTemplateVersion"); n != versions {
		t.Errorf("a build with nothing to do made %d launch template versions", n-versions)
	}

	// One more template: republished, not rebaked.
	writeFiles(t, ws.root, map[string]string{"web/IMAGES.star": lifecycleImage("echo one > /etc/web", `["web", "batch"]`)})
	r := ws.imgraph(t, nil, "plan", "//web")
	if r.code != exitOK || !strings.Contains(r.stdout, "retag") || !strings.Contains(r.stdout, "launch_templates changed") {
		t.Fatalf("plan after adding a launch template: %v", r)
	}
	images := callsTo(sim, "CreateImage")
	if r := ws.imgraph(t, nil, "build", "//web"); r.code != exitOK {
		t.Fatalf("build after adding a launch template: %v", r)
	}
	if n := callsTo(sim, "CreateImage"); n != images {
		t.Errorf("adding a launch template made %d images", n-images)
	}
	for _, region := range regions {
		if lt := templateOf(t, sim, region, "batch"); lt.DefaultVersion != 2 || lt.Versions[1] != first[region] {
			t.Errorf("batch in %s: %+v, want its default to launch %s", region, lt, first[region])
		}
		if lt := templateOf(t, sim, region, "web"); len(lt.Versions) != 2 {
			t.Errorf("web in %s has %d versions, want 2: it launched the image already", region, len(lt.Versions))
		}
	}
	if r := ws.imgraph(t, nil, "plan", "//web"); r.code != exitOK || strings.Contains(r.stdout, "retag") {
		t.Errorf("plan after the republish: %v", r)
	}

	// A rebake: the new image is launched, the old one deprecated in
	// every region it was copied to.
	writeFiles(t, ws.root, map[string]string{"web/IMAGES.star": lifecycleImage("echo two > /etc/web", `["web", "batch"]`)})
	if r := ws.imgraph(t, nil, "build", "//web"); r.code != exitOK {
		t.Fatalf("rebuild: %v", r)
	}
	second := manifest()
	for _, region := range regions {
		if second[region] == first[region] {
			t.Fatalf("the rebuild did not bake: %s in %s", second[region], region)
		}
		for _, im := range sim.State().Regions[region].Images {
			switch im.ID {
			case first[region]:
				if im.DeprecationTime == nil {
					t.Errorf("the superseded image %s in %s is not deprecated", im.ID, region)
				}
			case second[region]:
				if im.DeprecationTime != nil {
					t.Errorf("the new image %s in %s is deprecated at %v", im.ID, region, im.DeprecationTime)
				}
			}
		}
		if lt := templateOf(t, sim, region, "web"); lt.DefaultVersion != 3 || lt.Versions[2] != second[region] {
			t.Errorf("web in %s after the rebuild: %+v, want its default to launch %s", region, lt, second[region])
		}
	}

	// Back to the first: its image is current again everywhere, and the
	// one it replaces is deprecated in its turn. Nothing bakes.
	writeFiles(t, ws.root, map[string]string{"web/IMAGES.star": lifecycleImage("echo one > /etc/web", `["web", "batch"]`)})
	r = ws.imgraph(t, nil, "plan", "//web")
	if r.code != exitOK || !strings.Contains(r.stdout, "retag") || !strings.Contains(r.stdout, "last built as key") {
		t.Fatalf("plan after going back to the first key: %v", r)
	}
	images = callsTo(sim, "CreateImage")
	if r := ws.imgraph(t, nil, "build", "//web"); r.code != exitOK {
		t.Fatalf("build after going back to the first key: %v", r)
	}
	if n := callsTo(sim, "CreateImage"); n != images {
		t.Errorf("going back to a baked key made %d images", n-images)
	}
	for _, region := range regions {
		for _, im := range sim.State().Regions[region].Images {
			switch {
			case im.ID == first[region] && im.DeprecationTime != nil:
				t.Errorf("the first image %s in %s, current again, is deprecated at %v", im.ID, region, im.DeprecationTime)
			case im.ID == second[region] && im.DeprecationTime == nil:
				t.Errorf("the second image %s in %s, superseded, is not deprecated", im.ID, region)
			}
		}
		if lt := templateOf(t, sim, region, "web"); lt.DefaultVersion != 4 || lt.Versions[3] != first[region] {
			t.Errorf("web in %s after going back: %+v, want its default to launch %s", region, lt, first[region])
		}
	}
	if r := ws.imgraph(t, nil, "plan", "//web"); r.code != exitOK || strings.Contains(r.stdout, "retag") {
		t.Errorf("plan after going back: %v", r)
	}
	if left := leftovers(sim); len(left) > 0 {
		t.Errorf("temporary resources left: %v", left)
	}
}

// A launch template missing in a wanted region fails the publish there,
// naming the template and the region; the image stays baked and recorded,
// and the next build, once the template exists, only publishes.
func TestAWSMissingLaunchTemplate(t *testing.T) {
	sim := startSim(t)
	createLaunchTemplate(t, "us-east-1", "web")
	ws := &testWorkspace{root: filepath.Join(t.TempDir(), "ws"), cache: filepath.Join(t.TempDir(), "cache")}
	writeFiles(t, ws.root, map[string]string{
		"IMAGES.star":     `workspace(name = "t", platform = "aws")` + "\n",
		"web/IMAGES.star": lifecycleImage("echo one > /etc/web", `["web"]`),
	})
	r := ws.imgraph(t, nil, "build", "//web")
	if r.code != exitBakeFailed || !strings.Contains(r.stdout+r.stderr, `launch template "web" does not exist in eu-west-1`) {
		t.Fatalf("build with a launch template missing in eu-west-1: %v", r)
	}
	createLaunchTemplate(t, "eu-west-1", "web")
	images := callsTo(sim, "CreateImage")
	if r := ws.imgraph(t, nil, "build", "//web"); r.code != exitOK {
		t.Fatalf("build once the template exists: %v", r)
	}
	if n := callsTo(sim, "CreateImage"); n != images {
		t.Errorf("the build after a failed publish made %d images", n-images)
	}
	if lt := templateOf(t, sim, "eu-west-1", "web"); lt.DefaultVersion != 2 {
		t.Errorf("web in eu-west-1: %+v, want a second version, the default", lt)
	}
}
