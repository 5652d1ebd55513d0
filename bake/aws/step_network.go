package aws

import (
	"context"
	"fmt"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"

	"github.com/imgraph/imgraph/internal/ssmsession"
	"github.com/imgraph/imgraph/rules"
)

// netState is how the build instance is placed and reached: what
// stepNetwork finds, and the session stepSession opens.
type netState struct {
	subnet string   // "" for the default VPC's choice
	vpc    string   // the subnet's, or the default VPC
	groups []string // the image's own security groups, by id; none: a temporary one

	// step_session
	mu         sync.Mutex // the communicator dials from more than one goroutine
	sessionIDs []string   // every session started, the last one current
	session    *ssmsession.Session
}

// sshInterface is how the bake reaches the instance, public_ip by default.
func (s *bakeState) sshInterface() string {
	if s.attrs.Network.SSHInterface == "" {
		return rules.SSHInterfacePublicIP
	}
	return s.attrs.Network.SSHInterface
}

// ownGroups reports whether the instance runs in the image's own security
// groups, which the bake never changes, rather than a temporary one.
func (s *bakeState) ownGroups() bool { return len(s.net.groups) > 0 }

// stepNetwork finds where the build instance runs: its subnet (given, or
// picked by subnet_filter), the subnet's VPC, and the ids of the image's
// own security groups. It makes nothing.
type stepNetwork struct{}

func (*stepNetwork) Name() string { return "network" }

func (*stepNetwork) Run(ctx context.Context, s *bakeState) error {
	n := s.attrs.Network
	s.net.subnet = s.attrs.Subnet
	switch {
	case len(n.SubnetFilter) > 0:
		sub, err := pickSubnet(ctx, s.ec2, n.SubnetFilter, s.region)
		if err != nil {
			return err
		}
		s.net.subnet, s.net.vpc = awssdk.ToString(sub.SubnetId), awssdk.ToString(sub.VpcId)
		fmt.Fprintf(s.log, "==> subnet_filter picked %s in %s (%d free addresses)\n", s.net.subnet, s.net.vpc, awssdk.ToInt32(sub.AvailableIpAddressCount))
	default:
		vpc, err := vpcOf(ctx, s.ec2, s.net.subnet, s.region)
		if err != nil {
			return err
		}
		s.net.vpc = vpc
	}
	if len(n.SecurityGroups) > 0 {
		ids, err := securityGroupIDs(ctx, s.ec2, n.SecurityGroups, s.net.vpc)
		if err != nil {
			return err
		}
		s.net.groups = ids
	}
	return nil
}

func (*stepNetwork) Cleanup(ctx context.Context, s *bakeState) error { return nil }
