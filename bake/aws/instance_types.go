package aws

import (
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/rules"
)

// instanceTypeFor is the type the build instance runs as, launched from
// base: the image's instance_type, or when it gave none the default of
// base's architecture (t3.micro, t4g.micro). A type of another
// architecture is an error now, before anything is launched, in words
// that say what to change.
func instanceTypeFor(a rules.AWSAttrs, base types.Image) (string, error) {
	arch := string(base.Architecture)
	if a.InstanceTypeDefaulted {
		if rules.BuildArch(arch) == "" {
			return a.InstanceType, nil
		}
		return rules.DefaultInstanceTypeFor(arch), nil
	}
	want, got := rules.BuildArch(arch), rules.InstanceTypeArch(a.InstanceType)
	if want != "" && got != "" && want != got {
		return "", fmt.Errorf("instance_type %s runs %s, but the image it starts from, %s, is %s: "+
			"use an %s type such as %s, or leave instance_type out to get it",
			a.InstanceType, got, awssdk.ToString(base.ImageId), arch, want, rules.DefaultInstanceTypeFor(arch))
	}
	return a.InstanceType, nil
}
