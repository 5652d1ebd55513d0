//go:build linux

package ec2sim_test

import (
	"fmt"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

// Volumes of a launch are made per mapping with their type, IOPS,
// throughput and encryption; CreateImage snapshots each and records the
// mappings, which DescribeImages shows and a launch of the image makes
// again. Volumes EC2 refuses are refused.
func TestBlockDeviceMappings(t *testing.T) {
	w := newWorld(t, ec2sim.Options{RateLimitScale: 10}) // many launches in a row: not a test of the limits
	c := w.ec2(home)
	ebs := func(size, iops, throughput int32, typ types.VolumeType) *types.EbsBlockDevice {
		e := &types.EbsBlockDevice{VolumeSize: aws.Int32(size), VolumeType: typ, DeleteOnTermination: aws.Bool(true), Encrypted: aws.Bool(true)}
		if iops > 0 {
			e.Iops = aws.Int32(iops)
		}
		if throughput > 0 {
			e.Throughput = aws.Int32(throughput)
		}
		return e
	}
	run := func(image string, mappings ...types.BlockDeviceMapping) (*ec2.RunInstancesOutput, error) {
		return c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(image), InstanceType: types.InstanceTypeT3Micro,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), BlockDeviceMappings: mappings})
	}
	m := func(device string, e *types.EbsBlockDevice) types.BlockDeviceMapping {
		return types.BlockDeviceMapping{DeviceName: aws.String(device), Ebs: e}
	}
	out := must[*ec2.RunInstancesOutput](t)(run(w.base,
		m("/dev/xvda", ebs(20, 6000, 250, types.VolumeTypeGp3)),
		m("/dev/xvdb", ebs(100, 0, 0, types.VolumeTypeGp3)),
		m("/dev/xvdc", ebs(50, 2500, 0, types.VolumeTypeIo2)),
	))
	id := aws.ToString(out.Instances[0].InstanceId)
	if n := len(w.instance(home, id).BlockDeviceMappings); n != 3 {
		t.Fatalf("instance has %d devices, want 3", n)
	}
	img := must[*ec2.CreateImageOutput](t)(c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(id), Name: aws.String("volumes")}))
	want := map[string]string{
		"/dev/xvda": "20 gp3 6000 250 true",
		"/dev/xvdb": "100 gp3 3000 125 true",
		"/dev/xvdc": "50 io2 2500 0 true",
	}
	shown := func(image string) map[string]string {
		got := map[string]string{}
		for _, bd := range w.image(home, image).BlockDeviceMappings {
			e := bd.Ebs
			if e == nil || aws.ToString(e.SnapshotId) == "" {
				t.Errorf("mapping %s has no snapshot: %+v", aws.ToString(bd.DeviceName), e)
				continue
			}
			got[aws.ToString(bd.DeviceName)] = fmtMapping(e)
		}
		return got
	}
	if got := shown(aws.ToString(img.ImageId)); !maps.Equal(got, want) {
		t.Errorf("image mappings = %v, want %v", got, want)
	}
	// A launch of the image makes every volume again; one of its own
	// replaces the image's of that device.
	out = must[*ec2.RunInstancesOutput](t)(run(aws.ToString(img.ImageId), m("/dev/xvdb", ebs(200, 0, 0, types.VolumeTypeGp3))))
	child := aws.ToString(out.Instances[0].InstanceId)
	sizes := map[string]int32{}
	vols := must[*ec2.DescribeVolumesOutput](t)(c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{
		Filters: []types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{child}}}}))
	for _, v := range vols.Volumes {
		sizes[aws.ToString(v.Attachments[0].Device)] = aws.ToInt32(v.Size)
		if aws.ToString(v.Attachments[0].Device) == "/dev/xvdc" && (v.VolumeType != types.VolumeTypeIo2 || aws.ToInt32(v.Iops) != 2500) {
			t.Errorf("the io2 volume made again: %s %d", v.VolumeType, aws.ToInt32(v.Iops))
		}
	}
	if sizes["/dev/xvda"] != 20 || sizes["/dev/xvdb"] != 200 || sizes["/dev/xvdc"] != 50 {
		t.Errorf("volumes of a launch of the image: %v", sizes)
	}

	for name, tc := range map[string]struct {
		mapping types.BlockDeviceMapping
		code    string
	}{
		"gp3 iops too low":        {m("/dev/xvdb", ebs(100, 2000, 0, types.VolumeTypeGp3)), "InvalidParameterValue"},
		"gp3 iops per GiB":        {m("/dev/xvdb", ebs(10, 6000, 0, types.VolumeTypeGp3)), "InvalidParameterValue"},
		"gp3 throughput too high": {m("/dev/xvdb", ebs(100, 16000, 1200, types.VolumeTypeGp3)), "InvalidParameterValue"},
		"gp3 throughput per iops": {m("/dev/xvdb", ebs(100, 3000, 1000, types.VolumeTypeGp3)), "InvalidParameterValue"},
		"io1 without iops":        {m("/dev/xvdb", ebs(100, 0, 0, types.VolumeTypeIo1)), "InvalidParameterCombination"},
		"io1 iops per GiB":        {m("/dev/xvdb", ebs(10, 1000, 0, types.VolumeTypeIo1)), "InvalidParameterValue"},
		"gp2 with iops":           {m("/dev/xvdb", ebs(100, 3000, 0, types.VolumeTypeGp2)), "InvalidParameterCombination"},
		"io2 with throughput":     {m("/dev/xvdb", ebs(100, 3000, 200, types.VolumeTypeIo2)), "InvalidParameterCombination"},
		"st1 too small":           {m("/dev/xvdb", ebs(100, 0, 0, types.VolumeTypeSt1)), "InvalidParameterValue"},
		"partition device":        {m("/dev/sdf1", ebs(10, 0, 0, types.VolumeTypeGp3)), "InvalidBlockDeviceMapping"},
	} {
		if _, err := run(w.base, tc.mapping); errorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
	}
}

func fmtMapping(e *types.EbsBlockDevice) string {
	return fmt.Sprintf("%d %s %d %d %v", aws.ToInt32(e.VolumeSize), e.VolumeType, aws.ToInt32(e.Iops), aws.ToInt32(e.Throughput), aws.ToBool(e.Encrypted))
}
