package aws

import (
	"context"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/ec2sim"
)

// launchTemplate makes a launch template in region whose first version
// launches image with a t3.small, as a deployment would have it.
func (w *simWorld) launchTemplate(region, name, image string) {
	w.t.Helper()
	c, err := w.baker.clientsFor(region)
	if err != nil {
		w.t.Fatal(err)
	}
	_, err = c.ec2.CreateLaunchTemplate(context.Background(), &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: awssdk.String(name),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: awssdk.String(image), InstanceType: types.InstanceTypeT3Small},
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

// templateState is the simulator's view of a launch template.
func (w *simWorld) templateState(region, name string) ec2sim.LaunchTemplate {
	w.t.Helper()
	for _, lt := range w.sim.State().Regions[region].LaunchTemplates {
		if lt.Name == name {
			return lt
		}
	}
	w.t.Fatalf("no launch template %s in %s", name, region)
	return ec2sim.LaunchTemplate{}
}

// Publishing gives each launch template, in each region, a new default
// version that launches the image there and keeps the rest of the
// version it was based on; publishing again adds nothing.
func TestSimPublishLaunchTemplates(t *testing.T) {
	w := newSimWorld(t, Options{})
	run := newRunID()
	job, id := w.bakeOne(t, run)
	ctx := context.Background()
	copyID, err := w.baker.Copy(ctx, copyJob(job, id))
	if err != nil {
		t.Fatal(err)
	}
	for _, region := range []string{home, away} {
		w.launchTemplate(region, "web", "ami-0123456789abcdef0")
		w.launchTemplate(region, "batch", "ami-0123456789abcdef0")
	}
	job.Image.LaunchTemplates = []string{"batch", "web"}
	ids := map[string]string{home: id, away: copyID}
	for _, region := range []string{home, away} {
		if err := w.baker.Publish(ctx, publishJob(job, ids[region], region)); err != nil {
			t.Fatal(err)
		}
	}
	for _, region := range []string{home, away} {
		for _, name := range []string{"web", "batch"} {
			lt := w.templateState(region, name)
			if lt.DefaultVersion != 2 || len(lt.Versions) != 2 || lt.Versions[1] != ids[region] {
				t.Errorf("%s in %s: %+v, want version 2, the default, launching %s", name, region, lt, ids[region])
			}
		}
	}
	// The new version is the old one with another image.
	c, _ := w.baker.clientsFor(away)
	out, err := c.ec2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateName: awssdk.String("web"), Versions: []string{"$Default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.LaunchTemplateVersions[0].LaunchTemplateData; d.InstanceType != types.InstanceTypeT3Small || awssdk.ToString(d.ImageId) != copyID {
		t.Errorf("the new default version's data: %+v", d)
	}

	// Again: the templates launch the image already.
	w.sim.ResetCalls()
	for _, region := range []string{home, away} {
		if err := w.baker.Publish(ctx, publishJob(job, ids[region], region)); err != nil {
			t.Fatal(err)
		}
		if n := w.sim.Calls()[region]["CreateLaunchTemplateVersion"] + w.sim.Calls()[region]["ModifyLaunchTemplate"]; n != 0 {
			t.Errorf("publishing again in %s changed a launch template %d times", region, n)
		}
		if lt := w.templateState(region, "web"); len(lt.Versions) != 2 {
			t.Errorf("web in %s has %d versions after publishing again, want 2", region, len(lt.Versions))
		}
	}

	// A template that does not exist in a region is named, with the region.
	job.Image.LaunchTemplates = []string{"api-fleet"}
	err = w.baker.Publish(ctx, publishJob(job, copyID, away))
	if err == nil || !strings.Contains(err.Error(), `launch template "api-fleet" does not exist in eu-west-1`) {
		t.Errorf("Publish with a missing launch template: %v", err)
	}
	w.noLeftovers(t, run)
}

// A version made before a failed ModifyLaunchTemplate is not made again
// when the publish is retried: the client token finds it.
func TestSimPublishLaunchTemplatesRetried(t *testing.T) {
	w := newSimWorld(t, Options{})
	job, id := w.bakeOne(t, newRunID())
	w.launchTemplate(home, "web", "ami-0123456789abcdef0")
	job.Image.LaunchTemplates = []string{"web"}
	w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultError, Action: "ModifyLaunchTemplate", Code: "UnauthorizedOperation", Times: 1})
	ctx := context.Background()
	if err := w.baker.Publish(ctx, publishJob(job, id, home)); err == nil || !strings.Contains(err.Error(), "UnauthorizedOperation") {
		t.Fatalf("Publish with ModifyLaunchTemplate refused: %v", err)
	}
	if err := w.baker.Publish(ctx, publishJob(job, id, home)); err != nil {
		t.Fatal(err)
	}
	if lt := w.templateState(home, "web"); lt.DefaultVersion != 2 || len(lt.Versions) != 2 || lt.Versions[1] != id {
		t.Errorf("web after a retried publish: %+v, want one new version, the default", lt)
	}
}

