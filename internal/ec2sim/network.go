package ec2sim

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// vpc is a region's default VPC, the only one.
type vpc struct {
	id   string
	cidr string
	tags map[string]string
}

// zone is an availability zone of a region, with its default subnet.
type zone struct {
	name   string // us-east-1a
	id     string // use1-az1
	subnet *subnet
}

// subnet is a default subnet of the default VPC: one per zone, each a /20
// of 172.31.0.0/16 (172.31.0.0/20 in the first zone, 172.31.16.0/20 in
// the second, …), as EC2 makes them.
type subnet struct {
	id   string
	zone *zone
	cidr netip.Prefix
	tags map[string]string
}

// zoneLetters are the zones of each region: six in us-east-1, three
// elsewhere.
func zoneLetters(region string) string {
	if region == "us-east-1" {
		return "abcdef"
	}
	return "abc"
}

// addZones gives a region its zones and their default subnets.
func (r *region) addZones() {
	r.subnets = map[string]*subnet{}
	for i, l := range zoneLetters(r.name) {
		z := &zone{name: r.name + string(l), id: zoneIDPrefix(r.name) + "-az" + strconv.Itoa(i+1)}
		z.subnet = &subnet{
			id: stableID("subnet-", z.name), zone: z, tags: map[string]string{},
			cidr: netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 31, byte(16 * i), 0}), 20),
		}
		r.zones = append(r.zones, z)
		r.subnets[z.subnet.id] = z.subnet
	}
}

// zoneNamed is the region's zone of that name, or nil.
func (r *region) zoneNamed(name string) *zone {
	for _, z := range r.zones {
		if z.name == name {
			return z
		}
	}
	return nil
}

// launchSubnet is the subnet RunInstances launches into: the one it names,
// or the default subnet of the zone its placement names, or else the
// default subnet of the next zone in turn, as EC2 spreads instances that
// name neither.
func (c *call) launchSubnet() (*subnet, *apiError) {
	return c.subnetFor(c.params.get("SubnetId"))
}

// subnetFor is the subnet id names (checked against the zone Placement
// names), or where id is "", the default subnet of that zone, or of the
// next zone in turn.
func (c *call) subnetFor(id string) (*subnet, *apiError) {
	p, r := c.params, c.region
	zoneName := p.get("Placement.AvailabilityZone")
	var z *zone
	if zoneName != "" {
		if z = r.zoneNamed(zoneName); z == nil {
			return nil, newError("InvalidParameterValue", "Invalid availability zone: [%s]", zoneName)
		}
	}
	if id != "" {
		sn := r.subnets[id]
		if sn == nil {
			return nil, notFound("subnet", []string{id})
		}
		if z != nil && sn.zone != z {
			return nil, newError("InvalidParameterValue", "Value (%s) for parameter availabilityZone is invalid. Subnet '%s' is in the availability zone %s", zoneName, id, sn.zone.name)
		}
		return sn, nil
	}
	if z == nil {
		z = r.zones[r.launches%len(r.zones)]
		r.launches++
	}
	return z.subnet, nil
}

