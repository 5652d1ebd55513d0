package aws

import (
	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// launchVolumes gives the launch the image's root volume type, IOPS and
// throughput (root is its root mapping's EBS), and its extra volumes,
// which CreateImage then keeps in the AMI's block device mappings. An
// image's parent's extra volumes come with the parent's mappings, as EC2
// applies an AMI's mappings to every launch of it.
func (s *bakeState) launchVolumes(in *ec2.RunInstancesInput, root *types.EbsBlockDevice) error {
	if r := s.attrs.RootVolume; r != nil {
		root.VolumeType = types.VolumeType(r.Type)
		if r.Iops > 0 {
			root.Iops = awssdk.Int32(int32(r.Iops))
		}
		if r.Throughput > 0 {
			root.Throughput = awssdk.Int32(int32(r.Throughput))
		}
	}
	for _, v := range s.attrs.Volumes {
		ebs := &types.EbsBlockDevice{
			VolumeSize:          awssdk.Int32(int32(v.SizeGB)),
			VolumeType:          types.VolumeType(v.Type),
			DeleteOnTermination: awssdk.Bool(true),
		}
		if v.Iops > 0 {
			ebs.Iops = awssdk.Int32(int32(v.Iops))
		}
		if v.Throughput > 0 {
			ebs.Throughput = awssdk.Int32(int32(v.Throughput))
		}
		if v.Encrypted {
			ebs.Encrypted = awssdk.Bool(true)
			if v.KMSKey != "" {
				a := s.attrs
				a.KMSKey = v.KMSKey
				key, err := a.KMSKeyIn(s.region)
				if err != nil {
					return err
				}
				ebs.KmsKeyId = awssdk.String(key)
			}
		}
		in.BlockDeviceMappings = append(in.BlockDeviceMappings, types.BlockDeviceMapping{DeviceName: awssdk.String(v.Device), Ebs: ebs})
	}
	return nil
}
