//go:build linux

package ec2sim_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func TestDescribeTags(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	out := must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(w.base), InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{tag("Name", "bake"), tag("imgraph:run", "r1")}},
			{ResourceType: types.ResourceTypeVolume, Tags: []types.Tag{tag("imgraph:run", "r1")}},
			{ResourceType: types.ResourceTypeNetworkInterface, Tags: []types.Tag{tag("imgraph:run", "r1")}},
		},
	}))
	id := *out.Instances[0].InstanceId
	sg := must[*ec2.CreateSecurityGroupOutput](t)(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("g"), Description: aws.String("d"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{tag("imgraph:run", "r2")}}},
	}))
	describe := func(filters ...types.Filter) []types.TagDescription {
		t.Helper()
		var all []types.TagDescription
		p := ec2.NewDescribeTagsPaginator(c, &ec2.DescribeTagsInput{Filters: filters, MaxResults: aws.Int32(5)})
		for p.HasMorePages() {
			all = append(all, must[*ec2.DescribeTagsOutput](t)(p.NextPage(ctx)).Tags...)
		}
		return all
	}
	all := describe()
	if len(all) != 5 {
		t.Fatalf("%d tags; want 5: %+v", len(all), all)
	}
	if d := all[0]; *d.ResourceId != id || d.ResourceType != types.ResourceTypeInstance || *d.Key != "Name" || *d.Value != "bake" {
		t.Errorf("the first tag: %+v", d)
	}
	kinds := map[types.ResourceType]bool{}
	for _, d := range describe(filter("key", "imgraph:run")) {
		kinds[d.ResourceType] = true
	}
	if len(kinds) != 4 || !kinds[types.ResourceTypeNetworkInterface] || !kinds[types.ResourceTypeVolume] || !kinds[types.ResourceTypeSecurityGroup] {
		t.Errorf("resource types tagged imgraph:run: %v", kinds)
	}
	if got := describe(filter("resource-id", *sg.GroupId)); len(got) != 1 || *got[0].Value != "r2" {
		t.Errorf("the group's tags: %+v", got)
	}
	if got := describe(filter("resource-type", "instance"), filter("value", "r*")); len(got) != 1 || *got[0].Key != "imgraph:run" {
		t.Errorf("the instance's r* tags: %+v", got)
	}
	// tag:K: the tags of the resources carrying K with a matching value.
	if got := describe(filter("tag:Name", "bake")); len(got) != 2 {
		t.Errorf("the tags of resources named bake: %+v", got)
	}
	_, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{filter("owner", "me")}})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.DescribeTags(ctx, &ec2.DescribeTagsInput{MaxResults: aws.Int32(2)})
	wantCode(t, err, "InvalidParameterValue")
}

