package ec2sim

import (
	"fmt"
	"strings"
)

// vpc is a region's default VPC, the only one.
type vpc struct {
	id   string
	cidr string
	tags map[string]string
}

// subnet is the default VPC's one subnet.
type subnet struct {
	id   string
	az   string
	cidr string
	tags map[string]string
}

func describeVpcs(c *call) (any, *apiError) {
	p, r := c.params, c.region
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	field := func(name string) ([]string, bool) {
		switch name {
		case "vpc-id":
			return []string{r.vpc.id}, true
		case "is-default", "isDefault":
			return []string{"true"}, true
		case "cidr", "cidr-block-association.cidr-block":
			return []string{r.vpc.cidr}, true
		case "state":
			return []string{"available"}, true
		case "owner-id":
			return []string{Account}, true
		}
		return nil, false
	}
	if err := checkFilters(fs, field); err != nil {
		return nil, err
	}
	for _, id := range p.list("VpcId") {
		if id != r.vpc.id {
			return nil, notFound("vpc", []string{id})
		}
	}
	out := &describeVpcsResponse{}
	if matches(fs, r.vpc.tags, field) {
		out.Vpcs.Items = []vpcXML{{
			VpcID: r.vpc.id, OwnerID: Account, State: "available", CidrBlock: r.vpc.cidr,
			Associations: items([]cidrAssociationXML{{
				CidrBlock: r.vpc.cidr, AssociationID: stableID("vpc-cidr-assoc-", r.name),
				State: cidrStateXML{State: "associated"},
			}}),
			DhcpOptionsID: stableID("dopt-", r.name), Tenancy: "default", IsDefault: true, Tags: tagSet(r.vpc.tags),
		}}
	}
	return out, nil
}

func describeSubnets(c *call) (any, *apiError) {
	p, r := c.params, c.region
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	field := func(name string) ([]string, bool) {
		switch name {
		case "subnet-id":
			return []string{r.subnet.id}, true
		case "vpc-id":
			return []string{r.vpc.id}, true
		case "availability-zone":
			return []string{r.subnet.az}, true
		case "default-for-az", "defaultForAz":
			return []string{"true"}, true
		case "cidr-block", "cidr", "cidrBlock":
			return []string{r.subnet.cidr}, true
		case "state":
			return []string{"available"}, true
		case "map-public-ip-on-launch":
			return []string{"true"}, true
		case "owner-id":
			return []string{Account}, true
		}
		return nil, false
	}
	if err := checkFilters(fs, field); err != nil {
		return nil, err
	}
	for _, id := range p.list("SubnetId") {
		if id != r.subnet.id {
			return nil, notFound("subnet", []string{id})
		}
	}
	out := &describeSubnetsResponse{}
	if matches(fs, r.subnet.tags, field) {
		out.Subnets.Items = []subnetXML{{
			SubnetID: r.subnet.id, SubnetARN: fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", r.name, Account, r.subnet.id),
			State: "available", OwnerID: Account, VpcID: r.vpc.id, CidrBlock: r.subnet.cidr,
			AvailableIPAddressCount: 4091 - len(r.instances), AvailabilityZone: r.subnet.az,
			AvailabilityZoneID: zoneID(r.name), DefaultForAz: true, MapPublicIPOnLaunch: true,
			Tags: tagSet(r.subnet.tags),
		}}
	}
	return out, nil
}

func describeRegions(c *call) (any, *apiError) {
	p, s := c.params, c.sim
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	field := func(name string) fieldFunc {
		return func(f string) ([]string, bool) {
			switch f {
			case "region-name":
				return []string{name}, true
			case "endpoint":
				return []string{regionEndpoint(name)}, true
			case "opt-in-status":
				return []string{"opt-in-not-required"}, true
			}
			return nil, false
		}
	}
	if err := checkFilters(fs, field("")); err != nil {
		return nil, err
	}
	names := s.order
	if wanted := p.list("RegionName"); len(wanted) > 0 {
		names = nil
		for _, n := range wanted {
			if s.regions[n] == nil {
				return nil, newError("InvalidParameterValue", "Invalid region: %s", n)
			}
			names = append(names, n)
		}
	}
	out := &describeRegionsResponse{}
	for _, n := range names {
		if matches(fs, nil, field(n)) {
			out.Regions.Items = append(out.Regions.Items, regionXML{Name: n, Endpoint: regionEndpoint(n), OptInStatus: "opt-in-not-required"})
		}
	}
	return out, nil
}

