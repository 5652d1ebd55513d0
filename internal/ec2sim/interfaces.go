package ec2sim

import (
	"crypto/sha256"
	"fmt"
	"time"
)

// networkInterface is an instance's primary network interface (eth0): made
// with the instance, in its subnet, holding its addresses and security
// groups, and deleted when the instance is terminated.
type networkInterface struct {
	id           string
	attachmentID string
	mac          string
	attached     time.Time
	tags         map[string]string
	instance     *instance
}

func newNetworkInterface(in *instance, now time.Time, tags map[string]string) *networkInterface {
	sum := sha256.Sum256([]byte("mac " + in.id))
	return &networkInterface{
		id: stableID("eni-", in.id), attachmentID: stableID("eni-attach-", in.id),
		// A locally administered unicast address, as EC2's are (02:…).
		mac:      fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", sum[0], sum[1], sum[2], sum[3], sum[4]),
		attached: now, tags: cloneTags(tags), instance: in,
	}
}

// networkInterfaces are the region's interfaces: those of the instances
// not yet terminated, in launch order.
func (r *region) networkInterfaces() []*networkInterface {
	var out []*networkInterface
	for _, in := range byOrder(r.instances) {
		if in.eni != nil && in.state != "terminated" {
			out = append(out, in.eni)
		}
	}
	return out
}

func (r *region) networkInterface(id string) *networkInterface {
	for _, n := range r.networkInterfaces() {
		if n.id == id {
			return n
		}
	}
	return nil
}

// privateDNS and publicDNS are EC2's names of an address.
func privateDNS(region, ip string) string {
	if ip == "" {
		return ""
	}
	return "ip-" + dnsLabel(ip) + "." + internalDomain(region)
}

func publicDNS(region, ip string) string {
	if ip == "" {
		return ""
	}
	return "ec2-" + dnsLabel(ip) + "." + publicDomain(region)
}

// interfaceField gives an interface's values for DescribeNetworkInterfaces'
// filters, every one EC2 documents.
func (c *call) interfaceField(n *networkInterface) fieldFunc {
	r := c.region
	return func(name string) ([]string, bool) {
		in := n.instance
		one := func(v string) ([]string, bool) {
			if v == "" {
				return nil, true
			}
			return []string{v}, true
		}
		public := ""
		if in != nil {
			public = publicIP(in)
		}
		switch name {
		case "network-interface-id":
			return one(n.id)
		case "addresses.private-ip-address", "private-ip-address":
			return one(privateIP(in))
		case "addresses.primary":
			return one("true")
		case "addresses.association.public-ip", "association.public-ip":
			return one(public)
		case "addresses.association.owner-id", "association.ip-owner-id":
			if public == "" {
				return nil, true
			}
			return one("amazon")
		case "association.public-dns-name":
			return one(publicDNS(r.name, public))
		case "association.allocation-id", "association.association-id", "ipv6-addresses.ipv6-address",
			"operator.principal", "requester-id":
			return nil, true // no Elastic IP, IPv6 or managing service
		case "attachment.attachment-id":
			return one(n.attachmentID)
		case "attachment.attach-time":
			return one(formatTime(n.attached))
		case "attachment.delete-on-termination":
			return one("true")
		case "attachment.device-index":
			return one("0")
		case "attachment.instance-id":
			return one(in.id)
		case "attachment.instance-owner-id", "owner-id":
			return one(Account)
		case "attachment.status":
			return one(attachmentStatus(in))
		case "availability-zone":
			return one(in.subnet.zone.name)
		case "availability-zone-id":
			return one(in.subnet.zone.id)
		case "description":
			return []string{""}, true
		case "group-id":
			return in.groups, true
		case "group-name":
			return c.groupNames(in.groups), true
		case "interface-type":
			return one("interface")
		case "mac-address":
			return one(n.mac)
		case "operator.managed", "requester-managed":
			return one("false")
		case "private-dns-name":
			return one(privateDNS(r.name, privateIP(in)))
		case "source-dest-check":
			return one("true")
		case "status":
			return one("in-use")
		case "subnet-id":
			return one(in.subnet.id)
		case "vpc-id":
			return one(r.vpc.id)
		}
		return nil, false
	}
}

// attachmentStatus is how an instance's interface is attached: it is
// detaching while the instance shuts down.
func attachmentStatus(in *instance) string {
	if in.state == "shutting-down" {
		return "detaching"
	}
	return "attached"
}

// groupNames are the names of the groups ids names.
func (c *call) groupNames(ids []string) []string {
	var names []string
	for _, id := range ids {
		if g := c.region.groups[id]; g != nil {
			names = append(names, g.name)
		}
	}
	return names
}

