//go:build linux

package ec2sim_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

func tagMap(tags []types.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

func TestInstanceLifecycle(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	w.newKey(home, "bake-key")
	sg := must[*ec2.CreateSecurityGroupOutput](t)(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("bake-sg"), Description: aws.String("temporary"),
	}))
	subnets := must[*ec2.DescribeSubnetsOutput](t)(c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{
		Filters: []types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}, filter("availability-zone", "us-east-1b")},
	}))
	if len(subnets.Subnets) != 1 {
		t.Fatalf("%d default subnets", len(subnets.Subnets))
	}
	subnet := *subnets.Subnets[0].SubnetId

	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(w.base), InstanceType: types.InstanceTypeT3Micro, KeyName: aws.String("bake-key"),
		SecurityGroupIds: []string{*sg.GroupId}, SubnetId: aws.String(subnet),
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		MetadataOptions: &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateRequired, HttpEndpoint: types.InstanceMetadataEndpointStateEnabled},
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{
			VolumeSize: aws.Int32(12), Encrypted: aws.Bool(true), KmsKeyId: aws.String("alias/bakes"), DeleteOnTermination: aws.Bool(true),
		}}},
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{tag("imgraph:run", "run-1"), tag("Name", "bake")}},
			{ResourceType: types.ResourceTypeVolume, Tags: []types.Tag{tag("imgraph:run", "run-1")}},
		},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if out.ReservationId == nil || out.OwnerId == nil || *out.OwnerId != ec2sim.Account || len(out.Instances) != 1 {
		t.Fatalf("RunInstances answered %+v", out)
	}
	launched := out.Instances[0]
	id := *launched.InstanceId
	if launched.State.Name != types.InstanceStateNamePending || *launched.State.Code != 0 {
		t.Errorf("a new instance is %s; want pending", launched.State.Name)
	}
	// The transition happens on a later Describe, never in RunInstances.
	in := w.instance(home, id)
	if in.State.Name != types.InstanceStateNameRunning || *in.State.Code != 16 {
		t.Fatalf("after a Describe the instance is %s; want running", in.State.Name)
	}
	if *in.ImageId != w.base || in.InstanceType != types.InstanceTypeT3Micro || *in.KeyName != "bake-key" ||
		*in.SubnetId != subnet || in.VpcId == nil || in.Architecture != types.ArchitectureValuesX8664 {
		t.Errorf("instance %+v", in)
	}
	// Two loopback addresses: the public one from 127.0.0.2 up, the
	// private one in the subnet's range (172.31.16.0/20 moved to 127.31.16.0/20).
	if aws.ToString(in.PublicIpAddress) != "127.0.0.2" || aws.ToString(in.PrivateIpAddress) != "127.31.16.4" ||
		*in.Placement.AvailabilityZone != "us-east-1b" {
		t.Errorf("addresses: public %v private %v in %s; want 127.0.0.2 and 127.31.16.4 in us-east-1b",
			aws.ToString(in.PublicIpAddress), aws.ToString(in.PrivateIpAddress), *in.Placement.AvailabilityZone)
	}
	if len(in.SecurityGroups) != 1 || *in.SecurityGroups[0].GroupId != *sg.GroupId || *in.SecurityGroups[0].GroupName != "bake-sg" {
		t.Errorf("security groups %+v", in.SecurityGroups)
	}
	if m := in.MetadataOptions; m == nil || m.HttpTokens != types.HttpTokensStateRequired || m.State != types.InstanceMetadataOptionsStateApplied {
		t.Errorf("metadata options %+v", in.MetadataOptions)
	}
	if in.LaunchTime == nil || time.Since(*in.LaunchTime) > time.Hour {
		t.Errorf("launch time %v", in.LaunchTime)
	}
	if tags := tagMap(in.Tags); tags["imgraph:run"] != "run-1" || tags["Name"] != "bake" || len(tags) != 2 {
		t.Errorf("tags %v", tags)
	}
	if len(in.BlockDeviceMappings) != 1 || *in.BlockDeviceMappings[0].DeviceName != "/dev/xvda" || in.BlockDeviceMappings[0].Ebs.VolumeId == nil {
		t.Fatalf("block devices %+v", in.BlockDeviceMappings)
	}
	volID := *in.BlockDeviceMappings[0].Ebs.VolumeId

	vols := must[*ec2.DescribeVolumesOutput](t)(c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{
		Filters: []types.Filter{{Name: aws.String("tag:imgraph:run"), Values: []string{"run-1"}}},
	}))
	if len(vols.Volumes) != 1 {
		t.Fatalf("%d volumes tagged for the run", len(vols.Volumes))
	}
	v := vols.Volumes[0]
	if *v.VolumeId != volID || v.State != types.VolumeStateInUse || !*v.Encrypted || *v.Size != 12 ||
		!strings.HasSuffix(aws.ToString(v.KmsKeyId), ":alias/bakes") || len(v.Attachments) != 1 || *v.Attachments[0].InstanceId != id {
		t.Errorf("volume %+v", v)
	}

	// Filters: tag:K, tag-key, instance-state-name.
	for _, f := range [][]types.Filter{
		{{Name: aws.String("tag:imgraph:run"), Values: []string{"run-*"}}},
		{{Name: aws.String("tag-key"), Values: []string{"imgraph:run"}}},
		{{Name: aws.String("instance-state-name"), Values: []string{"pending", "running"}}, {Name: aws.String("tag:Name"), Values: []string{"bake"}}},
	} {
		got := must[*ec2.DescribeInstancesOutput](t)(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: f}))
		if len(got.Reservations) != 1 || *got.Reservations[0].Instances[0].InstanceId != id {
			t.Errorf("filter %s: %d reservations", *f[0].Name, len(got.Reservations))
		}
	}
	none := must[*ec2.DescribeInstancesOutput](t)(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"stopped"}}},
	}))
	if len(none.Reservations) != 0 {
		t.Errorf("a stopped filter found %d reservations", len(none.Reservations))
	}
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("no-such-filter"), Values: []string{"x"}}}})
	wantCode(t, err, "InvalidParameterValue")

	// The group is in use while the instance lives, shutting-down included.
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId})
	wantCode(t, err, "DependencyViolation")

	stop := must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}))
	if sc := stop.StoppingInstances[0]; sc.CurrentState.Name != types.InstanceStateNameStopping || sc.PreviousState.Name != types.InstanceStateNameRunning {
		t.Errorf("StopInstances: %s -> %s", sc.PreviousState.Name, sc.CurrentState.Name)
	}
	in = w.instance(home, id)
	if in.State.Name != types.InstanceStateNameStopped || in.PublicIpAddress != nil || in.PrivateIpAddress == nil {
		t.Errorf("after a Describe the instance is %s with public address %v", in.State.Name, aws.ToString(in.PublicIpAddress))
	}
	if in.StateReason == nil || *in.StateReason.Code != "Client.UserInitiatedShutdown" {
		t.Errorf("state reason %+v", in.StateReason)
	}

	dir := w.sim.State().Regions[home].Instances[0].Dir
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the instance's tree: %v", err)
	}
	term := must[*ec2.TerminateInstancesOutput](t)(c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}))
	if sc := term.TerminatingInstances[0]; sc.CurrentState.Name != types.InstanceStateNameShuttingDown || sc.PreviousState.Name != types.InstanceStateNameStopped {
		t.Errorf("TerminateInstances: %s -> %s", sc.PreviousState.Name, sc.CurrentState.Name)
	}
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId})
	wantCode(t, err, "DependencyViolation") // a Describe call, not this one, completes termination
	if in = w.instance(home, id); in.State.Name != types.InstanceStateNameTerminated || *in.State.Code != 48 || in.PrivateIpAddress != nil {
		t.Errorf("after a Describe the instance is %s", in.State.Name)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a terminated instance's tree is still there: %v", err)
	}
	_, err = c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{volID}})
	wantCode(t, err, "InvalidVolume.NotFound")
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId}); err != nil {
		t.Errorf("DeleteSecurityGroup after termination: %v", err)
	}
	// Terminating again is harmless; stopping is not.
	term = must[*ec2.TerminateInstancesOutput](t)(c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}))
	if term.TerminatingInstances[0].CurrentState.Name != types.InstanceStateNameTerminated {
		t.Errorf("terminating a terminated instance: %s", term.TerminatingInstances[0].CurrentState.Name)
	}
	_, err = c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	wantCode(t, err, "IncorrectInstanceState")
}

