package rules

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// The ways the aws platform reaches a build instance over SSH, as Packer's
// amazon-ebs ssh_interface names them.
const (
	SSHInterfacePublicIP       = "public_ip"
	SSHInterfacePrivateIP      = "private_ip"
	SSHInterfaceSessionManager = "session_manager"
)

var sshInterfaces = []string{SSHInterfacePublicIP, SSHInterfacePrivateIP, SSHInterfaceSessionManager}

// AWSNetwork is how the aws platform reaches an image's build instance. It
// decides how a bake runs, not what it makes: none of it is in the key.
type AWSNetwork struct {
	// SSHInterface is one of the SSHInterface constants; "" is public_ip
	// (the private address when the instance has no public one).
	SSHInterface string
	// AssociatePublicIP, when set, asks for a public address (true) or
	// none (false) on the instance's network interface.
	AssociatePublicIP *bool
	// SecurityGroups are existing groups (ids or names) used instead of
	// the temporary one; none of them is changed.
	SecurityGroups []string
	// SubnetFilter picks the subnet matching these DescribeSubnets filters
	// with the most free addresses.
	SubnetFilter map[string]string
}

// awsNetworkArgs are the arguments of image(...) that say how the build
// instance is reached.
type awsNetworkArgs struct {
	sshInterface      optString
	associatePublicIP optBool
	securityGroups    stringList
	subnetFilter      stringDict
}

func (a *awsNetworkArgs) network() AWSNetwork {
	n := AWSNetwork{
		SSHInterface:   a.sshInterface.s,
		SecurityGroups: slices.Clone([]string(a.securityGroups)),
		SubnetFilter:   maps.Clone(map[string]string(a.subnetFilter)),
	}
	if a.associatePublicIP.set {
		b := a.associatePublicIP.b
		n.AssociatePublicIP = &b
	}
	return n
}

// securityGroupIDRE is a group id as EC2 writes one; anything else not
// starting with "sg-" is taken as a group's name.
var securityGroupIDRE = regexp.MustCompile(`^sg-([0-9a-f]{8}|[0-9a-f]{17})$`)

// checkAWSNetwork checks the attributes of how the build instance is
// reached.
func (p *imageProblems) checkAWSNetwork(a *awsImageArgs) {
	n := &a.net
	if n.sshInterface.set && !slices.Contains(sshInterfaces, n.sshInterface.s) {
		p.attr("ssh_interface", "%q is not one of %s", n.sshInterface.s, quoteAll(sshInterfaces))
	}
	if a.subnet.set && a.subnet.s != "" && len(n.subnetFilter) > 0 {
		p.attr("subnet_filter", "give subnet or subnet_filter, not both")
	}
	if n.subnetFilter != nil && len(n.subnetFilter) == 0 {
		p.attr("subnet_filter", "empty: give filters such as {\"tag:Tier\": \"private\"}, or leave it out")
	}
	for _, k := range slices.Sorted(maps.Keys(n.subnetFilter)) {
		if k == "" || strings.TrimSpace(k) != k {
			p.attr("subnet_filter", "%q is not a filter name such as \"tag:Tier\" or \"vpc-id\"", k)
		}
	}
	seen := map[string]bool{}
	for _, g := range n.securityGroups {
		switch {
		case strings.HasPrefix(g, "sg-") && !securityGroupIDRE.MatchString(g):
			p.attr("security_groups", "%q is not a security group id (sg- and 8 or 17 hex digits)", g)
		case g == "" || len(g) > 255:
			p.attr("security_groups", "%q is neither a security group id nor a group name (1 to 255 characters)", g)
		case seen[g]:
			p.attr("security_groups", "%q is named twice", g)
		}
		seen[g] = true
	}
	if n.securityGroups != nil && len(n.securityGroups) == 0 {
		p.attr("security_groups", "empty: name existing groups, or leave it out for a temporary group")
	}
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = `"` + s + `"`
	}
	return strings.Join(q, ", ")
}
