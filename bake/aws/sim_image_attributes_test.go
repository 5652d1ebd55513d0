package aws

import (
	"context"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
)

// An image asking for UEFI, NitroTPM and ENA is registered again from
// its snapshots with them, under its own name, and requires IMDSv2; one
// whose parent does not require IMDSv2 gets it by ModifyImageAttribute.
// Nothing is left behind either way.
func TestSimImageAttributes(t *testing.T) {
	w := newSimWorld(t, Options{})
	ctx := context.Background()
	client, err := w.baker.ec2In(home)
	if err != nil {
		t.Fatal(err)
	}
	describe := func(id string) types.Image {
		out, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
		if err != nil || len(out.Images) != 1 {
			t.Fatalf("DescribeImages %s: %v", id, err)
		}
		return out.Images[0]
	}

	run := newRunID()
	im := w.image("uefi", inlineShell("echo uefi > /etc/boot"))
	ena := true
	im.AWS.BootMode, im.AWS.TPMSupport, im.AWS.ENASupport = "uefi", "v2.0", &ena
	job := w.job(im, run, "")
	id, err := w.baker.Bake(ctx, job.Job)
	if err != nil {
		t.Fatalf("bake: %v\nlog:\n%s", err, job.log)
	}
	img := describe(id)
	if img.BootMode != types.BootModeValuesUefi || img.TpmSupport != types.TpmSupportValuesV20 || !awssdk.ToBool(img.EnaSupport) ||
		img.ImdsSupport != types.ImdsSupportValuesV20 || awssdk.ToString(img.Name) != imageName(im.Label, job.Key) {
		t.Errorf("image %s: boot %q, tpm %q, ena %v, imds %q, name %s", id, img.BootMode, img.TpmSupport,
			awssdk.ToBool(img.EnaSupport), img.ImdsSupport, awssdk.ToString(img.Name))
	}
	for _, tg := range img.Tags {
		if awssdk.ToString(tg.Key) == bake.TagTemporary {
			t.Errorf("the kept image is still temporary")
		}
	}
	w.noLeftovers(t, run)

	// A parent registered without ImdsSupport, as an outside image may be.
	out, err := client.RegisterImage(ctx, &ec2.RegisterImageInput{
		Name: awssdk.String("outside-image"), Architecture: types.ArchitectureValuesX8664, RootDeviceName: awssdk.String("/dev/xvda"),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: awssdk.String("/dev/xvda"), Ebs: img.BlockDeviceMappings[0].Ebs}},
	})
	if err != nil {
		t.Fatal(err)
	}
	run = newRunID()
	child, err := w.baker.Bake(ctx, w.job(w.image("imds", inlineShell("true")), run, awssdk.ToString(out.ImageId)).Job)
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(child).ImdsSupport; got != types.ImdsSupportValuesV20 {
		t.Errorf("a child of an image without ImdsSupport: %q, want v2.0", got)
	}
	if n := w.sim.Calls()[home]["ModifyImageAttribute"]; n != 1 {
		t.Errorf("%d ModifyImageAttribute calls, want 1", n)
	}
	w.noLeftovers(t, run)

	// imds_support = "" on a child of an image that requires IMDSv2: only
	// a registration without ImdsSupport allows IMDSv1 again.
	run = newRunID()
	open := w.image("imdsv1", inlineShell("true"))
	open.AWS.IMDSv1Allowed = true
	v1, err := w.baker.Bake(ctx, w.job(open, run, child).Job)
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(v1).ImdsSupport; got != "" {
		t.Errorf("a child asking for imds_support = \"\" of an IMDSv2 image: %q, want none", got)
	}
	w.noLeftovers(t, run)
}
