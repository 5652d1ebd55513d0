package aws

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// The build instance runs with the image's IAM instance profile and user
// data; the test instance with the profile and without the user data. A
// profile IAM does not have fails the bake at launch, with EC2's words,
// and leaves nothing behind.
func TestSimInstanceProfileAndUserData(t *testing.T) {
	w := newSimWorldWith(t, Options{}, func(o *ec2sim.Options) { o.InstanceProfiles = []string{"image-builder"} })
	run := newRunID()
	ctx := context.Background()
	im := w.image("profiled", inlineShell("true"))
	im.Tests = []rules.Provisioner{inlineShell("true")}
	im.AWS.IAMInstanceProfile = "image-builder"
	im.AWS.UserData = "#!/bin/sh\necho from user data\n"
	im.AWS.UserDataFile = &rules.File{Label: label.Label{Pkg: "t", Name: "user-data.sh"}}
	job := w.job(im, run, "")
	if _, err := w.baker.Bake(ctx, job.Job); err != nil {
		t.Fatalf("bake: %v\nlog:\n%s", err, job.log)
	}
	w.noLeftovers(t, run)

	client, err := w.baker.ec2In(home)
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: awssdk.String("tag:" + bake.TagRun), Values: []string{run}}}})
	if err != nil {
		t.Fatal(err)
	}
	var launched int
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			launched++
			if p := in.IamInstanceProfile; p == nil || !strings.HasSuffix(awssdk.ToString(p.Arn), ":instance-profile/image-builder") {
				t.Errorf("instance %s runs with profile %+v, want image-builder", awssdk.ToString(in.InstanceId), p)
			}
			attr, err := client.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
				InstanceId: in.InstanceId, Attribute: types.InstanceAttributeNameUserData})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := base64.StdEncoding.DecodeString(awssdk.ToString(attr.UserData.Value))
			built := awssdk.ToString(in.ImageId) == w.base
			if want := map[bool]string{true: im.AWS.UserData, false: ""}[built]; string(got) != want {
				t.Errorf("user data of instance %s (build instance: %v) = %q, want %q", awssdk.ToString(in.InstanceId), built, got, want)
			}
		}
	}
	if launched != 2 {
		t.Errorf("%d instances of run %s, want the build and the test instance", launched, run)
	}

	run = newRunID()
	im = w.image("unprofiled")
	im.AWS.IAMInstanceProfile = "nobody"
	job = w.job(im, run, "")
	_, err = w.baker.Bake(ctx, job.Job)
	if err == nil || !strings.Contains(err.Error(), "Invalid IAM Instance Profile name") {
		t.Fatalf("bake with an unknown profile: %v, want EC2's refusal", err)
	}
	w.noLeftovers(t, run)
}