func TestDescribeInstanceStatus(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	a := w.run(home, w.base, "")
	b := w.run(home, w.base, "")
	statuses := func(in *ec2.DescribeInstanceStatusInput) map[string]types.InstanceStatus {
		t.Helper()
		out := must[*ec2.DescribeInstanceStatusOutput](t)(c.DescribeInstanceStatus(ctx, in))
		m := map[string]types.InstanceStatus{}
		for _, s := range out.InstanceStatuses {
			m[*s.InstanceId] = s
		}
		return m
	}
	// This call (a describe) lets them boot: their checks are under way.
	got := statuses(&ec2.DescribeInstanceStatusInput{InstanceIds: []string{a}})
	if s := got[a]; len(got) != 1 || s.InstanceState.Name != types.InstanceStateNameRunning || s.InstanceStatus.Status != types.SummaryStatusInitializing ||
		s.SystemStatus.Status != types.SummaryStatusInitializing || *s.AvailabilityZone != "us-east-1a" ||
		s.InstanceStatus.Details[0].Status != types.StatusTypeInitializing {
		t.Errorf("a new running instance: %+v", s)
	}
	// The checks pass by the next describe call (TimeFactor 0).
	got = statuses(&ec2.DescribeInstanceStatusInput{})
	s := got[a]
	if s.InstanceStatus.Status != types.SummaryStatusOk || s.SystemStatus.Status != types.SummaryStatusOk ||
		len(s.InstanceStatus.Details) != 1 || s.InstanceStatus.Details[0].Name != types.StatusNameReachability ||
		s.InstanceStatus.Details[0].Status != types.StatusTypePassed || *s.AvailabilityZoneId != "use1-az1" {
		t.Errorf("a running instance after its checks: %+v", s)
	}
	must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{b}}))
	w.instance(home, b)
	got = statuses(&ec2.DescribeInstanceStatusInput{IncludeAllInstances: aws.Bool(true)})
	if len(got) != 2 || got[b].InstanceState.Name != types.InstanceStateNameStopped || got[b].InstanceStatus.Status != types.SummaryStatusNotApplicable {
		t.Errorf("with IncludeAllInstances: %+v", got)
	}
	got = statuses(&ec2.DescribeInstanceStatusInput{IncludeAllInstances: aws.Bool(true), Filters: []types.Filter{
		filter("instance-status.status", "ok"), filter("availability-zone", "us-east-1*"),
	}})
	if len(got) != 1 || got[a].InstanceId == nil {
		t.Errorf("status ok: %+v", got)
	}
	got = statuses(&ec2.DescribeInstanceStatusInput{IncludeAllInstances: aws.Bool(true), Filters: []types.Filter{filter("instance-state-name", "stopped")}})
	if len(got) != 1 || got[b].InstanceId == nil {
		t.Errorf("stopped: %+v", got)
	}
	_, err := c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{Filters: []types.Filter{filter("tag:Name", "x")}})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
}

func TestGetConsoleOutput(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	id := w.run(home, w.base, "")
	out := must[*ec2.GetConsoleOutputOutput](t)(c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(id)}))
	if *out.InstanceId != id || out.Output != nil {
		t.Errorf("a pending instance's console: %+v", out)
	}
	in := w.instance(home, id)
	out = must[*ec2.GetConsoleOutputOutput](t)(c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(id), Latest: aws.Bool(true)}))
	if out.Output == nil || out.Timestamp == nil {
		t.Fatalf("a running instance's console: %+v", out)
	}
	text, err := base64.StdEncoding.DecodeString(*out.Output)
	if err != nil {
		t.Fatalf("the output is not base64: %v", err)
	}
	// The host key in the console is the one the SSH server presents.
	hostKey := w.sim.State().Regions[home].Instances[0].SSHHostKey
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 "+ssh.FingerprintSHA256(key)+" ") ||
		!strings.Contains(string(text), hostKey) || !strings.Contains(string(text), "ip-"+dashes(*in.PrivateIpAddress)+" login:") {
		t.Errorf("console output:\n%s", text)
	}
	_, err = c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String("i-0123456789abcdef0")})
	wantCode(t, err, "InvalidInstanceID.NotFound")
}