func describeAvailabilityZones(c *call) (any, *apiError) {
	r := c.region
	return &describeZonesResponse{Zones: items([]zoneXML{{
		Name: r.subnet.az, ID: zoneID(r.name), State: "available", Region: r.name,
		OptInStatus: "opt-in-not-required", Type: "availability-zone", Messages: itemSet[struct{}]{},
		GroupName: r.name, NetworkBorderGroup: r.name,
	}})}, nil
}

func regionEndpoint(name string) string { return "ec2." + name + ".amazonaws.com" }

// zoneID is the id of a region's first zone, as EC2 abbreviates it:
// us-east-1 has use1-az1, ap-southeast-2 apse2-az1.
func zoneID(region string) string {
	parts := strings.Split(region, "-")
	id := parts[0]
	for _, p := range parts[1 : len(parts)-1] {
		for _, d := range []string{"north", "south", "east", "west", "central"} {
			if rest, ok := strings.CutPrefix(p, d); ok {
				id += d[:1]
				p = rest
			}
		}
		if p != "" {
			id += p[:1]
		}
	}
	return id + parts[len(parts)-1] + "-az1"
}

// The XML of networks and regions.

type cidrStateXML struct {
	State string `xml:"state"`
}

type cidrAssociationXML struct {
	CidrBlock     string       `xml:"cidrBlock"`
	AssociationID string       `xml:"associationId"`
	State         cidrStateXML `xml:"cidrBlockState"`
}

type vpcXML struct {
	VpcID         string                      `xml:"vpcId"`
	OwnerID       string                      `xml:"ownerId"`
	State         string                      `xml:"state"`
	CidrBlock     string                      `xml:"cidrBlock"`
	Associations  itemSet[cidrAssociationXML] `xml:"cidrBlockAssociationSet"`
	DhcpOptionsID string                      `xml:"dhcpOptionsId"`
	Tenancy       string                      `xml:"instanceTenancy"`
	IsDefault     bool                        `xml:"isDefault"`
	Tags          itemSet[tagXML]             `xml:"tagSet"`
}

type describeVpcsResponse struct {
	Vpcs itemSet[vpcXML] `xml:"vpcSet"`
}

type subnetXML struct {
	SubnetID                string          `xml:"subnetId"`
	SubnetARN               string          `xml:"subnetArn"`
	State                   string          `xml:"state"`
	OwnerID                 string          `xml:"ownerId"`
	VpcID                   string          `xml:"vpcId"`
	CidrBlock               string          `xml:"cidrBlock"`
	AvailableIPAddressCount int             `xml:"availableIpAddressCount"`
	AvailabilityZone        string          `xml:"availabilityZone"`
	AvailabilityZoneID      string          `xml:"availabilityZoneId"`
	DefaultForAz            bool            `xml:"defaultForAz"`
	MapPublicIPOnLaunch     bool            `xml:"mapPublicIpOnLaunch"`
	Tags                    itemSet[tagXML] `xml:"tagSet"`
}

type describeSubnetsResponse struct {
	Subnets itemSet[subnetXML] `xml:"subnetSet"`
}

type regionXML struct {
	Name        string `xml:"regionName"`
	Endpoint    string `xml:"regionEndpoint"`
	OptInStatus string `xml:"optInStatus"`
}

type describeRegionsResponse struct {
	Regions itemSet[regionXML] `xml:"regionInfo"`
}

type zoneXML struct {
	Name               string            `xml:"zoneName"`
	ID                 string            `xml:"zoneId"`
	State              string            `xml:"zoneState"`
	Region             string            `xml:"regionName"`
	OptInStatus        string            `xml:"optInStatus"`
	Type               string            `xml:"zoneType"`
	Messages           itemSet[struct{}] `xml:"messageSet"`
	GroupName          string            `xml:"groupName"`
	NetworkBorderGroup string            `xml:"networkBorderGroup"`
}

type describeZonesResponse struct {
	Zones itemSet[zoneXML] `xml:"availabilityZoneInfo"`
}
