package ec2sim

// launchPlacement reads where RunInstances puts an instance: the subnet
// and security groups of the call, or of its one network interface
// (NetworkInterface.1), which EC2 takes instead of them, never beside
// them. It reports whether the interface asks for no public address.
func (c *call) launchPlacement() (groups []string, noPublicIP bool, err *apiError) {
	p, r := c.params, c.region
	nis := p.members("NetworkInterface")
	if len(nis) == 0 {
		if id := p.get("SubnetId"); id != "" && id != r.subnet.id {
			return nil, false, notFound("subnet", []string{id})
		}
		groups, err := c.launchGroups()
		return groups, false, err
	}
	if p.get("SubnetId") != "" {
		return nil, false, newError("InvalidParameterCombination", "Network interfaces and an instance-level subnet ID may not be specified on the same request")
	}
	if len(p.list("SecurityGroupId")) > 0 || len(p.list("SecurityGroup")) > 0 {
		return nil, false, newError("InvalidParameterCombination", "Network interfaces and an instance-level security groups may not be specified on the same request")
	}
	if len(nis) > 1 {
		return nil, false, newError("InvalidParameterValue", "The simulator launches instances with one network interface")
	}
	ni := nis[0]
	index, set, err := ni.integer("DeviceIndex")
	if err != nil {
		return nil, false, err
	}
	if !set {
		return nil, false, newError("InvalidParameterValue", "Each network interface requires a device index.")
	}
	public, publicSet, err := ni.boolean("AssociatePublicIpAddress")
	if err != nil {
		return nil, false, err
	}
	if publicSet && index != 0 {
		return nil, false, newError("InvalidParameterCombination", "The associatePublicIPAddress parameter can only be specified for the network interface with DeviceIndex 0.")
	}
	if index != 0 {
		return nil, false, newError("InvalidParameterValue", "The simulator launches instances with one network interface, at DeviceIndex 0")
	}
	if ni.get("NetworkInterfaceId") != "" {
		return nil, false, newError("InvalidParameterValue", "The simulator makes an instance's network interface; it does not attach existing ones")
	}
	if id := ni.get("SubnetId"); id != "" && id != r.subnet.id {
		return nil, false, notFound("subnet", []string{id})
	}
	for _, id := range ni.list("SecurityGroupId") {
		if r.groups[id] == nil {
			return nil, false, newError("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", id, r.vpc.id)
		}
		groups = append(groups, id)
	}
	if len(groups) == 0 {
		groups = []string{r.groupNamed("default").id}
	}
	// The default subnet maps a public address on launch: only false
	// takes it away.
	return groups, publicSet && !public, nil
}