func TestDescribeInstanceAttribute(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	userData := base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hello\n"))
	out := must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(w.base), InstanceType: types.InstanceTypeT3Small, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		UserData: aws.String(userData),
	}))
	id := *out.Instances[0].InstanceId
	attr := func(a types.InstanceAttributeName) *ec2.DescribeInstanceAttributeOutput {
		t.Helper()
		return must[*ec2.DescribeInstanceAttributeOutput](t)(c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: a}))
	}
	if got := attr(types.InstanceAttributeNameInstanceType); *got.InstanceId != id || *got.InstanceType.Value != "t3.small" {
		t.Errorf("instanceType: %+v", got.InstanceType)
	}
	if got := attr(types.InstanceAttributeNameUserData); got.UserData == nil || aws.ToString(got.UserData.Value) != userData {
		t.Errorf("userData: %+v", got.UserData)
	}
	if got := attr(types.InstanceAttributeNameDisableApiTermination); *got.DisableApiTermination.Value {
		t.Errorf("disableApiTermination: %+v", got.DisableApiTermination)
	}
	if got := attr(types.InstanceAttributeNameInstanceInitiatedShutdownBehavior); *got.InstanceInitiatedShutdownBehavior.Value != "stop" {
		t.Errorf("instanceInitiatedShutdownBehavior: %+v", got.InstanceInitiatedShutdownBehavior)
	}
	if got := attr(types.InstanceAttributeNameRootDeviceName); *got.RootDeviceName.Value != "/dev/xvda" {
		t.Errorf("rootDeviceName: %+v", got.RootDeviceName)
	}
	if got := attr(types.InstanceAttributeNameBlockDeviceMapping); len(got.BlockDeviceMappings) != 1 || got.BlockDeviceMappings[0].Ebs.VolumeId == nil {
		t.Errorf("blockDeviceMapping: %+v", got.BlockDeviceMappings)
	}
	if got := attr(types.InstanceAttributeNameGroupSet); len(got.Groups) != 1 || *got.Groups[0].GroupName != "default" {
		t.Errorf("groupSet: %+v", got.Groups)
	}
	if got := attr(types.InstanceAttributeNameSourceDestCheck); !*got.SourceDestCheck.Value {
		t.Errorf("sourceDestCheck: %+v", got.SourceDestCheck)
	}
	if got := attr(types.InstanceAttributeNameEnaSupport); !*got.EnaSupport.Value {
		t.Errorf("enaSupport: %+v", got.EnaSupport)
	}
	if got := attr(types.InstanceAttributeNameEbsOptimized); *got.EbsOptimized.Value {
		t.Errorf("ebsOptimized: %+v", got.EbsOptimized)
	}
	if got := attr(types.InstanceAttributeNameKernel); got.KernelId == nil || got.KernelId.Value != nil {
		t.Errorf("kernel: %+v", got.KernelId)
	}
	if got := attr(types.InstanceAttributeNameEnclaveOptions); got.EnclaveOptions == nil || *got.EnclaveOptions.Enabled {
		t.Errorf("enclaveOptions: %+v", got.EnclaveOptions)
	}
	if got := attr(types.InstanceAttributeNameDisableApiStop); *got.DisableApiStop.Value {
		t.Errorf("disableApiStop: %+v", got.DisableApiStop)
	}
	_, err := c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: "colour"})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), UserData: aws.String("not base64!")})
	wantCode(t, err, "InvalidParameterValue")
}

