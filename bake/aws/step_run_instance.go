package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/rules"
)

// stepRunInstance launches the build instance from the parent image or the
// resolved source, with IMDSv2 required and an encrypted root volume, and
// waits until it runs.
type stepRunInstance struct{}

func (*stepRunInstance) Name() string { return "launch" }

func (*stepRunInstance) Run(ctx context.Context, s *bakeState) error {
	s.phase("launch")
	from := s.job.Parent
	if from == "" {
		from = s.job.SourceID
	}
	if from == "" && s.job.Source != nil && s.job.Source.Kind == rules.SourceAMI {
		from = s.job.Source.ID
	}
	if from == "" {
		return fmt.Errorf("no image to start from: the job names neither a parent image nor a resolved source")
	}
	images, err := s.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{from}})
	if err != nil {
		return fmt.Errorf("looking up image %s: %w", from, err)
	}
	if len(images.Images) == 0 {
		return fmt.Errorf("image %s does not exist in %s", from, s.region)
	}
	base := images.Images[0]
	attrs := s.attrs
	if attrs.InstanceType, err = instanceTypeFor(attrs, base); err != nil {
		return err
	}
	root := awssdk.ToString(base.RootDeviceName)
	if root == "" {
		root = "/dev/xvda"
	}
	size := int32(attrs.VolumeSizeGB)
	for _, m := range base.BlockDeviceMappings {
		if awssdk.ToString(m.DeviceName) == root && m.Ebs != nil && awssdk.ToInt32(m.Ebs.VolumeSize) > size {
			s.b.warn("aws: %s: volume_size_gb = %d is smaller than the root volume of %s (%d GB); using %d GB",
				s.label, size, from, awssdk.ToInt32(m.Ebs.VolumeSize), awssdk.ToInt32(m.Ebs.VolumeSize))
			size = awssdk.ToInt32(m.Ebs.VolumeSize)
		}
	}
	ebs := &types.EbsBlockDevice{
		VolumeSize:          awssdk.Int32(size),
		VolumeType:          types.VolumeTypeGp3,
		DeleteOnTermination: awssdk.Bool(true),
	}
	if attrs.Encrypted {
		ebs.Encrypted = awssdk.Bool(true)
		if attrs.KMSKey != "" {
			key, err := attrs.KMSKeyIn(s.region)
			if err != nil {
				return err
			}
			ebs.KmsKeyId = awssdk.String(key)
		}
	}
	in := &ec2.RunInstancesInput{
		ImageId:      awssdk.String(from),
		InstanceType: types.InstanceType(attrs.InstanceType),
		MinCount:     awssdk.Int32(1),
		MaxCount:     awssdk.Int32(1),
		KeyName:      awssdk.String(s.keyName),
		MetadataOptions: &types.InstanceMetadataOptionsRequest{
			HttpTokens:   types.HttpTokensStateRequired,
			HttpEndpoint: types.InstanceMetadataEndpointStateEnabled,
		},
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: awssdk.String(root), Ebs: ebs}},
		TagSpecifications:   tagSpecs(s.tempTags(), types.ResourceTypeInstance, types.ResourceTypeVolume),
		// The same token makes a retried call launch one instance only.
		ClientToken: awssdk.String(s.job.RunID + "-" + s.bakeID),
	}
	s.placeInstance(in)
	s.launchOptions(in)
	if err := s.launchVolumes(in, ebs); err != nil {
		return err
	}
	out, err := s.runInstances(ctx, in, base)
	if err != nil {
		return fmt.Errorf("launching a %s instance from %s: %w", s.launchType(), from, err)
	}
	if len(out.Instances) == 0 {
		return fmt.Errorf("launching a %s instance from %s: RunInstances returned no instance", s.launchType(), from)
	}
	s.instanceID = awssdk.ToString(out.Instances[0].InstanceId)
	s.beating(s.instanceID)
	fmt.Fprintf(s.log, "==> launched instance %s (%s) from %s\n", s.instanceID, s.launchType(), from)
	what := fmt.Sprintf("waiting for instance %s to run", s.instanceID)
	return waitFor(ctx, s.b.opts.PollInterval, s.b.waitTimeout(instanceWaitTimeout), what, func(ctx context.Context) (bool, error) {
		inst, err := describeInstance(ctx, s.ec2, s.instanceID)
		if err != nil || inst == nil {
			return false, err // nil: not visible yet (eventual consistency)
		}
		switch inst.State.Name {
		case types.InstanceStateNamePending:
			return false, nil
		case types.InstanceStateNameRunning:
			s.address = s.sshAddress(inst)
			return s.address != "", nil
		}
		return false, fmt.Errorf("instance %s is %s instead of running%s", s.instanceID, inst.State.Name, because(inst.StateReason))
	})
}

// Terminating the instance runs on every path out, success included,
// before the security group it holds can be deleted.
func (*stepRunInstance) Cleanup(ctx context.Context, s *bakeState) error {
	if !s.launched || s.abort.left {
		return nil
	}
	if s.instanceID == "" && s.launchLost {
		// RunInstances may have launched it without our hearing back,
		// and EC2 may not show it yet: the same call with the same token
		// answers with what it launched (or launches it now, to go).
		out, err := s.ec2.RunInstances(ctx, s.launch)
		switch {
		case err == nil && len(out.Instances) > 0:
			s.instanceID = awssdk.ToString(out.Instances[0].InstanceId)
		case err != nil && errorCode(err) == "":
			s.instanceLeft = true
			return fmt.Errorf("an instance launched with client token %s may be left running: %w",
				awssdk.ToString(s.launch.ClientToken), err)
		}
	}
	if s.instanceID == "" {
		return nil // EC2 refused the launch: nothing was launched
	}
	err := terminateInstances(ctx, s.ec2, []string{s.instanceID}, s.b.opts.PollInterval, s.b.waitTimeout(instanceWaitTimeout))
	if err != nil {
		s.instanceLeft = true
	}
	return err
}
