package ec2sim

// launchPlacement is where RunInstances puts its instances: the subnet
// (given, or the default subnet of the zone Placement names, or of the
// next zone), the security groups, and whether the instance goes without
// a public address. Given one network interface, its subnet and groups
// are the instance's, as EC2 takes them.
func (c *call) launchPlacement() (sn *subnet, groups []string, noPublicIP bool, err *apiError) {
	p, r := c.params, c.region
	nis := p.members("NetworkInterface")
	if len(nis) == 0 {
		if sn, err = c.launchSubnet(); err != nil {
			return nil, nil, false, err
		}
		groups, err = c.launchGroups()
		return sn, groups, false, err
	}
	if p.get("SubnetId") != "" {
		return nil, nil, false, newError("InvalidParameterCombination", "Network interfaces and an instance-level subnet ID may not be specified on the same request")
	}
	if len(p.list("SecurityGroupId")) > 0 || len(p.list("SecurityGroup")) > 0 {
		return nil, nil, false, newError("InvalidParameterCombination", "Network interfaces and an instance-level security groups may not be specified on the same request")
	}
	if len(nis) > 1 {
		return nil, nil, false, newError("InvalidParameterValue", "The simulator launches instances with one network interface")
	}
	ni := nis[0]
	index, set, err := ni.integer("DeviceIndex")
	if err != nil {
		return nil, nil, false, err
	}
	if !set {
		return nil, nil, false, newError("InvalidParameterValue", "Each network interface requires a device index.")
	}
	public, publicSet, err := ni.boolean("AssociatePublicIpAddress")
	if err != nil {
		return nil, nil, false, err
	}
	if publicSet && index != 0 {
		return nil, nil, false, newError("InvalidParameterCombination", "The associatePublicIPAddress parameter can only be specified for the network interface with DeviceIndex 0.")
	}
	if index != 0 {
		return nil, nil, false, newError("InvalidParameterValue", "The simulator launches instances with one network interface, at DeviceIndex 0")
	}
	if ni.get("NetworkInterfaceId") != "" {
		return nil, nil, false, newError("InvalidParameterValue", "The simulator makes an instance's network interface; it does not attach existing ones")
	}
	if sn, err = c.subnetFor(ni.get("SubnetId")); err != nil {
		return nil, nil, false, err
	}
	for _, id := range ni.list("SecurityGroupId") {
		if r.groups[id] == nil {
			return nil, nil, false, newError("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", id, r.vpc.id)
		}
		groups = append(groups, id)
	}
	if len(groups) == 0 {
		groups = []string{r.groupNamed("default").id}
	}
	// The default subnet maps a public address on launch: only false
	// takes it away.
	return sn, groups, publicSet && !public, nil
}
