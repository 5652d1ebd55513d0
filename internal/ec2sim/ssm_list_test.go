package ec2sim_test

import (
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
