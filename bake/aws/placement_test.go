package aws

import (
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/rules"
)

func TestPlaceInstanceAndSSHAddress(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name            string
		net             rules.AWSNetwork
		subnet          string
		own             []string
		wantSubnet      string // on the call, or "ni:" on the interface
		wantGroups      string
		wantPublic      *bool
		public, private string
		wantAddr        string
	}{
		{name: "defaults", subnet: "subnet-1", wantSubnet: "subnet-1", wantGroups: "sg-temp",
			public: "3.3.3.3", private: "10.0.0.5", wantAddr: "3.3.3.3"},
		{name: "public_ip without a public address", wantGroups: "sg-temp", private: "10.0.0.5", wantAddr: "10.0.0.5"},
		{name: "private_ip", net: rules.AWSNetwork{SSHInterface: rules.SSHInterfacePrivateIP}, own: []string{"sg-a", "sg-b"},
			wantGroups: "sg-a,sg-b", public: "3.3.3.3", private: "10.0.0.5", wantAddr: "10.0.0.5"},
		{name: "associate_public_ip", net: rules.AWSNetwork{AssociatePublicIP: &yes}, subnet: "subnet-2",
			wantSubnet: "ni:subnet-2", wantGroups: "ni:sg-temp", wantPublic: &yes, public: "3.3.3.3", private: "10.0.0.5", wantAddr: "3.3.3.3"},
	} {
		s := &bakeState{attrs: rules.AWSAttrs{Network: tc.net}, groupID: "sg-temp"}
		s.net.subnet, s.net.groups = tc.subnet, tc.own
		in := &ec2.RunInstancesInput{}
		s.placeInstance(in)
		subnet, groups := awssdk.ToString(in.SubnetId), join(in.SecurityGroupIds)
		var public *bool
		if len(in.NetworkInterfaces) == 1 {
			ni := in.NetworkInterfaces[0]
			if awssdk.ToInt32(ni.DeviceIndex) != 0 || in.SubnetId != nil || in.SecurityGroupIds != nil {
				t.Errorf("%s: interface %+v beside subnet %v and groups %v", tc.name, ni, in.SubnetId, in.SecurityGroupIds)
			}
			subnet, groups, public = "ni:"+awssdk.ToString(ni.SubnetId), "ni:"+join(ni.Groups), ni.AssociatePublicIpAddress
			if awssdk.ToString(ni.SubnetId) == "" {
				subnet = ""
			}
		}
		if subnet != tc.wantSubnet || groups != tc.wantGroups || (public == nil) != (tc.wantPublic == nil) {
			t.Errorf("%s: subnet %q, groups %q, public %v; want %q, %q, %v", tc.name, subnet, groups, public, tc.wantSubnet, tc.wantGroups, tc.wantPublic)
		}
		inst := &types.Instance{}
		if tc.public != "" {
			inst.PublicIpAddress = awssdk.String(tc.public)
		}
		inst.PrivateIpAddress = awssdk.String(tc.private)
		if got := s.sshAddress(inst); got != tc.wantAddr {
			t.Errorf("%s: SSH address %s, want %s", tc.name, got, tc.wantAddr)
		}
	}
}

func join(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}