func describeNetworkInterfaces(c *call) (any, *apiError) {
	p, r := c.params, c.region
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	if err := checkFilters(fs, c.interfaceField(&networkInterface{instance: &instance{subnet: r.zones[0].subnet}})); err != nil {
		return nil, err
	}
	ids := p.list("NetworkInterfaceId")
	if len(ids) > 0 && p.has("MaxResults") {
		return nil, newError("InvalidParameterCombination", "The parameter networkInterfaceIdSet cannot be used with the parameter maxResults")
	}
	var candidates []*networkInterface
	if len(ids) > 0 {
		var missingIDs []string
		for _, id := range ids {
			if !eniIDPattern.MatchString(id) {
				return nil, newError("InvalidNetworkInterfaceID.Malformed", "Invalid id: \"%s\" (expecting \"eni-...\")", id)
			}
			if n := r.networkInterface(id); n != nil {
				candidates = append(candidates, n)
			} else {
				missingIDs = append(missingIDs, id)
			}
		}
		if len(missingIDs) > 0 {
			return nil, notFound("network interface", missingIDs)
		}
	} else {
		candidates = r.networkInterfaces()
	}
	var found []networkInterfaceXML
	for _, n := range candidates {
		if matches(fs, n.tags, c.interfaceField(n)) {
			found = append(found, c.networkInterfaceXML(n))
		}
	}
	page, next, err := paginateUpTo(p, found, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &describeNetworkInterfacesResponse{Interfaces: items(page), NextToken: next}, nil
}

// describeAddresses lists the Elastic IP addresses, of which the
// simulator has none: instances' public addresses are not Elastic IPs.
func describeAddresses(c *call) (any, *apiError) {
	p := c.params
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	field := func(name string) ([]string, bool) {
		switch name {
		case "allocation-id", "association-id", "domain", "instance-id", "network-border-group",
			"network-interface-id", "network-interface-owner-id", "private-ip-address", "public-ip":
			return nil, true
		}
		return nil, false
	}
	if err := checkFilters(fs, field); err != nil {
		return nil, err
	}
	if ips := p.list("PublicIp"); len(ips) > 0 {
		return nil, newError("InvalidAddress.NotFound", "Address '%s' not found.", ips[0])
	}
	if ids := p.list("AllocationId"); len(ids) > 0 {
		return nil, newError("InvalidAllocationID.NotFound", "The allocation ID '%s' does not exist", ids[0])
	}
	return &describeAddressesResponse{}, nil
}

// The XML of network interfaces.

type interfaceAssociationXML struct {
	PublicIP      string `xml:"publicIp"`
	PublicDNSName string `xml:"publicDnsName"`
	IPOwnerID     string `xml:"ipOwnerId"`
}

type interfaceAttachmentXML struct {
	AttachmentID        string `xml:"attachmentId"`
	InstanceID          string `xml:"instanceId,omitempty"`
	InstanceOwnerID     string `xml:"instanceOwnerId,omitempty"`
	DeviceIndex         int    `xml:"deviceIndex"`
	NetworkCardIndex    int    `xml:"networkCardIndex"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type privateAddressXML struct {
	PrivateIP      string                   `xml:"privateIpAddress"`
	PrivateDNSName string                   `xml:"privateDnsName"`
	Primary        bool                     `xml:"primary"`
	Association    *interfaceAssociationXML `xml:"association,omitempty"`
}

// instanceInterfaceXML is an interface as DescribeInstances shows it.
type instanceInterfaceXML struct {
	NetworkInterfaceID string                     `xml:"networkInterfaceId"`
	SubnetID           string                     `xml:"subnetId"`
	VpcID              string                     `xml:"vpcId"`
	Description        string                     `xml:"description"`
	OwnerID            string                     `xml:"ownerId"`
	Status             string                     `xml:"status"`
	MacAddress         string                     `xml:"macAddress"`
	PrivateIP          string                     `xml:"privateIpAddress"`
	PrivateDNSName     string                     `xml:"privateDnsName"`
	SourceDestCheck    bool                       `xml:"sourceDestCheck"`
	Groups             itemSet[groupXML]          `xml:"groupSet"`
	Attachment         interfaceAttachmentXML     `xml:"attachment"`
	Association        *interfaceAssociationXML   `xml:"association,omitempty"`
	PrivateAddresses   itemSet[privateAddressXML] `xml:"privateIpAddressesSet"`
	IPv6Addresses      itemSet[struct{}]          `xml:"ipv6AddressesSet"`
	InterfaceType      string                     `xml:"interfaceType"`
}

// networkInterfaceXML is an interface as DescribeNetworkInterfaces shows it.
type networkInterfaceXML struct {
	NetworkInterfaceID string                     `xml:"networkInterfaceId"`
	SubnetID           string                     `xml:"subnetId"`
	VpcID              string                     `xml:"vpcId"`
	AvailabilityZone   string                     `xml:"availabilityZone"`
	AvailabilityZoneID string                     `xml:"availabilityZoneId"`
	Description        string                     `xml:"description"`
	OwnerID            string                     `xml:"ownerId"`
	RequesterManaged   bool                       `xml:"requesterManaged"`
	Status             string                     `xml:"status"`
	MacAddress         string                     `xml:"macAddress"`
	PrivateIP          string                     `xml:"privateIpAddress"`
	PrivateDNSName     string                     `xml:"privateDnsName"`
	SourceDestCheck    bool                       `xml:"sourceDestCheck"`
	Groups             itemSet[groupXML]          `xml:"groupSet"`
	Attachment         interfaceAttachmentXML     `xml:"attachment"`
	Association        *interfaceAssociationXML   `xml:"association,omitempty"`
	Tags               itemSet[tagXML]            `xml:"tagSet"`
	PrivateAddresses   itemSet[privateAddressXML] `xml:"privateIpAddressesSet"`
	IPv6Addresses      itemSet[struct{}]          `xml:"ipv6AddressesSet"`
	InterfaceType      string                     `xml:"interfaceType"`
	IPv6Native         bool                       `xml:"ipv6Native"`
	DenyAllIGWTraffic  bool                       `xml:"denyAllIgwTraffic"`
}

type describeNetworkInterfacesResponse struct {
	Interfaces itemSet[networkInterfaceXML] `xml:"networkInterfaceSet"`
	NextToken  string                       `xml:"nextToken,omitempty"`
}

type describeAddressesResponse struct {
	Addresses itemSet[struct{}] `xml:"addressesSet"`
}

// interfaceParts are what both views of an interface show.
func (c *call) interfaceParts(n *networkInterface) (groups itemSet[groupXML], assoc *interfaceAssociationXML, addrs itemSet[privateAddressXML], att interfaceAttachmentXML) {
	r, in := c.region, n.instance
	for _, id := range in.groups {
		if g := r.groups[id]; g != nil {
			groups.Items = append(groups.Items, groupXML{GroupID: g.id, GroupName: g.name})
		}
	}
	if ip := publicIP(in); ip != "" {
		assoc = &interfaceAssociationXML{PublicIP: ip, PublicDNSName: publicDNS(r.name, ip), IPOwnerID: "amazon"}
	}
	addrs.Items = []privateAddressXML{{
		PrivateIP: privateIP(in), PrivateDNSName: privateDNS(r.name, privateIP(in)), Primary: true, Association: assoc,
	}}
	att = interfaceAttachmentXML{
		AttachmentID: n.attachmentID, Status: attachmentStatus(in), AttachTime: formatTime(n.attached), DeleteOnTermination: true,
	}
	return groups, assoc, addrs, att
}

func (c *call) instanceInterfaceXML(n *networkInterface) instanceInterfaceXML {
	in := n.instance
	groups, assoc, addrs, att := c.interfaceParts(n)
	return instanceInterfaceXML{
		NetworkInterfaceID: n.id, SubnetID: in.subnet.id, VpcID: c.region.vpc.id, OwnerID: Account,
		Status: "in-use", MacAddress: n.mac, PrivateIP: privateIP(in), PrivateDNSName: privateDNS(c.region.name, privateIP(in)),
		SourceDestCheck: true, Groups: groups, Attachment: att, Association: assoc, PrivateAddresses: addrs,
		InterfaceType: "interface",
	}
}

func (c *call) networkInterfaceXML(n *networkInterface) networkInterfaceXML {
	in := n.instance
	groups, assoc, addrs, att := c.interfaceParts(n)
	att.InstanceID, att.InstanceOwnerID = in.id, Account
	return networkInterfaceXML{
		NetworkInterfaceID: n.id, SubnetID: in.subnet.id, VpcID: c.region.vpc.id,
		AvailabilityZone: in.subnet.zone.name, AvailabilityZoneID: in.subnet.zone.id, OwnerID: Account,
		Status: "in-use", MacAddress: n.mac, PrivateIP: privateIP(in), PrivateDNSName: privateDNS(c.region.name, privateIP(in)),
		SourceDestCheck: true, Groups: groups, Attachment: att, Association: assoc, Tags: tagSet(n.tags),
		PrivateAddresses: addrs, InterfaceType: "interface",
	}
}
