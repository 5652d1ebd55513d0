package aws

import (
	"encoding/base64"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// launchOptions sets what the image's attributes ask of the instance
// beyond its image, type and network: the IAM instance profile (build
// and test instances alike) and the user data (the build instance only:
// a test runs on the image as it will be launched).
func (s *bakeState) launchOptions(in *ec2.RunInstancesInput) {
	if p := s.attrs.IAMInstanceProfile; p != "" {
		in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Name: awssdk.String(p)}
	}
	if s.attrs.UserData != "" && !s.testing {
		// EC2 takes user data base64-encoded.
		in.UserData = awssdk.String(base64.StdEncoding.EncodeToString([]byte(s.attrs.UserData)))
	}
}
