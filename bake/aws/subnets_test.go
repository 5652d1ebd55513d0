package aws

import (
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestMostFreeSubnet(t *testing.T) {
	sub := func(id string, free int32) types.Subnet {
		return types.Subnet{SubnetId: awssdk.String(id), AvailableIpAddressCount: awssdk.Int32(free)}
	}
	for _, tc := range []struct {
		subnets []types.Subnet
		want    string
	}{
		{[]types.Subnet{sub("subnet-a", 10)}, "subnet-a"},
		{[]types.Subnet{sub("subnet-a", 10), sub("subnet-b", 250), sub("subnet-c", 30)}, "subnet-b"},
		{[]types.Subnet{sub("subnet-c", 250), sub("subnet-b", 250), sub("subnet-a", 3)}, "subnet-b"},
	} {
		if got := awssdk.ToString(mostFree(tc.subnets).SubnetId); got != tc.want {
			t.Errorf("mostFree = %s, want %s", got, tc.want)
		}
	}
}