func TestRunInstancesErrors(t *testing.T) {
	// A dozen RunInstances at once: more than EC2's bucket (5, then 2 a
	// second) lets through without waiting.
	w := newWorld(t, ec2sim.Options{RateLimitScale: 10})
	c := w.ec2(home)
	run := func(mod func(*ec2.RunInstancesInput)) error {
		in := &ec2.RunInstancesInput{ImageId: aws.String(w.base), InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}
		mod(in)
		_, err := c.RunInstances(ctx, in)
		return err
	}
	for _, tc := range []struct {
		name string
		mod  func(*ec2.RunInstancesInput)
		code string
	}{
		{"unknown image", func(in *ec2.RunInstancesInput) { in.ImageId = aws.String("ami-0123456789abcdef0") }, "InvalidAMIID.NotFound"},
		{"malformed image", func(in *ec2.RunInstancesInput) { in.ImageId = aws.String("image-1") }, "InvalidAMIID.Malformed"},
		{"image of another region", func(in *ec2.RunInstancesInput) {}, ""},
		{"unknown key", func(in *ec2.RunInstancesInput) { in.KeyName = aws.String("nobody") }, "InvalidKeyPair.NotFound"},
		{"unknown group", func(in *ec2.RunInstancesInput) { in.SecurityGroupIds = []string{"sg-0123456789abcdef0"} }, "InvalidGroup.NotFound"},
		{"unknown subnet", func(in *ec2.RunInstancesInput) { in.SubnetId = aws.String("subnet-0123456789abcdef0") }, "InvalidSubnetID.NotFound"},
		{"bad type", func(in *ec2.RunInstancesInput) { in.InstanceType = "huge" }, "InvalidParameterValue"},
		{"unknown type", func(in *ec2.RunInstancesInput) { in.InstanceType = "t3.bogus" }, "InvalidParameterValue"},
		{"unknown zone", func(in *ec2.RunInstancesInput) {
			in.Placement = &types.Placement{AvailabilityZone: aws.String("us-east-1z")}
		}, "InvalidParameterValue"},
		{"arm type, x86 image", func(in *ec2.RunInstancesInput) { in.InstanceType = types.InstanceTypeT4gMicro }, "InvalidParameterValue"},
		{"volume smaller than its snapshot", func(in *ec2.RunInstancesInput) {
			in.BlockDeviceMappings = []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(4)}}}
		}, "InvalidBlockDeviceMapping"},
		{"key without encryption", func(in *ec2.RunInstancesInput) {
			in.BlockDeviceMappings = []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{KmsKeyId: aws.String("k")}}}
		}, "InvalidParameterDependency"},
		{"bad metadata option", func(in *ec2.RunInstancesInput) {
			in.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpTokens: "sometimes"}
		}, "InvalidParameterValue"},
		{"tags for images", func(in *ec2.RunInstancesInput) {
			in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeImage, Tags: []types.Tag{tag("a", "b")}}}
		}, "InvalidParameterValue"},
		{"reserved tag", func(in *ec2.RunInstancesInput) {
			in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{tag("aws:x", "b")}}}
		}, "InvalidParameterValue"},
	} {
		if tc.code == "" {
			// The base image exists in home only.
			_, err := w.ec2(away).RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
			wantCode(t, err, "InvalidAMIID.NotFound")
			continue
		}
		t.Run(tc.name, func(t *testing.T) { wantCode(t, run(tc.mod), tc.code) })
	}
	if n := len(w.sim.State().Regions[home].Instances); n != 0 {
		t.Errorf("failed launches left %d instances", n)
	}
	_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-bad"}})
	wantCode(t, err, "InvalidInstanceID.Malformed")
}