func TestCreateSnapshotAndItsAttributes(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	key := w.newKey(home, "k")
	id := w.run(home, w.base, "k")
	in := w.instance(home, id)
	cl, err := dial(w.sshAddr(in), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	runSSH(t, cl, "echo snapped > /etc/snapped", "")
	cl.Close()
	vol := *in.BlockDeviceMappings[0].Ebs.VolumeId
	snap := must[*ec2.CreateSnapshotOutput](t)(c.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{
		VolumeId: aws.String(vol), Description: aws.String("the root volume"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: []types.Tag{tag("imgraph:run", "r1")}}},
	}))
	if snap.State != types.SnapshotStatePending || *snap.VolumeId != vol || *snap.Description != "the root volume" ||
		*snap.OwnerId != ec2sim.Account || *snap.VolumeSize != 8 || tagMap(snap.Tags)["imgraph:run"] != "r1" {
		t.Errorf("CreateSnapshot answered %+v", snap)
	}
	snaps := must[*ec2.DescribeSnapshotsOutput](t)(c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{*snap.SnapshotId}}))
	if snaps.Snapshots[0].State != types.SnapshotStateCompleted {
		t.Errorf("the snapshot is %s after a describe", snaps.Snapshots[0].State)
	}
	// Its content is the volume's: an image registered from it has it.
	reg := must[*ec2.RegisterImageOutput](t)(c.RegisterImage(ctx, &ec2.RegisterImageInput{
		Name: aws.String("from-a-snapshot"), Architecture: types.ArchitectureValuesX8664, RootDeviceName: aws.String("/dev/xvda"),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{SnapshotId: snap.SnapshotId}}},
	}))
	w.image(home, *reg.ImageId)
	child := w.run(home, *reg.ImageId, "k")
	cl, err = dial(w.sshAddr(w.instance(home, child)), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stdout, _, _ := runSSH(t, cl, "cat /etc/snapped", ""); stdout != "snapped\n" {
		t.Errorf("the registered image holds %q", stdout)
	}
	cl.Close()
	_, err = c.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String("vol-0123456789abcdef0")})
	wantCode(t, err, "InvalidVolume.NotFound")

	// createVolumePermission: both request forms, and the checks.
	attr := func() []types.CreateVolumePermission {
		t.Helper()
		out := must[*ec2.DescribeSnapshotAttributeOutput](t)(c.DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{
			SnapshotId: snap.SnapshotId, Attribute: types.SnapshotAttributeNameCreateVolumePermission}))
		if *out.SnapshotId != *snap.SnapshotId {
			t.Errorf("the attribute of %s", *out.SnapshotId)
		}
		return out.CreateVolumePermissions
	}
	if got := attr(); len(got) != 0 {
		t.Errorf("a new snapshot's permissions: %+v", got)
	}
	must[*ec2.ModifySnapshotAttributeOutput](t)(c.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{
		SnapshotId: snap.SnapshotId, CreateVolumePermission: &types.CreateVolumePermissionModifications{
			Add: []types.CreateVolumePermission{{UserId: aws.String("210987654321")}, {Group: types.PermissionGroupAll}},
		}}))
	if got := attr(); len(got) != 2 || *got[0].UserId != "210987654321" || got[1].Group != types.PermissionGroupAll {
		t.Errorf("permissions: %+v", got)
	}
	restorable := must[*ec2.DescribeSnapshotsOutput](t)(c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{RestorableByUserIds: []string{"210987654321"}}))
	if len(restorable.Snapshots) != 1 || *restorable.Snapshots[0].SnapshotId != *snap.SnapshotId {
		t.Errorf("snapshots restorable by 210987654321: %d", len(restorable.Snapshots))
	}
	must[*ec2.ModifySnapshotAttributeOutput](t)(c.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{
		SnapshotId: snap.SnapshotId, Attribute: types.SnapshotAttributeNameCreateVolumePermission,
		OperationType: types.OperationTypeRemove, GroupNames: []string{"all"}}))
	if got := attr(); len(got) != 1 || *got[0].UserId != "210987654321" {
		t.Errorf("permissions after removing all: %+v", got)
	}
	_, err = c.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: snap.SnapshotId,
		CreateVolumePermission: &types.CreateVolumePermissionModifications{Add: []types.CreateVolumePermission{{UserId: aws.String("12")}}}})
	wantCode(t, err, "InvalidUserID.Malformed")
	products := must[*ec2.DescribeSnapshotAttributeOutput](t)(c.DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{
		SnapshotId: snap.SnapshotId, Attribute: types.SnapshotAttributeNameProductCodes}))
	if len(products.ProductCodes) != 0 {
		t.Errorf("product codes %+v", products.ProductCodes)
	}
	_, err = c.DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{SnapshotId: aws.String("snap-0123456789abcdef0"),
		Attribute: types.SnapshotAttributeNameCreateVolumePermission})
	wantCode(t, err, "InvalidSnapshot.NotFound")

	// An encrypted snapshot (of the default key) cannot be shared.
	enc := must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{Encrypted: aws.Bool(true)}}}}))
	encVol := *w.instance(home, *enc.Instances[0].InstanceId).BlockDeviceMappings[0].Ebs.VolumeId
	encSnap := must[*ec2.CreateSnapshotOutput](t)(c.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(encVol)}))
	if !*encSnap.Encrypted {
		t.Error("the snapshot of an encrypted volume is not encrypted")
	}
	_, err = c.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: encSnap.SnapshotId, Attribute: types.SnapshotAttributeNameCreateVolumePermission,
		OperationType: types.OperationTypeAdd, UserIds: []string{"210987654321"}})
	wantCode(t, err, "InvalidParameter")
}

