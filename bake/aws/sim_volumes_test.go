package aws

import (
	"context"
	"fmt"
	"maps"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imgraph/imgraph/rules"
)

// An image with a gp3 root of its own and two extra volumes has them in
// its AMI's block device mappings, as DescribeImages shows them; a child
// baked from it keeps them (its parent's mappings).
func TestSimVolumes(t *testing.T) {
	w := newSimWorld(t, Options{})
	ctx := context.Background()
	run := newRunID()
	im := w.image("data", inlineShell("true"))
	im.AWS.RootVolume = &rules.Volume{SizeGB: 20, Type: "gp3", Iops: 4000, Throughput: 250, Encrypted: true}
	im.AWS.VolumeSizeGB = 20
	im.AWS.Volumes = []rules.Volume{
		{Device: "/dev/xvdb", SizeGB: 100, Type: "gp3", Encrypted: true},
		{Device: "/dev/xvdc", SizeGB: 50, Type: "io2", Iops: 2000, Encrypted: true},
	}
	parent, err := w.baker.Bake(ctx, w.job(im, run, "").Job)
	if err != nil {
		t.Fatal(err)
	}
	child, err := w.baker.Bake(ctx, w.job(w.image("child", inlineShell("true")), run, parent).Job)
	if err != nil {
		t.Fatal(err)
	}
	w.noLeftovers(t, run)

	client, err := w.baker.ec2In(home)
	if err != nil {
		t.Fatal(err)
	}
	mappings := func(id string) map[string]string {
		out, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
		if err != nil || len(out.Images) != 1 {
			t.Fatalf("DescribeImages %s: %v", id, err)
		}
		got := map[string]string{}
		for _, m := range out.Images[0].BlockDeviceMappings {
			e := m.Ebs
			if e == nil || awssdk.ToString(e.SnapshotId) == "" {
				t.Errorf("%s: mapping %s has no snapshot", id, awssdk.ToString(m.DeviceName))
				continue
			}
			got[awssdk.ToString(m.DeviceName)] = fmt.Sprintf("%d %s %d %d %v",
				awssdk.ToInt32(e.VolumeSize), e.VolumeType, awssdk.ToInt32(e.Iops), awssdk.ToInt32(e.Throughput), awssdk.ToBool(e.Encrypted))
		}
		return got
	}
	want := map[string]string{
		"/dev/xvda": "20 gp3 4000 250 true",
		"/dev/xvdb": "100 gp3 3000 125 true",
		"/dev/xvdc": "50 io2 2000 0 true",
	}
	if got := mappings(parent); !maps.Equal(got, want) {
		t.Errorf("the parent's mappings = %v, want %v", got, want)
	}
	// The child gives no root_volume: its root keeps what the parent's
	// mapping says (volume_size_gb 8 is under the parent's 20 GiB: the
	// parent's size, with a warning), and the extras are its parent's.
	if got := mappings(child); !maps.Equal(got, want) {
		t.Errorf("the child's mappings = %v, want %v", got, want)
	}
}
