//go:build linux

package ec2sim_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func TestLaunchTemplates(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	created := must[*ec2.CreateLaunchTemplateOutput](t)(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("web/api_(1).x"),
		VersionDescription: aws.String("first"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			ImageId: aws.String(w.base), InstanceType: types.InstanceTypeT3Micro, KeyName: aws.String("deploy"),
			SecurityGroupIds: []string{"sg-1", "sg-2"},
		},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeLaunchTemplate, Tags: []types.Tag{tag("Team", "web")}}},
	}))
	lt := created.LaunchTemplate
	if *lt.DefaultVersionNumber != 1 || *lt.LatestVersionNumber != 1 || *lt.CreatedBy != "arn:aws:iam::123456789012:root" ||
		tagMap(lt.Tags)["Team"] != "web" || created.Warning != nil {
		t.Fatalf("CreateLaunchTemplate: %+v, warning %+v", lt, created.Warning)
	}
	id := *lt.LaunchTemplateId

	_, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web/api_(1).x"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Small}})
	wantCode(t, err, "InvalidLaunchTemplateName.AlreadyExistsException")
	for _, bad := range []string{"ab", "has space", "colon:no", string(make([]byte, 129))} {
		_, err = c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(bad),
			LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Small}})
		wantCode(t, err, "InvalidLaunchTemplateName.MalformedException")
	}

	// A new version based on the default: only the image changes. Its
	// image does not exist, which EC2 answers with a warning, not an error.
	v2 := must[*ec2.CreateLaunchTemplateVersionOutput](t)(c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateName: aws.String("web/api_(1).x"), SourceVersion: aws.String("$Default"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123456789abcdef0")},
	}))
	if v := v2.LaunchTemplateVersion; *v.VersionNumber != 2 || *v.DefaultVersion || *v.LaunchTemplateData.ImageId != "ami-0123456789abcdef0" ||
		v.LaunchTemplateData.InstanceType != types.InstanceTypeT3Micro || *v.LaunchTemplateData.KeyName != "deploy" ||
		!slices.Equal(v.LaunchTemplateData.SecurityGroupIds, []string{"sg-1", "sg-2"}) {
		t.Errorf("version 2: %+v data %+v", v, v.LaunchTemplateData)
	}
	if v2.Warning == nil || len(v2.Warning.Errors) != 1 || *v2.Warning.Errors[0].Code != "InvalidAMIID.NotFound" {
		t.Errorf("version 2's warning: %+v", v2.Warning)
	}
	// Without a source version, a version holds only what it is given.
	v3 := must[*ec2.CreateLaunchTemplateVersionOutput](t)(c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: aws.String(id), LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(w.base)},
		ClientToken: aws.String("token-3"),
	}))
	if d := v3.LaunchTemplateVersion.LaunchTemplateData; *v3.LaunchTemplateVersion.VersionNumber != 3 || d.InstanceType != "" || d.KeyName != nil {
		t.Errorf("version 3: %+v", d)
	}
	again := must[*ec2.CreateLaunchTemplateVersionOutput](t)(c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: aws.String(id), LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(w.base)},
		ClientToken: aws.String("token-3"),
	}))
	if *again.LaunchTemplateVersion.VersionNumber != 3 {
		t.Errorf("a client token given again made version %d", *again.LaunchTemplateVersion.VersionNumber)
	}
	_, err = c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), SourceVersion: aws.String("9"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(w.base)}})
	wantCode(t, err, "InvalidLaunchTemplateId.VersionNotFound")
	_, err = c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("nope-template"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(w.base)}})
	wantCode(t, err, "InvalidLaunchTemplateName.NotFoundException")
	_, err = c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String("lt-0123456789abcdef0"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(w.base)}})
	wantCode(t, err, "InvalidLaunchTemplateId.NotFound")
	_, err = c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String("lt-x"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(w.base)}})
	wantCode(t, err, "InvalidLaunchTemplateId.Malformed")
	_, err = c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id),
		LaunchTemplateData: &types.RequestLaunchTemplateData{UserData: aws.String("ZWNobw=="), Monitoring: &types.LaunchTemplatesMonitoringRequest{Enabled: aws.Bool(true)}}})
	wantCode(t, err, "InvalidParameterValue") // a member the simulator does not model

	// The default version moves; $Default and $Latest resolve.
	mod := must[*ec2.ModifyLaunchTemplateOutput](t)(c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{
		LaunchTemplateId: aws.String(id), DefaultVersion: aws.String("2"),
	}))
	if *mod.LaunchTemplate.DefaultVersionNumber != 2 || *mod.LaunchTemplate.LatestVersionNumber != 3 {
		t.Errorf("ModifyLaunchTemplate: %+v", mod.LaunchTemplate)
	}
	_, err = c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String("4")})
	wantCode(t, err, "InvalidLaunchTemplateId.VersionNotFound")
	numbers := func(in *ec2.DescribeLaunchTemplateVersionsInput) []int64 {
		t.Helper()
		out, err := c.DescribeLaunchTemplateVersions(ctx, in)
		if err != nil {
			t.Fatalf("DescribeLaunchTemplateVersions: %v", err)
		}
		var ns []int64
		for _, v := range out.LaunchTemplateVersions {
			ns = append(ns, *v.VersionNumber)
		}
		return ns
	}
	for _, tc := range []struct {
		name string
		in   ec2.DescribeLaunchTemplateVersionsInput
		want []int64
	}{
		{"all", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id)}, []int64{1, 2, 3}},
		{"$Default", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"$Default"}}, []int64{2}},
		{"$Latest and 1", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("web/api_(1).x"), Versions: []string{"$Latest", "1"}}, []int64{3, 1}},
		{"range", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), MinVersion: aws.String("2"), MaxVersion: aws.String("2")}, []int64{2}},
		{"every template's default", ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Default"}}, []int64{2}},
		{"image-id", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Filters: []types.Filter{filter("image-id", w.base)}}, []int64{1, 3}},
		{"is-default-version", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Filters: []types.Filter{filter("is-default-version", "true")}}, []int64{2}},
	} {
		if got := numbers(&tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%s: versions %v, want %v", tc.name, got, tc.want)
		}
	}
	_, err = c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"7"}})
	wantCode(t, err, "InvalidLaunchTemplateId.VersionNotFound")
	_, err = c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Filters: []types.Filter{filter("colour", "red")}})
	wantCode(t, err, "InvalidParameterValue")

	// DescribeLaunchTemplates: by name, by id, by filter; templates are per region.
	desc := must[*ec2.DescribeLaunchTemplatesOutput](t)(c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"web/api_(1).x"}}))
	if len(desc.LaunchTemplates) != 1 || *desc.LaunchTemplates[0].LaunchTemplateId != id {
		t.Errorf("DescribeLaunchTemplates by name: %+v", desc.LaunchTemplates)
	}
	desc = must[*ec2.DescribeLaunchTemplatesOutput](t)(c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{Filters: []types.Filter{filter("tag:Team", "web")}}))
	if len(desc.LaunchTemplates) != 1 {
		t.Errorf("DescribeLaunchTemplates by tag: %+v", desc.LaunchTemplates)
	}
	_, err = w.ec2(away).DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"web/api_(1).x"}})
	wantCode(t, err, "InvalidLaunchTemplateName.NotFoundException")
	_, err = c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{"lt-0123456789abcdef0"}})
	wantCode(t, err, "InvalidLaunchTemplateId.NotFound")
	if st := w.sim.State().Regions[home].LaunchTemplates; len(st) != 1 || st[0].DefaultVersion != 2 ||
		!slices.Equal(st[0].Versions, []string{w.base, "ami-0123456789abcdef0", w.base}) {
		t.Errorf("state: %+v", st)
	}

	// Deleted, it is gone by name and by id.
	must[*ec2.DeleteLaunchTemplateOutput](t)(c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("web/api_(1).x")}))
	_, err = c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(id)})
	wantCode(t, err, "InvalidLaunchTemplateId.NotFound")
	_, err = c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateName: aws.String("web/api_(1).x"), DefaultVersion: aws.String("1")})
	wantCode(t, err, "InvalidLaunchTemplateName.NotFoundException")
}
