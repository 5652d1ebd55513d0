package ec2sim_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func TestParametersByPathAndDescribe(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ssm(home)
	if err := w.sim.PutParameter(home, "/aws/service/ami/al2023", w.base); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ name, typ string }{
		{"/images/api/latest", "String"}, {"/images/api/canary", "String"}, {"/images/web/latest", "String"},
		{"/images/token", "SecureString"}, {"loose", "String"},
	} {
		if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(p.name), Value: aws.String("v"), Type: ssmtypes.ParameterType(p.typ)}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(ps []ssmtypes.Parameter) []string {
		var out []string
		for _, p := range ps {
			out = append(out, *p.Name)
		}
		return out
	}
	byPath := func(in *ssm.GetParametersByPathInput) []string {
		t.Helper()
		var all []string
		p := ssm.NewGetParametersByPathPaginator(c, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("GetParametersByPath %s: %v", *in.Path, err)
			}
			all = append(all, names(out.Parameters)...)
		}
		return all
	}
	for _, tc := range []struct {
		in   *ssm.GetParametersByPathInput
		want string
	}{
		{&ssm.GetParametersByPathInput{Path: aws.String("/images")}, "[/images/token]"},
		{&ssm.GetParametersByPathInput{Path: aws.String("/images/"), Recursive: aws.Bool(true), MaxResults: aws.Int32(2)},
			"[/images/api/canary /images/api/latest /images/token /images/web/latest]"},
		{&ssm.GetParametersByPathInput{Path: aws.String("/images"), Recursive: aws.Bool(true),
			ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("Type"), Values: []string{"SecureString"}}}}, "[/images/token]"},
		{&ssm.GetParametersByPathInput{Path: aws.String("/aws/service/ami")}, "[/aws/service/ami/al2023]"},
		{&ssm.GetParametersByPathInput{Path: aws.String("/")}, "[]"},
	} {
		if got := fmtList(byPath(tc.in)); got != tc.want {
			t.Errorf("GetParametersByPath %s recursive %v: %s, want %s", *tc.in.Path, aws.ToBool(tc.in.Recursive), got, tc.want)
		}
	}
	_, err := c.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("images")})
	wantCode(t, err, "ValidationException")
	_, err = c.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/images"),
		ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("Name"), Values: []string{"x"}}}})
	wantCode(t, err, "InvalidFilterKey")
	_, err = c.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/images"),
		ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("Type"), Option: aws.String("BeginsWith"), Values: []string{"S"}}}})
	wantCode(t, err, "InvalidFilterOption")
	_, err = c.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/images"), NextToken: aws.String("nope")})
	wantCode(t, err, "InvalidNextToken")

	describe := func(fs ...ssmtypes.ParameterStringFilter) string {
		t.Helper()
		var all []string
		p := ssm.NewDescribeParametersPaginator(c, &ssm.DescribeParametersInput{ParameterFilters: fs, MaxResults: aws.Int32(2)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("DescribeParameters: %v", err)
			}
			for _, m := range out.Parameters {
				all = append(all, *m.Name)
				if m.Tier != ssmtypes.ParameterTierStandard || m.Version != 1 || m.LastModifiedDate == nil {
					t.Errorf("metadata of %s: %+v", *m.Name, m)
				}
			}
		}
		return fmtList(all)
	}
	if got := describe(); got != "[/images/api/canary /images/api/latest /images/token /images/web/latest loose]" {
		t.Errorf("DescribeParameters: %s (public parameters are not listed)", got)
	}
	if got := describe(ssmtypes.ParameterStringFilter{Key: aws.String("Name"), Option: aws.String("BeginsWith"), Values: []string{"/images/api"}}); got != "[/images/api/canary /images/api/latest]" {
		t.Errorf("Name BeginsWith: %s", got)
	}
	if got := describe(ssmtypes.ParameterStringFilter{Key: aws.String("Path"), Option: aws.String("OneLevel"), Values: []string{"/images"}}); got != "[/images/token]" {
		t.Errorf("Path OneLevel: %s", got)
	}
	_, err = c.DescribeParameters(ctx, &ssm.DescribeParametersInput{ParameterFilters: []ssmtypes.ParameterStringFilter{
		{Key: aws.String("Path"), Option: aws.String("Equals"), Values: []string{"/images"}}}})
	wantCode(t, err, "InvalidFilterOption")
}

func fmtList(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}

func TestParameterTags(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ssm(home)
	if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/images/api"), Value: aws.String("v"),
		Type: ssmtypes.ParameterTypeString, Tags: []ssmtypes.Tag{{Key: aws.String("Team"), Value: aws.String("images")}}}); err != nil {
		t.Fatal(err)
	}
	list := func() string {
		t.Helper()
		out, err := c.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String("/images/api")})
		if err != nil {
			t.Fatal(err)
		}
		var kv []string
		for _, tag := range out.TagList {
			kv = append(kv, *tag.Key+"="+*tag.Value)
		}
		return fmtList(kv)
	}
	if _, err := c.AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String("/images/api"),
		Tags: []ssmtypes.Tag{{Key: aws.String("Stage"), Value: aws.String("prod")}, {Key: aws.String("Team"), Value: aws.String("web")}}}); err != nil {
		t.Fatal(err)
	}
	// Overwriting the value keeps the tags.
	if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/images/api"), Value: aws.String("w"), Overwrite: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != "[Stage=prod Team=web]" {
		t.Errorf("tags %s", got)
	}
	if _, err := c.RemoveTagsFromResource(ctx, &ssm.RemoveTagsFromResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter,
		ResourceId: aws.String("/images/api"), TagKeys: []string{"Stage"}}); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != "[Team=web]" {
		t.Errorf("tags after removing Stage: %s", got)
	}
	_, err := c.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String("/nothing")})
	wantCode(t, err, "InvalidResourceId")
	_, err = c.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingDocument, ResourceId: aws.String("doc")})
	wantCode(t, err, "InvalidResourceType")
	var many []ssmtypes.Tag
	for i := range 50 {
		many = append(many, ssmtypes.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")})
	}
	_, err = c.AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String("/images/api"), Tags: many})
	wantCode(t, err, "TooManyTagsError")
}