func TestInstanceStates(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	id := w.run(home, w.base, "")
	_, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	wantCode(t, err, "IncorrectInstanceState") // still pending
	_, err = c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(id), Name: aws.String("too-early")})
	wantCode(t, err, "IncorrectInstanceState")
	w.instance(home, id) // running
	c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	_, err = c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	wantCode(t, err, "IncorrectInstanceState") // stopping
	w.instance(home, id)                       // stopped
	start := must[*ec2.StartInstancesOutput](t)(c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}))
	if start.StartingInstances[0].CurrentState.Name != types.InstanceStateNamePending {
		t.Errorf("StartInstances: %s", start.StartingInstances[0].CurrentState.Name)
	}
	if in := w.instance(home, id); in.State.Name != types.InstanceStateNameRunning || in.PublicIpAddress == nil {
		t.Errorf("a restarted instance is %s", in.State.Name)
	}
}

func TestClientTokenAndAddresses(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	in := &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ClientToken: aws.String("bake-1")}
	first := must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, in))
	again := must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, in))
	if *first.Instances[0].InstanceId != *again.Instances[0].InstanceId {
		t.Errorf("the same ClientToken launched %s and %s", *first.Instances[0].InstanceId, *again.Instances[0].InstanceId)
	}
	a := *first.Instances[0].InstanceId
	b := w.run(home, w.base, "")
	// Launches that name no zone go to each zone in turn.
	inA, inB := w.instance(home, a), w.instance(home, b)
	if *inA.PublicIpAddress != "127.0.0.2" || *inB.PublicIpAddress != "127.0.0.3" ||
		*inA.PrivateIpAddress != "127.31.0.4" || *inB.PrivateIpAddress != "127.31.16.4" ||
		*inA.Placement.AvailabilityZone != "us-east-1a" || *inB.Placement.AvailabilityZone != "us-east-1b" {
		t.Errorf("addresses %s (%s, %s) and %s (%s, %s)", *inA.PublicIpAddress, *inA.PrivateIpAddress, *inA.Placement.AvailabilityZone,
			*inB.PublicIpAddress, *inB.PrivateIpAddress, *inB.Placement.AvailabilityZone)
	}
	c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{a}})
	w.instance(home, a) // terminated: its addresses are free
	d := must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		Placement: &types.Placement{AvailabilityZone: aws.String("us-east-1a")}}))
	if in := w.instance(home, *d.Instances[0].InstanceId); *in.PublicIpAddress != "127.0.0.2" || *in.PrivateIpAddress != "127.31.0.4" {
		t.Errorf("a new instance in us-east-1a got %s and %s; want the freed 127.0.0.2 and 127.31.0.4", *in.PublicIpAddress, *in.PrivateIpAddress)
	}
	calls := w.sim.Calls()[home]
	if calls["RunInstances"] != 4 || calls["TerminateInstances"] != 1 {
		t.Errorf("calls %v", calls)
	}
}

