//go:build linux

package ec2sim_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func TestParameters(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	const public = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
	if err := w.sim.PutParameter(home, public, w.base); err != nil {
		t.Fatal(err)
	}
	c := w.ssm(home)
	got := must[*ssm.GetParameterOutput](t)(c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(public)}))
	p := got.Parameter
	if *p.Value != w.base || *p.Name != public || p.Type != ssmtypes.ParameterTypeString || p.Version != 1 ||
		*p.ARN != "arn:aws:ssm:us-east-1::parameter"+public || p.LastModifiedDate == nil || time.Since(*p.LastModifiedDate) > time.Hour {
		t.Errorf("GetParameter %s: %+v", public, p)
	}
	_, err := w.ssm(away).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(public)})
	wantCode(t, err, "ParameterNotFound")
	_, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(public), Value: aws.String("x"), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)})
	wantCode(t, err, "ValidationException")

	// aws:ec2:image parameters must name an image of their region.
	const name = "/imgraph/apps/api/ami"
	put := must[*ssm.PutParameterOutput](t)(c.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(w.base), Type: ssmtypes.ParameterTypeString, DataType: aws.String("aws:ec2:image"),
	}))
	if put.Version != 1 {
		t.Errorf("first version %d", put.Version)
	}
	_, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(w.base), Type: ssmtypes.ParameterTypeString})
	wantCode(t, err, "ParameterAlreadyExists")
	_, err = c.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String("ami-0123456789abcdef0"), Type: ssmtypes.ParameterTypeString,
		DataType: aws.String("aws:ec2:image"), Overwrite: aws.Bool(true),
	})
	wantCode(t, err, "ValidationException")
	_, err = w.ssm(away).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(w.base), Type: ssmtypes.ParameterTypeString, DataType: aws.String("aws:ec2:image"),
	})
	wantCode(t, err, "ValidationException") // the image is in home only
	put = must[*ssm.PutParameterOutput](t)(c.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(w.base), Type: ssmtypes.ParameterTypeString, DataType: aws.String("aws:ec2:image"), Overwrite: aws.Bool(true),
	}))
	if put.Version != 2 {
		t.Errorf("overwritten version %d", put.Version)
	}
	got = must[*ssm.GetParameterOutput](t)(c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)}))
	if *got.Parameter.DataType != "aws:ec2:image" || got.Parameter.Version != 2 || *got.Parameter.ARN != "arn:aws:ssm:us-east-1:123456789012:parameter/imgraph/apps/api/ami" {
		t.Errorf("GetParameter %s: %+v", name, got.Parameter)
	}
	many := must[*ssm.GetParametersOutput](t)(c.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{name, "/nothing", public}}))
	if len(many.Parameters) != 2 || len(many.InvalidParameters) != 1 || many.InvalidParameters[0] != "/nothing" {
		t.Errorf("GetParameters: %+v, invalid %v", many.Parameters, many.InvalidParameters)
	}
	if _, err := c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)})
	wantCode(t, err, "ParameterNotFound")
	_, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	var nf *ssmtypes.ParameterNotFound
	if !asError(err, &nf) {
		t.Errorf("GetParameter of a deleted parameter: %v; want a *types.ParameterNotFound", err)
	}
	if calls := w.sim.Calls()[home]; calls["GetParameter"] != 3 || calls["PutParameter"] != 5 {
		t.Errorf("calls %v", calls)
	}
}
