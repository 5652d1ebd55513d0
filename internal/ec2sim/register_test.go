package ec2sim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

// RegisterImage makes a second image of a snapshot: the snapshot then
// outlives the first image's deregistration, and goes with the last.
func TestRegisterImageSharesASnapshot(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	first, _ := w.bakeImage("first-image")
	snap := *w.image(home, first).BlockDeviceMappings[0].Ebs.SnapshotId
	register := func(name, snapshot string, mutate func(in *ec2.RegisterImageInput)) (*ec2.RegisterImageOutput, error) {
		in := &ec2.RegisterImageInput{
			Name: aws.String(name), Architecture: types.ArchitectureValuesX8664, RootDeviceName: aws.String("/dev/xvda"),
			BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{SnapshotId: aws.String(snapshot)}}},
			TagSpecifications:   []types.TagSpecification{{ResourceType: types.ResourceTypeImage, Tags: []types.Tag{tag("Team", "images")}}},
		}
		if mutate != nil {
			mutate(in)
		}
		return c.RegisterImage(ctx, in)
	}

	// What EC2 refuses.
	_, err := register("first-image", snap, nil)
	wantCode(t, err, "InvalidAMIName.Duplicate")
	_, err = register("x", snap, nil)
	wantCode(t, err, "InvalidAMIName.Malformed")
	_, err = register("missing-snapshot", "snap-0123456789abcdef0", nil)
	wantCode(t, err, "InvalidSnapshot.NotFound")
	_, err = register("small-volume", snap, func(in *ec2.RegisterImageInput) { in.BlockDeviceMappings[0].Ebs.VolumeSize = aws.Int32(1) })
	wantCode(t, err, "InvalidBlockDeviceMapping")
	_, err = register("no-root", snap, func(in *ec2.RegisterImageInput) { in.BlockDeviceMappings[0].DeviceName = aws.String("/dev/xvdf") })
	wantCode(t, err, "InvalidBlockDeviceMapping")
	_, err = register("no-root-name", snap, func(in *ec2.RegisterImageInput) { in.RootDeviceName = nil })
	wantCode(t, err, "MissingParameter")

	out, err := register("second-image", snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	second := *out.ImageId
	im := w.image(home, second)
	if im.State != types.ImageStateAvailable || *im.BlockDeviceMappings[0].Ebs.SnapshotId != snap || im.Architecture != types.ArchitectureValuesX8664 ||
		len(im.Tags) != 1 || *im.Tags[0].Value != "images" {
		t.Errorf("registered image %+v", im)
	}
	users, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"},
		Filters: []types.Filter{{Name: aws.String("block-device-mapping.snapshot-id"), Values: []string{snap}}}})
	if err != nil || len(users.Images) != 2 {
		t.Fatalf("images using %s: %v, %v", snap, users, err)
	}

	// Launched, it holds the first image's tree.
	w.instance(home, w.run(home, second, ""))

	dereg, err := c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(first), DeleteAssociatedSnapshots: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(dereg.DeleteSnapshotResults) != 1 || dereg.DeleteSnapshotResults[0].ReturnCode != types.SnapshotReturnCodesWarnSkipped {
		t.Errorf("deregistering the first image: %+v, want its snapshot skipped", dereg.DeleteSnapshotResults)
	}
	_, err = c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snap)})
	wantCode(t, err, "InvalidSnapshot.InUse")
	dereg, err = c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(second), DeleteAssociatedSnapshots: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(dereg.DeleteSnapshotResults) != 1 || dereg.DeleteSnapshotResults[0].ReturnCode != types.SnapshotReturnCodesSuccess {
		t.Errorf("deregistering the last image: %+v, want its snapshot deleted", dereg.DeleteSnapshotResults)
	}
}
