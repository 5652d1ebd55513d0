//go:build linux

package ec2sim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func filter(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}

// bakeImage launches an instance of the base image, stops it and images
// it; it returns the image (pending) and the instance.
func (w *world) bakeImage(name string, tags ...types.Tag) (string, string) {
	w.t.Helper()
	c := w.ec2(home)
	id := w.run(home, w.base, "")
	w.instance(home, id)
	if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		w.t.Fatal(err)
	}
	w.instance(home, id)
	out, err := c.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: aws.String(id), Name: aws.String(name), Description: aws.String("baked by a test"),
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeImage, Tags: tags},
			{ResourceType: types.ResourceTypeSnapshot, Tags: tags},
		},
	})
	if err != nil {
		w.t.Fatalf("CreateImage: %v", err)
	}
	return *out.ImageId, id
}

func TestImageLifecycle(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	imageID, instanceID := w.bakeImage("api-2026-11-22", tag("imgraph:key", "k1"), tag("imgraph:label", "//apps:api"))
	_, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(instanceID), Name: aws.String("api-2026-11-22")})
	wantCode(t, err, "InvalidAMIName.Duplicate")

	// The image is pending until a later Describe.
	pending := w.sim.State().Regions[home]
	if im := pending.Images[len(pending.Images)-1]; im.ID != imageID || im.State != "pending" {
		t.Fatalf("state after CreateImage: %+v", im)
	}
	im := w.image(home, imageID)
	if im.State != types.ImageStateAvailable || *im.Name != "api-2026-11-22" || *im.OwnerId != ec2sim.Account ||
		im.Architecture != types.ArchitectureValuesX8664 || *im.Description != "baked by a test" || *im.RootDeviceName != "/dev/xvda" {
		t.Errorf("image %+v", im)
	}
	created, err := time.Parse(time.RFC3339, aws.ToString(im.CreationDate))
	if err != nil || time.Since(created) > time.Hour {
		t.Errorf("creation date %q: %v", aws.ToString(im.CreationDate), err)
	}
	if tags := tagMap(im.Tags); tags["imgraph:key"] != "k1" || tags["imgraph:label"] != "//apps:api" {
		t.Errorf("image tags %v", tags)
	}
	if len(im.BlockDeviceMappings) != 1 || im.BlockDeviceMappings[0].Ebs == nil || im.BlockDeviceMappings[0].Ebs.SnapshotId == nil ||
		*im.BlockDeviceMappings[0].Ebs.VolumeSize != 8 {
		t.Fatalf("block devices %+v", im.BlockDeviceMappings)
	}
	snapID := *im.BlockDeviceMappings[0].Ebs.SnapshotId

	// DescribeImages: owners, wildcards, filters.
	for _, tc := range []struct {
		name string
		in   ec2.DescribeImagesInput
		want []string
	}{
		{"self", ec2.DescribeImagesInput{Owners: []string{"self"}}, []string{imageID}},
		{"amazon", ec2.DescribeImagesInput{Owners: []string{"amazon"}}, []string{w.base}},
		{"account", ec2.DescribeImagesInput{Owners: []string{ec2sim.Account}}, []string{imageID}},
		{"everything visible", ec2.DescribeImagesInput{}, []string{w.base, imageID}},
		{"name *", ec2.DescribeImagesInput{Owners: []string{"amazon"}, Filters: []types.Filter{filter("name", "al2023-ami-2023.*-x86_64")}}, []string{w.base}},
		{"name ?", ec2.DescribeImagesInput{Filters: []types.Filter{filter("name", "api-2026-11-2?")}}, []string{imageID}},
		{"name no match", ec2.DescribeImagesInput{Filters: []types.Filter{filter("name", "al2023-ami-*-arm64")}}, nil},
		{"architecture", ec2.DescribeImagesInput{Filters: []types.Filter{filter("architecture", "arm64")}}, nil},
		{"state", ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []types.Filter{filter("state", "available")}}, []string{imageID}},
		{"image-id", ec2.DescribeImagesInput{Filters: []types.Filter{filter("image-id", w.base)}}, []string{w.base}},
		{"tag", ec2.DescribeImagesInput{Filters: []types.Filter{filter("tag:imgraph:key", "k1", "k2")}}, []string{imageID}},
		{"tag-key", ec2.DescribeImagesInput{Filters: []types.Filter{filter("tag-key", "imgraph:*")}}, []string{imageID}},
		{"ids", ec2.DescribeImagesInput{ImageIds: []string{imageID, w.base}}, []string{imageID, w.base}},
	} {
		out, err := c.DescribeImages(ctx, &tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var got []string
		for _, im := range out.Images {
			got = append(got, *im.ImageId)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: DescribeImages found %v; want %v", tc.name, got, tc.want)
		}
	}
	base := w.image(home, w.base)
	if *base.ImageOwnerAlias != "amazon" || !*base.Public || *base.CreationDate != "2026-11-01T00:00:00.000Z" {
		t.Errorf("base image %+v", base)
	}
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-0123456789abcdef0"}})
	wantCode(t, err, "InvalidAMIID.NotFound")
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"someone"}})
	wantCode(t, err, "InvalidUserID.Malformed")

	// Snapshots: owned, tagged, in use.
	snaps := must[*ec2.DescribeSnapshotsOutput](t)(c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{
		OwnerIds: []string{"self"}, Filters: []types.Filter{filter("tag:imgraph:key", "k1")},
	}))
	if len(snaps.Snapshots) != 1 || *snaps.Snapshots[0].SnapshotId != snapID || snaps.Snapshots[0].State != types.SnapshotStateCompleted ||
		*snaps.Snapshots[0].VolumeSize != 8 || !strings.Contains(*snaps.Snapshots[0].Description, imageID) {
		t.Fatalf("snapshots %+v", snaps.Snapshots)
	}
	by := must[*ec2.DescribeSnapshotsOutput](t)(c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snapID}}))
	if len(by.Snapshots) != 1 {
		t.Errorf("DescribeSnapshots by id: %d", len(by.Snapshots))
	}
	_, err = c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snapID)})
	wantCode(t, err, "InvalidSnapshot.InUse")

	// Launch permissions.
	const org = "arn:aws:organizations::111122223333:organization/o-abcdefghij"
	const ou = "arn:aws:organizations::111122223333:ou/o-abcdefghij/ou-ab12-cdefgh34"
	_, err = c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(imageID), LaunchPermission: &types.LaunchPermissionModifications{
		Add: []types.LaunchPermission{{UserId: aws.String("210987654321")}, {UserId: aws.String("111122223333")}, {OrganizationArn: aws.String(org)}, {OrganizationalUnitArn: aws.String(ou)}, {Group: types.PermissionGroupAll}},
	}})
	if err != nil {
		t.Fatalf("ModifyImageAttribute: %v", err)
	}
	_, err = c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(imageID), LaunchPermission: &types.LaunchPermissionModifications{
		Remove: []types.LaunchPermission{{UserId: aws.String("111122223333")}, {Group: types.PermissionGroupAll}},
	}})
	if err != nil {
		t.Fatalf("ModifyImageAttribute: %v", err)
	}
	attr := must[*ec2.DescribeImageAttributeOutput](t)(c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{
		ImageId: aws.String(imageID), Attribute: types.ImageAttributeNameLaunchPermission,
	}))
	var perms []string
	for _, p := range attr.LaunchPermissions {
		perms = append(perms, aws.ToString(p.UserId)+string(p.Group)+aws.ToString(p.OrganizationArn)+aws.ToString(p.OrganizationalUnitArn))
	}
	if strings.Join(perms, " ") != "210987654321 "+org+" "+ou {
		t.Errorf("launch permissions %v", perms)
	}
	if im := w.image(home, imageID); *im.Public {
		t.Errorf("an image shared with accounts only is public")
	}
	_, err = c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(imageID), LaunchPermission: &types.LaunchPermissionModifications{
		Add: []types.LaunchPermission{{UserId: aws.String("12")}},
	}})
	wantCode(t, err, "InvalidAMIAttributeItemValue")
	_, err = c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(w.base), LaunchPermission: &types.LaunchPermissionModifications{
		Add: []types.LaunchPermission{{UserId: aws.String("210987654321")}},
	}})
	wantCode(t, err, "AuthFailure") // Amazon's image
	_, err = c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(w.base), Attribute: types.ImageAttributeNameLaunchPermission})
	wantCode(t, err, "AuthFailure")
	// The older form: Attribute, OperationType and lists.
	_, err = c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(imageID),
		Attribute: aws.String("launchPermission"), OperationType: types.OperationTypeRemove, UserIds: []string{"210987654321"}})
	if err != nil {
		t.Fatalf("ModifyImageAttribute with UserIds: %v", err)
	}
	if got := w.sim.State().Regions[home].Images[1].LaunchPermissions; len(got) != 2 || got[0].OrganizationArn != org {
		t.Errorf("launch permissions after removing the account: %+v", got)
	}
	bdm := must[*ec2.DescribeImageAttributeOutput](t)(c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{
		ImageId: aws.String(imageID), Attribute: types.ImageAttributeNameBlockDeviceMapping,
	}))
	if len(bdm.BlockDeviceMappings) != 1 || *bdm.BlockDeviceMappings[0].Ebs.SnapshotId != snapID {
		t.Errorf("blockDeviceMapping attribute %+v", bdm.BlockDeviceMappings)
	}
	desc := must[*ec2.DescribeImageAttributeOutput](t)(c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{
		ImageId: aws.String(imageID), Attribute: types.ImageAttributeNameDescription,
	}))
	if aws.ToString(desc.Description.Value) != "baked by a test" {
		t.Errorf("description attribute %+v", desc.Description)
	}

	// Tags.
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{imageID, snapID}, Tags: []types.Tag{tag("Stage", "prod"), tag("Role", "api")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{imageID}, Tags: []types.Tag{{Key: aws.String("Role")}, {Key: aws.String("Stage"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	if tags := tagMap(w.image(home, imageID).Tags); tags["Stage"] != "prod" || tags["Role"] != "" || len(tags) != 3 {
		t.Errorf("tags after CreateTags and DeleteTags: %v", tags)
	}
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"ami-0123456789abcdef0"}, Tags: []types.Tag{tag("a", "b")}})
	wantCode(t, err, "InvalidAMIID.NotFound")
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"thing-1"}, Tags: []types.Tag{tag("a", "b")}})
	wantCode(t, err, "InvalidID")

	// Deregistering: the image goes at once, its snapshot stays until deleted.
	if _, err := c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(imageID)}); err != nil {
		t.Fatal(err)
	}
	gone := must[*ec2.DescribeImagesOutput](t)(c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{imageID}}))
	if len(gone.Images) != 0 {
		t.Errorf("a deregistered image is still described")
	}
	_, err = c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(imageID)})
	wantCode(t, err, "InvalidAMIID.NotFound")
	if _, err := c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snapID)}); err != nil {
		t.Errorf("DeleteSnapshot after DeregisterImage: %v", err)
	}
	_, err = c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snapID)})
	wantCode(t, err, "InvalidSnapshot.NotFound")
	_, err = c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snapID}})
	wantCode(t, err, "InvalidSnapshot.NotFound")
}

