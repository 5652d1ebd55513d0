//go:build linux

package ec2sim_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

// User data is taken base64-encoded, up to 16 KB decoded, and shown by
// DescribeInstanceAttribute as given; anything else fails the launch as
// EC2 fails it.
func TestUserData(t *testing.T) {
	w := newWorld(t, ec2sim.Options{RateLimitScale: 10}) // many launches in a row: not a test of the limits
	c := w.ec2(home)
	run := func(data string) (*ec2.RunInstancesOutput, error) {
		return c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), InstanceType: types.InstanceTypeT3Micro,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), UserData: aws.String(data)})
	}
	script := "#!/bin/sh\necho hello > /tmp/hello\n"
	encoded := base64.StdEncoding.EncodeToString([]byte(script))
	out := must[*ec2.RunInstancesOutput](t)(run(encoded))
	id := aws.ToString(out.Instances[0].InstanceId)
	attr := must[*ec2.DescribeInstanceAttributeOutput](t)(c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
		InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameUserData}))
	if attr.UserData == nil || aws.ToString(attr.UserData.Value) != encoded {
		t.Errorf("userData of %s = %+v, want %q", id, attr.UserData, encoded)
	}
	plain := w.run(home, w.base, "")
	attr = must[*ec2.DescribeInstanceAttributeOutput](t)(c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
		InstanceId: aws.String(plain), Attribute: types.InstanceAttributeNameUserData}))
	if attr.UserData == nil || attr.UserData.Value != nil {
		t.Errorf("userData of an instance without = %+v, want an empty attribute", attr.UserData)
	}
	_, err := c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(plain), Attribute: "colour"})
	wantCode(t, err, "InvalidParameterValue")

	before := len(w.sim.State().Regions[home].Instances)
	_, err = run("#!/bin/sh not base64")
	wantCode(t, err, "InvalidParameterValue")
	if !strings.Contains(err.Error(), "Invalid BASE64 encoding of user data") {
		t.Errorf("raw user data: %v", err)
	}
	must[*ec2.RunInstancesOutput](t)(run(base64.StdEncoding.EncodeToString(make([]byte, 16384))))
	_, err = run(base64.StdEncoding.EncodeToString(make([]byte, 16385)))
	wantCode(t, err, "InvalidParameterValue")
	if !strings.Contains(err.Error(), "User data is limited to 16384 bytes") {
		t.Errorf("user data of 16385 bytes: %v", err)
	}
	if n := len(w.sim.State().Regions[home].Instances) - before; n != 1 {
		t.Errorf("%d instances launched, want 1 (the refused launches leave none)", n)
	}
}