func TestNetworkInterfacesAndAddresses(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	a := w.run(home, w.base, "")
	b := w.run(home, w.base, "")
	inA := w.instance(home, a)
	eniA := *inA.NetworkInterfaces[0].NetworkInterfaceId
	all := must[*ec2.DescribeNetworkInterfacesOutput](t)(c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{}))
	if len(all.NetworkInterfaces) != 2 {
		t.Fatalf("%d interfaces for two instances", len(all.NetworkInterfaces))
	}
	n := all.NetworkInterfaces[0]
	if *n.NetworkInterfaceId != eniA || *n.Attachment.InstanceId != a || *n.PrivateIpAddress != *inA.PrivateIpAddress ||
		*n.Association.PublicIp != *inA.PublicIpAddress || *n.AvailabilityZone != *inA.Placement.AvailabilityZone ||
		n.Status != types.NetworkInterfaceStatusInUse || n.InterfaceType != types.NetworkInterfaceTypeInterface ||
		*n.SubnetId != *inA.SubnetId || len(n.Groups) != 1 || *n.MacAddress != *inA.NetworkInterfaces[0].MacAddress {
		t.Errorf("instance %s's interface: %+v", a, n)
	}
	for _, tc := range []struct {
		f    types.Filter
		want []string
	}{
		{filter("attachment.instance-id", b), []string{b}},
		{filter("private-ip-address", *inA.PrivateIpAddress), []string{a}},
		{filter("addresses.private-ip-address", "127.31.*"), []string{a, b}},
		{filter("association.public-ip", *inA.PublicIpAddress), []string{a}},
		{filter("availability-zone", "us-east-1b"), []string{b}},
		{filter("group-name", "default"), []string{a, b}},
		{filter("network-interface-id", eniA), []string{a}},
		{filter("status", "available"), nil},
		{filter("requester-managed", "false"), []string{a, b}},
		{filter("attachment.device-index", "0"), []string{a, b}},
	} {
		out := must[*ec2.DescribeNetworkInterfacesOutput](t)(c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{tc.f}}))
		var got []string
		for _, n := range out.NetworkInterfaces {
			got = append(got, *n.Attachment.InstanceId)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("filter %s=%v: %v; want %v", *tc.f.Name, tc.f.Values, got, tc.want)
		}
	}
	byID := must[*ec2.DescribeNetworkInterfacesOutput](t)(c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eniA}}))
	if len(byID.NetworkInterfaces) != 1 {
		t.Errorf("by id: %d", len(byID.NetworkInterfaces))
	}
	_, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{"eni-0123456789abcdef0"}})
	wantCode(t, err, "InvalidNetworkInterfaceID.NotFound")
	_, err = c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eniA}, MaxResults: aws.Int32(5)})
	wantCode(t, err, "InvalidParameterCombination")
	_, err = c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{filter("speed", "fast")}})
	wantCode(t, err, "InvalidParameterValue")
	// Interfaces take tags, and go with their instance.
	must[*ec2.CreateTagsOutput](t)(c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{eniA}, Tags: []types.Tag{tag("role", "bake")}}))
	tagged := must[*ec2.DescribeInstancesOutput](t)(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{filter("network-interface.tag-key", "role")}}))
	if len(tagged.Reservations) != 1 || *tagged.Reservations[0].Instances[0].InstanceId != a {
		t.Errorf("instances whose interface is tagged role: %d", len(tagged.Reservations))
	}
	c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{a}})
	w.instance(home, a)
	_, err = c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eniA}})
	wantCode(t, err, "InvalidNetworkInterfaceID.NotFound")

	// Addresses: instances' public addresses are not Elastic IPs.
	addrs := must[*ec2.DescribeAddressesOutput](t)(c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: []types.Filter{filter("instance-id", b)}}))
	if len(addrs.Addresses) != 0 {
		t.Errorf("Elastic IPs %+v", addrs.Addresses)
	}
	_, err = c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{PublicIps: []string{*inA.PublicIpAddress}})
	wantCode(t, err, "InvalidAddress.NotFound")
	_, err = c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{"eipalloc-0123456789abcdef0"}})
	wantCode(t, err, "InvalidAllocationID.NotFound")
	_, err = c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: []types.Filter{filter("colour", "x")}})
	wantCode(t, err, "InvalidParameterValue")
}