func TestVolumesKeptAfterTermination(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	out := must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		BlockDeviceMappings: []types.BlockDeviceMapping{
			{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{DeleteOnTermination: aws.Bool(false)}},
			{DeviceName: aws.String("/dev/xvdb"), Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(20), VolumeType: types.VolumeTypeGp2}},
		},
	}))
	id := *out.Instances[0].InstanceId
	in := w.instance(home, id)
	if len(in.BlockDeviceMappings) != 2 {
		t.Fatalf("block devices %+v", in.BlockDeviceMappings)
	}
	root, data := *in.BlockDeviceMappings[0].Ebs.VolumeId, *in.BlockDeviceMappings[1].Ebs.VolumeId
	_, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(root)})
	wantCode(t, err, "VolumeInUse")
	c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	w.instance(home, id)
	vols := must[*ec2.DescribeVolumesOutput](t)(c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []types.Filter{filter("status", "available")}}))
	if len(vols.Volumes) != 1 || *vols.Volumes[0].VolumeId != root || len(vols.Volumes[0].Attachments) != 0 || *vols.Volumes[0].Size != 8 {
		t.Fatalf("volumes left after termination: %+v", vols.Volumes)
	}
	_, err = c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{data}})
	wantCode(t, err, "InvalidVolume.NotFound")
	if _, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(root)}); err != nil {
		t.Fatal(err)
	}
}
