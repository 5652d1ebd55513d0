package aws

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/ec2sim"
)

// bakedImage is the image Baked lists with id.
func bakedImage(t *testing.T, w *simWorld, id string) bake.BakedImage {
	t.Helper()
	images, err := w.baker.Baked(context.Background(), []string{home, away})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		if img.ID == id {
			return img
		}
	}
	t.Fatalf("Baked does not list %s: %+v", id, images)
	return bake.BakedImage{}
}

// TestSimBakedAndRetire lists a baked image with what gc needs to know of
// it, and retires it: the image goes, and its snapshot stays while
// another image uses it.
func TestSimBakedAndRetire(t *testing.T) {
	w := newSimWorld(t, Options{})
	ctx := context.Background()
	run := newRunID()
	job, id := w.bakeOne(t, run)

	img := bakedImage(t, w, id)
	if img.Label != "//t:dist" || img.Key != job.Key || img.Region != home || img.Run != run || img.Shared || img.Temporary || img.RunLive ||
		len(img.Snapshots) != 1 || img.Bytes != 8<<30 || time.Since(img.Created) > time.Hour {
		t.Errorf("Baked lists %+v", img)
	}

	// A temporary resource of the run that beats now makes the run live.
	client, err := w.baker.ec2In(home)
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: awssdk.String("imgraph-live-" + run), Description: awssdk.String("a live run's"),
		TagSpecifications: tagSpecs(toTags(map[string]string{
			bake.TagRun: run, bake.TagTemporary: "true", TagHeartbeat: time.Now().UTC().Format(time.RFC3339),
		}), types.ResourceTypeSecurityGroup),
	})
	if err != nil {
		t.Fatal(err)
	}
	if img := bakedImage(t, w, id); !img.RunLive {
		t.Errorf("Baked does not see run %s alive: %+v", run, img)
	}

	// Another image registered from the same snapshot.
	other, err := client.RegisterImage(ctx, &ec2.RegisterImageInput{
		Name: awssdk.String("registered-from-" + id), Architecture: types.ArchitectureValuesX8664,
		RootDeviceName: awssdk.String("/dev/xvda"),
		BlockDeviceMappings: []types.BlockDeviceMapping{{
			DeviceName: awssdk.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{SnapshotId: awssdk.String(img.Snapshots[0])},
		}},
		TagSpecifications: tagSpecs(toTags(map[string]string{bake.TagKey: job.Key, bake.TagLabel: "//t:dist"}), types.ResourceTypeImage),
	})
	if err != nil {
		t.Fatal(err)
	}
	otherID := awssdk.ToString(other.ImageId)
	if _, err := waitForImage(ctx, client, otherID, home, time.Millisecond, time.Minute); err != nil {
		t.Fatal(err)
	}

	retired, err := w.baker.Retire(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if !retired.Gone || len(retired.Snapshots) != 0 || !slices.Equal(retired.Kept, img.Snapshots) || retired.Freed != 0 {
		t.Errorf("Retire of an image whose snapshot another uses: %+v", retired)
	}
	if w.imageState(home, id) != nil || !w.hasSnapshot(home, img.Snapshots[0]) {
		t.Errorf("after Retire: image there %v, snapshot there %v; want the image gone, its snapshot kept", w.imageState(home, id) != nil, w.hasSnapshot(home, img.Snapshots[0]))
	}
	// Again: gone already is no error.
	if again, err := w.baker.Retire(ctx, img); err != nil || !again.Gone {
		t.Errorf("Retire again: %+v, %v", again, err)
	}

	// The other image, now alone with the snapshot, takes it with it.
	last := bakedImage(t, w, otherID)
	retired, err = w.baker.Retire(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	if !retired.Gone || !slices.Equal(retired.Snapshots, img.Snapshots) || retired.Freed != 8<<30 {
		t.Errorf("Retire of the snapshot's last image: %+v", retired)
	}
	if w.imageState(home, otherID) != nil || w.hasSnapshot(home, img.Snapshots[0]) {
		t.Error("the last image or its snapshot is left")
	}
}

// An image shared, or retagged, since gc listed it stays.
func TestSimRetireLooksAgain(t *testing.T) {
	w := newSimWorld(t, Options{})
	ctx := context.Background()
	job, id := w.bakeOne(t, newRunID())
	img := bakedImage(t, w, id)

	job.Image.ShareWith = []string{"210987654321"}
	if err := w.baker.Publish(ctx, publishJob(job, id, home)); err != nil {
		t.Fatal(err)
	}
	if shared := bakedImage(t, w, id); !shared.Shared {
		t.Errorf("Baked does not see the image shared: %+v", shared)
	}
	_, err := w.baker.Retire(ctx, img)
	var still *bake.StillWantedError
	if !errors.As(err, &still) || w.imageState(home, id) == nil {
		t.Fatalf("Retire of an image shared since it was listed: %v; want it kept", err)
	}

	other := img
	other.Key = "another-key"
	if _, err := w.baker.Retire(ctx, other); !errors.As(err, &still) || w.imageState(home, id) == nil {
		t.Fatalf("Retire of an image of another key: %v; want it kept", err)
	}

	// With --include-shared, gc lists it shared: it goes.
	img.Shared = true
	if retired, err := w.baker.Retire(ctx, img); err != nil || !retired.Gone || w.imageState(home, id) != nil {
		t.Errorf("Retire of a shared image gc was told to include: %+v, %v", retired, err)
	}
}

func (w *simWorld) hasSnapshot(region, id string) bool {
	return slices.ContainsFunc(w.sim.State().Regions[region].Snapshots, func(sn ec2sim.Snapshot) bool { return sn.ID == id })
}