// subnetUsers counts the instances (not yet terminated) in a subnet.
func (r *region) subnetUsers(sn *subnet) int {
	n := 0
	for _, in := range r.instances {
		if in.subnet == sn && in.state != "terminated" {
			n++
		}
	}
	return n
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

func subnetARN(region, id string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", region, Account, id)
}

// subnetField gives a subnet's values for DescribeSubnets' filters, every
// one EC2 documents (and the older camel-case names it still takes).
func (c *call) subnetField(sn *subnet) fieldFunc {
	r := c.region
	return func(name string) ([]string, bool) {
		switch name {
		case "availability-zone", "availabilityZone":
			return []string{sn.zone.name}, true
		case "availability-zone-id", "availabilityZoneId":
			return []string{sn.zone.id}, true
		case "available-ip-address-count", "availableIpAddressCount":
			return []string{strconv.Itoa(availableAddresses(r, sn))}, true
		case "cidr-block", "cidr", "cidrBlock":
			return []string{sn.cidr.String()}, true
		case "default-for-az", "defaultForAz":
			return []string{"true"}, true
		case "enable-dns64", "ipv6-native", "map-customer-owned-ip-on-launch",
			"private-dns-name-options-on-launch.enable-resource-name-dns-a-record",
			"private-dns-name-options-on-launch.enable-resource-name-dns-aaaa-record":
			return []string{"false"}, true
		case "map-public-ip-on-launch":
			return []string{"true"}, true
		case "private-dns-name-options-on-launch.hostname-type":
			return []string{"ip-name"}, true
		case "customer-owned-ipv4-pool", "enable-lni-at-device-index", "outpost-arn",
			"ipv6-cidr-block-association.ipv6-cidr-block", "ipv6-cidr-block-association.association-id",
			"ipv6-cidr-block-association.state":
			return nil, true // a default subnet has none
		case "owner-id":
			return []string{Account}, true
		case "state":
			return []string{"available"}, true
		case "subnet-arn":
			return []string{subnetARN(r.name, sn.id)}, true
		case "subnet-id":
			return []string{sn.id}, true
		case "vpc-id":
			return []string{r.vpc.id}, true
		}
		return nil, false
	}
}

// availableAddresses is what a /20 offers (4096, less the five EC2
// reserves) less what the subnet's instances hold.
func availableAddresses(r *region, sn *subnet) int {
	return 1<<(32-sn.cidr.Bits()) - 5 - r.subnetUsers(sn)
}

func describeSubnets(c *call) (any, *apiError) {
	p, r := c.params, c.region
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	if err := checkFilters(fs, c.subnetField(r.zones[0].subnet)); err != nil {
		return nil, err
	}
	var candidates []*subnet
	if ids := p.list("SubnetId"); len(ids) > 0 {
		var missingIDs []string
		for _, id := range ids {
			if sn := r.subnets[id]; sn != nil {
				candidates = append(candidates, sn)
			} else {
				missingIDs = append(missingIDs, id)
			}
		}
		if len(missingIDs) > 0 {
			return nil, notFound("subnet", missingIDs)
		}
	} else {
		for _, z := range r.zones {
			candidates = append(candidates, z.subnet)
		}
	}
	var found []subnetXML
	for _, sn := range candidates {
		if !matches(fs, sn.tags, c.subnetField(sn)) {
			continue
		}
		found = append(found, subnetXML{
			SubnetID: sn.id, SubnetARN: subnetARN(r.name, sn.id),
			State: "available", OwnerID: Account, VpcID: r.vpc.id, CidrBlock: sn.cidr.String(),
			AvailableIPAddressCount: availableAddresses(r, sn), AvailabilityZone: sn.zone.name,
			AvailabilityZoneID: sn.zone.id, DefaultForAz: true, MapPublicIPOnLaunch: true,
			Tags: tagSet(sn.tags), IPv6Native: false,
			DNSNameOptions: dnsNameOptionsXML{HostnameType: "ip-name"},
		})
	}
	page, next, err := paginateUpTo(p, found, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &describeSubnetsResponse{Subnets: items(page), NextToken: next}, nil
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

// zoneField gives a zone's values for DescribeAvailabilityZones' filters.
func (c *call) zoneField(z *zone) fieldFunc {
	r := c.region
	return func(name string) ([]string, bool) {
		switch name {
		case "group-name":
			return []string{zoneGroup(r.name)}, true
		case "group-long-name":
			return []string{zoneGroupLongName(r.name)}, true
		case "message", "parent-zone-id", "parent-zone-name":
			return nil, true // an availability zone has none
		case "opt-in-status":
			return []string{"opt-in-not-required"}, true
		case "region-name":
			return []string{r.name}, true
		case "state":
			return []string{"available"}, true
		case "zone-id":
			return []string{z.id}, true
		case "zone-name":
			return []string{z.name}, true
		case "zone-type":
			return []string{"availability-zone"}, true
		}
		return nil, false
	}
}

func describeAvailabilityZones(c *call) (any, *apiError) {
	p, r := c.params, c.region
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	if err := checkFilters(fs, c.zoneField(r.zones[0])); err != nil {
		return nil, err
	}
	if _, _, err := p.boolean("AllAvailabilityZones"); err != nil {
		return nil, err
	}
	names, ids := p.list("ZoneName"), p.list("ZoneId")
	candidates := r.zones
	if len(names) > 0 || len(ids) > 0 {
		candidates = nil
		for _, z := range r.zones {
			if slices.Contains(names, z.name) || slices.Contains(ids, z.id) {
				candidates = append(candidates, z)
			}
		}
		for _, n := range names {
			if r.zoneNamed(n) == nil {
				return nil, newError("InvalidParameterValue", "The zone '%s' does not exist.", n)
			}
		}
		for _, id := range ids {
			if !slices.ContainsFunc(r.zones, func(z *zone) bool { return z.id == id }) {
				return nil, newError("InvalidParameterValue", "The zone ID '%s' does not exist.", id)
			}
		}
	}
	out := &describeZonesResponse{}
	for _, z := range candidates {
		if !matches(fs, nil, c.zoneField(z)) {
			continue
		}
		out.Zones.Items = append(out.Zones.Items, zoneXML{
			Name: z.name, ID: z.id, State: "available", Region: r.name,
			OptInStatus: "opt-in-not-required", Type: "availability-zone", Messages: itemSet[struct{}]{},
			GroupName: zoneGroup(r.name), GroupLongName: zoneGroupLongName(r.name), NetworkBorderGroup: r.name,
		})
	}
	return out, nil
}

func regionEndpoint(name string) string { return "ec2." + name + ".amazonaws.com" }

// zoneGroup is the zone group of a region's availability zones.
func zoneGroup(region string) string { return region + "-zg-1" }

// regionLongNames are the names EC2 gives the default regions' zone groups.
var regionLongNames = map[string]string{
	"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)",
	"us-west-1": "US West (N. California)", "us-west-2": "US West (Oregon)",
	"eu-west-1": "Europe (Ireland)", "eu-west-2": "Europe (London)",
	"eu-central-1": "Europe (Frankfurt)", "eu-north-1": "Europe (Stockholm)",
	"ap-southeast-1": "Asia Pacific (Singapore)", "ap-southeast-2": "Asia Pacific (Sydney)",
	"ap-northeast-1": "Asia Pacific (Tokyo)", "sa-east-1": "South America (Sao Paulo)",
}

func zoneGroupLongName(region string) string {
	if n, ok := regionLongNames[region]; ok {
		return n + " 1"
	}
	return region + " 1"
}

// zoneIDPrefix is how EC2 abbreviates a region in its zones' ids:
// us-east-1 has use1-az1, ap-southeast-2 apse2-az1.
func zoneIDPrefix(region string) string {
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
	return id + parts[len(parts)-1]
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
	SubnetID                string            `xml:"subnetId"`
	SubnetARN               string            `xml:"subnetArn"`
	State                   string            `xml:"state"`
	OwnerID                 string            `xml:"ownerId"`
	VpcID                   string            `xml:"vpcId"`
	CidrBlock               string            `xml:"cidrBlock"`
	AvailableIPAddressCount int               `xml:"availableIpAddressCount"`
	AvailabilityZone        string            `xml:"availabilityZone"`
	AvailabilityZoneID      string            `xml:"availabilityZoneId"`
	DefaultForAz            bool              `xml:"defaultForAz"`
	MapPublicIPOnLaunch     bool              `xml:"mapPublicIpOnLaunch"`
	Tags                    itemSet[tagXML]   `xml:"tagSet"`
	IPv6Native              bool              `xml:"ipv6Native"`
	DNSNameOptions          dnsNameOptionsXML `xml:"privateDnsNameOptionsOnLaunch"`
}

type dnsNameOptionsXML struct {
	HostnameType string `xml:"hostnameType"`
	ARecord      bool   `xml:"enableResourceNameDnsARecord"`
	AAAARecord   bool   `xml:"enableResourceNameDnsAAAARecord"`
}

type describeSubnetsResponse struct {
	Subnets   itemSet[subnetXML] `xml:"subnetSet"`
	NextToken string             `xml:"nextToken,omitempty"`
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
	GroupLongName      string            `xml:"groupLongName"`
	NetworkBorderGroup string            `xml:"networkBorderGroup"`
}

type describeZonesResponse struct {
	Zones itemSet[zoneXML] `xml:"availabilityZoneInfo"`
}