// With deprecate_after, publishing a new key of a label deprecates the
// label's other images in that region; publishing an older key again
// undoes its deprecation and deprecates the newer one.
func TestSimDeprecateSuperseded(t *testing.T) {
	w := newSimWorld(t, Options{})
	ctx := context.Background()
	old, oldID := w.bakeOne(t, newRunID())
	oldCopy, err := w.baker.Copy(ctx, copyJob(old, oldID))
	if err != nil {
		t.Fatal(err)
	}
	// A newer key of the same label.
	newer := w.job(w.image("dist", inlineShell("echo newer > /etc/dist")), newRunID(), "")
	newID, err := w.baker.Bake(ctx, newer.Job)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, newer.log)
	}
	newCopy, err := w.baker.Copy(ctx, copyJob(newer, newID))
	if err != nil {
		t.Fatal(err)
	}
	newer.Image.DeprecateAfter = 90 * 24 * time.Hour
	start := time.Now()
	for region, id := range map[string]string{home: newID, away: newCopy} {
		if err := w.baker.Publish(ctx, publishJob(newer, id, region)); err != nil {
			t.Fatal(err)
		}
	}
	end := time.Now()
	for region, id := range map[string]string{home: oldID, away: oldCopy} {
		img := w.imageState(region, id)
		if img.DeprecationTime == nil {
			t.Fatalf("the superseded image %s in %s is not deprecated", id, region)
		}
		at := *img.DeprecationTime
		if at.Before(start.Add(90*24*time.Hour-time.Minute)) || at.After(end.Add(90*24*time.Hour+time.Minute)) || at.Second() != 0 {
			t.Errorf("%s in %s is deprecated at %v, want 90 days from now, to the minute", id, region, at)
		}
		if img.Tags[bake.TagSupersededBy] != newer.Key {
			t.Errorf("%s in %s: tags %v, want %s=%s", id, region, img.Tags, bake.TagSupersededBy, newer.Key)
		}
	}
	for region, id := range map[string]string{home: newID, away: newCopy} {
		if img := w.imageState(region, id); img.DeprecationTime != nil {
			t.Errorf("the published image %s in %s is deprecated at %v", id, region, *img.DeprecationTime)
		}
	}

	// Publishing again keeps the deprecation times: none comes later.
	first := *w.imageState(home, oldID).DeprecationTime
	w.sim.ResetCalls()
	if err := w.baker.Publish(ctx, publishJob(newer, newID, home)); err != nil {
		t.Fatal(err)
	}
	if n := w.sim.Calls()[home]["EnableImageDeprecation"]; n != 0 {
		t.Errorf("publishing again called EnableImageDeprecation %d times", n)
	}
	if got := *w.imageState(home, oldID).DeprecationTime; !got.Equal(first) {
		t.Errorf("the deprecation time moved from %v to %v", first, got)
	}

	// The label goes back to the older key: it is current again.
	old.Image.DeprecateAfter = 90 * 24 * time.Hour
	if err := w.baker.Publish(ctx, publishJob(old, oldID, home)); err != nil {
		t.Fatal(err)
	}
	if img := w.imageState(home, oldID); img.DeprecationTime != nil || img.Tags[bake.TagSupersededBy] != "" {
		t.Errorf("the older image published again: deprecated at %v, tags %v", img.DeprecationTime, img.Tags)
	}
	if img := w.imageState(home, newID); img.DeprecationTime == nil || img.Tags[bake.TagSupersededBy] != old.Key {
		t.Errorf("the newer image after the older was published again: %+v", img)
	}
	// In the other region, nothing was published: it stays as it was.
	if img := w.imageState(away, oldCopy); img.DeprecationTime == nil {
		t.Errorf("the older copy in %s lost its deprecation", away)
	}
}
