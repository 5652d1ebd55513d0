//go:build linux

package ec2sim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

// RegisterImage sets an image's boot mode, NitroTPM and ENA (TPM only
// with UEFI; ENA off unless asked, as in EC2); CreateImage and launches
// of the image keep them; ModifyImageAttribute sets ImdsSupport v2.0 and
// nothing else.
func TestImageBootAttributes(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	first, _ := w.bakeImage("first-image")
	snap := *w.image(home, first).BlockDeviceMappings[0].Ebs.SnapshotId
	register := func(name string, mutate func(in *ec2.RegisterImageInput)) (*ec2.RegisterImageOutput, error) {
		in := &ec2.RegisterImageInput{
			Name: aws.String(name), Architecture: types.ArchitectureValuesX8664, RootDeviceName: aws.String("/dev/xvda"),
			BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{SnapshotId: aws.String(snap)}}},
		}
		mutate(in)
		return c.RegisterImage(ctx, in)
	}
	_, err := register("tpm-on-bios", func(in *ec2.RegisterImageInput) {
		in.BootMode, in.TpmSupport = types.BootModeValuesLegacyBios, types.TpmSupportValuesV20
	})
	wantCode(t, err, "InvalidParameterCombination")
	_, err = register("bad-boot", func(in *ec2.RegisterImageInput) { in.BootMode = "bios" })
	wantCode(t, err, "InvalidParameterValue")

	plain := must[*ec2.RegisterImageOutput](t)(register("plain", func(*ec2.RegisterImageInput) {}))
	if im := w.image(home, *plain.ImageId); aws.ToBool(im.EnaSupport) || im.BootMode != "" || im.TpmSupport != "" {
		t.Errorf("an image registered with nothing asked: ena %v, boot %q, tpm %q", aws.ToBool(im.EnaSupport), im.BootMode, im.TpmSupport)
	}
	out := must[*ec2.RegisterImageOutput](t)(register("uefi-tpm", func(in *ec2.RegisterImageInput) {
		in.BootMode, in.TpmSupport, in.EnaSupport = types.BootModeValuesUefi, types.TpmSupportValuesV20, aws.Bool(true)
	}))
	id := *out.ImageId
	im := w.image(home, id)
	if im.BootMode != types.BootModeValuesUefi || im.TpmSupport != types.TpmSupportValuesV20 || !aws.ToBool(im.EnaSupport) {
		t.Errorf("registered image: boot %q, tpm %q, ena %v", im.BootMode, im.TpmSupport, aws.ToBool(im.EnaSupport))
	}
	inst := w.instance(home, w.run(home, id, ""))
	if inst.CurrentInstanceBootMode != types.InstanceBootModeValuesUefi {
		t.Errorf("an instance of a uefi image boots %q", inst.CurrentInstanceBootMode)
	}
	child := must[*ec2.CreateImageOutput](t)(c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: inst.InstanceId, Name: aws.String("child-image")}))
	if im := w.image(home, *child.ImageId); im.BootMode != types.BootModeValuesUefi || im.TpmSupport != types.TpmSupportValuesV20 || !aws.ToBool(im.EnaSupport) {
		t.Errorf("CreateImage of its instance: boot %q, tpm %q, ena %v; want its source's", im.BootMode, im.TpmSupport, aws.ToBool(im.EnaSupport))
	}

	_, err = c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: plain.ImageId, ImdsSupport: &types.AttributeValue{Value: aws.String("v1.0")}})
	wantCode(t, err, "InvalidParameterValue")
	must[*ec2.ModifyImageAttributeOutput](t)(c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: plain.ImageId, ImdsSupport: &types.AttributeValue{Value: aws.String("v2.0")}}))
	if im := w.image(home, *plain.ImageId); im.ImdsSupport != types.ImdsSupportValuesV20 {
		t.Errorf("after ModifyImageAttribute ImdsSupport v2.0: %q", im.ImdsSupport)
	}
	tpm := must[*ec2.DescribeImageAttributeOutput](t)(c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(id), Attribute: types.ImageAttributeNameTpmSupport}))
	if aws.ToString(tpm.TpmSupport.Value) != "v2.0" {
		t.Errorf("DescribeImageAttribute tpmSupport: %+v", tpm.TpmSupport)
	}
}
