package aws

import (
	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/rules"
)

// placeInstance puts the launch in its subnet and security groups. With
// associate_public_ip they go on the network interface, as EC2 wants them
// there when the interface is described.
func (s *bakeState) placeInstance(in *ec2.RunInstancesInput) {
	groups := s.net.groups
	if !s.ownGroups() {
		groups = []string{s.groupID}
	}
	if public := s.attrs.Network.AssociatePublicIP; public != nil {
		ni := types.InstanceNetworkInterfaceSpecification{
			DeviceIndex:              awssdk.Int32(0),
			AssociatePublicIpAddress: awssdk.Bool(*public),
			DeleteOnTermination:      awssdk.Bool(true),
			Groups:                   groups,
		}
		if s.net.subnet != "" {
			ni.SubnetId = awssdk.String(s.net.subnet)
		}
		in.NetworkInterfaces = []types.InstanceNetworkInterfaceSpecification{ni}
		return
	}
	in.SecurityGroupIds = groups
	if s.net.subnet != "" {
		in.SubnetId = awssdk.String(s.net.subnet)
	}
}

// sshAddress is the address SSH reaches a running instance at, by
// ssh_interface: public_ip falls back to the private address when the
// instance has no public one; session_manager needs none, and keeps the
// private one for the log.
func (s *bakeState) sshAddress(inst *types.Instance) string {
	private := awssdk.ToString(inst.PrivateIpAddress)
	switch s.sshInterface() {
	case rules.SSHInterfacePrivateIP, rules.SSHInterfaceSessionManager:
		return private
	}
	if public := awssdk.ToString(inst.PublicIpAddress); public != "" {
		return public
	}
	return private
}