func TestCopyImage(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	imageID, _ := w.bakeImage("web", tag("imgraph:key", "k2"))
	w.image(home, imageID)
	away := w.ec2(away)

	// Copying a pending image fails; an available one works.
	copyOut, err := away.CopyImage(ctx, &ec2.CopyImageInput{
		SourceRegion: aws.String(home), SourceImageId: aws.String(imageID), Name: aws.String("web"),
		Encrypted: aws.Bool(true), KmsKeyId: aws.String("arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"),
		CopyImageTags: aws.Bool(true),
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeImage, Tags: []types.Tag{tag("imgraph:run", "r1")}},
			{ResourceType: types.ResourceTypeSnapshot, Tags: []types.Tag{tag("imgraph:run", "r1")}},
		},
	})
	if err != nil {
		t.Fatalf("CopyImage: %v", err)
	}
	copyID := *copyOut.ImageId
	if st := w.sim.State().Regions[away.Options().Region]; len(st.Images) != 1 || st.Images[0].State != "pending" {
		t.Fatalf("the copy after CopyImage: %+v", st.Images)
	}
	cp := w.image("eu-west-1", copyID)
	if cp.State != types.ImageStateAvailable || *cp.Name != "web" || *cp.SourceImageId != imageID || *cp.SourceImageRegion != home {
		t.Errorf("copy %+v", cp)
	}
	if tags := tagMap(cp.Tags); tags["imgraph:key"] != "k2" || tags["imgraph:run"] != "r1" {
		t.Errorf("copy's tags %v", tags)
	}
	ebs := cp.BlockDeviceMappings[0].Ebs
	if !*ebs.Encrypted {
		t.Errorf("the copy's volume is not encrypted")
	}
	snaps := must[*ec2.DescribeSnapshotsOutput](t)(away.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{*ebs.SnapshotId}}))
	sn := snaps.Snapshots[0]
	if !*sn.Encrypted || !strings.HasSuffix(*sn.KmsKeyId, "key/11111111-2222-3333-4444-555555555555") || tagMap(sn.Tags)["imgraph:run"] != "r1" {
		t.Errorf("the copy's snapshot %+v", sn)
	}

	// Without CopyImageTags, tags stay behind; a name is unique per region.
	plain := must[*ec2.CopyImageOutput](t)(away.CopyImage(ctx, &ec2.CopyImageInput{
		SourceRegion: aws.String(home), SourceImageId: aws.String(imageID), Name: aws.String("web-plain"),
	}))
	if tags := w.image("eu-west-1", *plain.ImageId).Tags; len(tags) != 0 {
		t.Errorf("a copy without CopyImageTags has tags %v", tagMap(tags))
	}
	_, err = away.CopyImage(ctx, &ec2.CopyImageInput{SourceRegion: aws.String(home), SourceImageId: aws.String(imageID), Name: aws.String("web")})
	wantCode(t, err, "InvalidAMIName.Duplicate")
	_, err = away.CopyImage(ctx, &ec2.CopyImageInput{SourceRegion: aws.String(home), SourceImageId: aws.String("ami-0123456789abcdef0"), Name: aws.String("x-1")})
	wantCode(t, err, "InvalidAMIID.NotFound")

	// The same ClientToken is the same copy.
	tok := &ec2.CopyImageInput{SourceRegion: aws.String(home), SourceImageId: aws.String(imageID), Name: aws.String("web-tok"), ClientToken: aws.String("t1")}
	a := must[*ec2.CopyImageOutput](t)(away.CopyImage(ctx, tok))
	b := must[*ec2.CopyImageOutput](t)(away.CopyImage(ctx, tok))
	if *a.ImageId != *b.ImageId {
		t.Errorf("two copies for one ClientToken: %s and %s", *a.ImageId, *b.ImageId)
	}

	// Deregistering with its snapshots leaves nothing.
	dereg := must[*ec2.DeregisterImageOutput](t)(away.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(copyID), DeleteAssociatedSnapshots: aws.Bool(true)}))
	if len(dereg.DeleteSnapshotResults) != 1 || dereg.DeleteSnapshotResults[0].ReturnCode != types.SnapshotReturnCodesSuccess {
		t.Errorf("DeregisterImage results %+v", dereg.DeleteSnapshotResults)
	}
	_, err = away.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{*ebs.SnapshotId}})
	wantCode(t, err, "InvalidSnapshot.NotFound")
}
