package ec2sim

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// securityGroup is a VPC security group. Its rules are recorded (and shown
// by Describe and /_sim/state) but not enforced on the instances' SSH
// servers: every client is this machine.
type securityGroup struct {
	seq         uint64
	id          string
	name        string
	description string
	vpcID       string
	ingress     []rule
	egress      []rule
	tags        map[string]string
	isDefault   bool
}

func (g *securityGroup) order() uint64 { return g.seq }

// rule is one security group rule: one protocol and port range from one
// source (an IPv4 or IPv6 CIDR, or a group).
type rule struct {
	id          string
	protocol    string // tcp, udp, icmp, -1 (all), or a protocol number
	fromPort    int    // -1: all (for -1 and icmp)
	toPort      int
	cidr        string
	cidrv6      string
	groupID     string
	description string
	tags        map[string]string
}

func (ru rule) peer() string { return ru.cidr + ru.cidrv6 + ru.groupID }

// same: two rules allow the same traffic (descriptions aside).
func (ru rule) same(o rule) bool {
	return ru.protocol == o.protocol && ru.fromPort == o.fromPort && ru.toPort == o.toPort && ru.peer() == o.peer()
}

var groupIDPattern = regexp.MustCompile(`^sg-[0-9a-f]{8}([0-9a-f]{9})?$`)

func (r *region) addDefaultGroup(seq uint64) {
	g := &securityGroup{
		seq: seq, id: stableID("sg-", r.name), name: "default", description: "default VPC security group",
		vpcID: r.vpc.id, tags: map[string]string{}, isDefault: true,
	}
	g.ingress = []rule{{id: stableID("sgr-", r.name+" in"), protocol: "-1", fromPort: -1, toPort: -1, groupID: g.id}}
	g.egress = []rule{{id: stableID("sgr-", r.name+" out"), protocol: "-1", fromPort: -1, toPort: -1, cidr: "0.0.0.0/0"}}
	r.groups[g.id] = g
}

// groupNamed is the group of that name in the default VPC.
func (r *region) groupNamed(name string) *securityGroup {
	for _, g := range r.groups {
		if g.name == name && g.vpcID == r.vpc.id {
			return g
		}
	}
	return nil
}

// namedGroup finds the group a call names by GroupId or GroupName.
func (c *call) namedGroup() (*securityGroup, *apiError) {
	r := c.region
	if id := c.params.get("GroupId"); id != "" {
		if !groupIDPattern.MatchString(id) {
			return nil, newError("InvalidGroupId.Malformed", "Invalid id: \"%s\" (expecting \"sg-...\")", id)
		}
		g := r.groups[id]
		if g == nil {
			return nil, notFound("group", []string{id})
		}
		return g, nil
	}
	if name := c.params.get("GroupName"); name != "" {
		g := r.groupNamed(name)
		if g == nil {
			return nil, newError("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, r.vpc.id)
		}
		return g, nil
	}
	return nil, missing("GroupId")
}

func createSecurityGroup(c *call) (any, *apiError) {
	p, r := c.params, c.region
	name := p.get("GroupName")
	if name == "" {
		return nil, missing("GroupName")
	}
	description := p.get("GroupDescription")
	if description == "" {
		return nil, missing("GroupDescription")
	}
	if len(name) > 255 || len(description) > 255 {
		return nil, newError("InvalidParameterValue", "Group name and description must be at most 255 characters")
	}
	if strings.HasPrefix(name, "sg-") {
		return nil, newError("InvalidParameterValue", "Group names may not be in the format sg-*.")
	}
	if vpcID := p.get("VpcId"); vpcID != "" && vpcID != r.vpc.id {
		return nil, notFound("vpc", []string{vpcID})
	}
	if r.groupNamed(name) != nil {
		return nil, newError("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, r.vpc.id)
	}
	specs, err := p.tagSpecs("security-group")
	if err != nil {
		return nil, err
	}
	g := &securityGroup{
		seq: c.sim.nextSeq(), id: newID("sg-"), name: name, description: description, vpcID: r.vpc.id,
		tags: cloneTags(specs["security-group"]),
	}
	g.egress = []rule{{id: newID("sgr-"), protocol: "-1", fromPort: -1, toPort: -1, cidr: "0.0.0.0/0"}}
	r.groups[g.id] = g
	return &createSecurityGroupResponse{GroupID: g.id, ARN: groupARN(r.name, g.id), Tags: tagSet(g.tags)}, nil
}

func groupARN(regionName, id string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", regionName, Account, id)
}

// readPermissions reads IpPermissions.N (and the older top-level CidrIp,
// IpProtocol, FromPort, ToPort) into rules, one per source.
func (c *call) readPermissions() ([]rule, *apiError) {
	p := c.params
	var out []rule
	perms := p.members("IpPermissions")
	if p.has("IpProtocol") || p.has("CidrIp") {
		perms = append(perms, params{form: p.form})
	}
	for _, perm := range perms {
		proto, from, to, err := readProtocol(perm)
		if err != nil {
			return nil, err
		}
		base := rule{protocol: proto, fromPort: from, toPort: to}
		n := len(out)
		for _, ipr := range perm.members("IpRanges") {
			cidr := ipr.get("CidrIp")
			if _, perr := netip.ParsePrefix(cidr); perr != nil || !strings.Contains(cidr, ".") {
				return nil, newError("InvalidParameterValue", "CIDR block %s is malformed", cidr)
			}
			ru := base
			ru.cidr, ru.description = cidr, ipr.get("Description")
			out = append(out, ru)
		}
		if cidr := perm.get("CidrIp"); cidr != "" {
			if _, perr := netip.ParsePrefix(cidr); perr != nil {
				return nil, newError("InvalidParameterValue", "CIDR block %s is malformed", cidr)
			}
			ru := base
			ru.cidr = cidr
			out = append(out, ru)
		}
		for _, ipr := range perm.members("Ipv6Ranges") {
			cidr := ipr.get("CidrIpv6")
			if _, perr := netip.ParsePrefix(cidr); perr != nil || !strings.Contains(cidr, ":") {
				return nil, newError("InvalidParameterValue", "CIDR block %s is malformed", cidr)
			}
			ru := base
			ru.cidrv6, ru.description = cidr, ipr.get("Description")
			out = append(out, ru)
		}
		for _, gp := range perm.members("Groups") {
			g := c.region.groups[gp.get("GroupId")]
			if g == nil && gp.get("GroupName") != "" {
				g = c.region.groupNamed(gp.get("GroupName"))
			}
			if g == nil {
				return nil, notFound("group", []string{gp.get("GroupId") + gp.get("GroupName")})
			}
			ru := base
			ru.groupID, ru.description = g.id, gp.get("Description")
			out = append(out, ru)
		}
		if len(out) == n {
			return nil, newError("MissingParameter", "Either IpRanges, Ipv6Ranges, PrefixListIds or Groups must be specified for each IpPermission")
		}
	}
	if len(out) == 0 {
		return nil, missing("IpPermissions")
	}
	return out, nil
}

func readProtocol(p params) (proto string, from, to int, err *apiError) {
	switch v := strings.ToLower(p.get("IpProtocol")); v {
	case "tcp", "6":
		proto = "tcp"
	case "udp", "17":
		proto = "udp"
	case "icmp", "1":
		proto = "icmp"
	case "-1", "all":
		return "-1", -1, -1, nil
	case "":
		return "", 0, 0, missing("IpProtocol")
	default:
		n, aerr := strconv.Atoi(v)
		if aerr != nil || n < 0 || n > 255 {
			return "", 0, 0, newError("InvalidParameterValue", "Invalid value '%s' for IP protocol. Unknown protocol.", v)
		}
		proto = v
	}
	from, fromSet, err := p.integer("FromPort")
	if err != nil {
		return "", 0, 0, err
	}
	to, toSet, err := p.integer("ToPort")
	if err != nil {
		return "", 0, 0, err
	}
	if proto == "icmp" {
		if !fromSet {
			from = -1
		}
		if !toSet {
			to = -1
		}
		return proto, from, to, nil
	}
	if !fromSet || !toSet {
		return "", 0, 0, newError("InvalidParameterValue", "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange")
	}
	if from < 0 || to > 65535 || from > to {
		return "", 0, 0, newError("InvalidParameterValue", "Invalid TCP/UDP port range %d-%d", from, to)
	}
	return proto, from, to, nil
}

func describeRule(ru rule) string {
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", ru.peer(), strings.ToUpper(ru.protocol), ru.fromPort, ru.toPort)
}

func authorizeSecurityGroupIngress(c *call) (any, *apiError) {
	g, err := c.namedGroup()
	if err != nil {
		return nil, err
	}
	rules, err := c.readPermissions()
	if err != nil {
		return nil, err
	}
	specs, err := c.params.tagSpecs("security-group-rule")
	if err != nil {
		return nil, err
	}
	for i, ru := range rules {
		for _, have := range append(append([]rule(nil), g.ingress...), rules[:i]...) {
			if have.same(ru) {
				return nil, newError("InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", describeRule(ru))
			}
		}
	}
	out := &authorizeResponse{Return: true}
	for _, ru := range rules {
		ru.id = newID("sgr-")
		ru.tags = cloneTags(specs["security-group-rule"])
		g.ingress = append(g.ingress, ru)
		out.Rules.Items = append(out.Rules.Items, c.ruleXML(g, ru, false))
	}
	return out, nil
}

func revokeSecurityGroupIngress(c *call) (any, *apiError) {
	g, err := c.namedGroup()
	if err != nil {
		return nil, err
	}
	out := &revokeResponse{Return: true}
	remove := map[string]bool{}
	if ids := c.params.list("SecurityGroupRuleId"); len(ids) > 0 {
		for _, id := range ids {
			found := false
			for _, ru := range g.ingress {
				found = found || ru.id == id
			}
			if !found {
				return nil, newError("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
			}
			remove[id] = true
		}
	} else {
		rules, err := c.readPermissions()
		if err != nil {
			return nil, err
		}
		for _, ru := range rules {
			found := false
			for _, have := range g.ingress {
				if have.same(ru) {
					remove[have.id], found = true, true
				}
			}
			if !found {
				return nil, newError("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
			}
		}
	}
	kept := g.ingress[:0]
	for _, ru := range g.ingress {
		if remove[ru.id] {
			out.Revoked.Items = append(out.Revoked.Items, c.ruleXML(g, ru, false))
			continue
		}
		kept = append(kept, ru)
	}
	g.ingress = kept
	return out, nil
}

func deleteSecurityGroup(c *call) (any, *apiError) {
	g, err := c.namedGroup()
	if err != nil {
		return nil, err
	}
	r := c.region
	if g.isDefault {
		return nil, newError("CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.id)
	}
	// An instance holds its groups until it is terminated, shutting-down
	// included, as its network interface does on EC2.
	for _, in := range r.instances {
		if in.state == "terminated" {
			continue
		}
		for _, id := range in.groups {
			if id == g.id {
				return nil, newError("DependencyViolation", "resource %s has a dependent object", g.id)
			}
		}
	}
	for _, other := range r.groups {
		if other == g {
			continue
		}
		for _, ru := range append(append([]rule(nil), other.ingress...), other.egress...) {
			if ru.groupID == g.id {
				return nil, newError("DependencyViolation", "resource %s has a dependent object", g.id)
			}
		}
	}
	delete(r.groups, g.id)
	return &deleteSecurityGroupResponse{Return: true, GroupID: g.id}, nil
}

func describeSecurityGroups(c *call) (any, *apiError) {
	p, r := c.params, c.region
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	if err := checkFilters(fs, c.groupField(&securityGroup{})); err != nil {
		return nil, err
	}
	ids, names := p.list("GroupId"), p.list("GroupName")
	var candidates []*securityGroup
	if len(ids) > 0 || len(names) > 0 {
		var missingIDs []string
		for _, id := range ids {
			if !groupIDPattern.MatchString(id) {
				return nil, newError("InvalidGroupId.Malformed", "Invalid id: \"%s\" (expecting \"sg-...\")", id)
			}
			if g := r.groups[id]; g != nil {
				candidates = append(candidates, g)
			} else {
				missingIDs = append(missingIDs, id)
			}
		}
		if len(missingIDs) > 0 {
			return nil, notFound("group", missingIDs)
		}
		for _, name := range names {
			g := r.groupNamed(name)
			if g == nil {
				return nil, newError("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, r.vpc.id)
			}
			candidates = append(candidates, g)
		}
	} else {
		candidates = byOrder(r.groups)
	}
	var found []securityGroupXML
	for _, g := range candidates {
		if matches(fs, g.tags, c.groupField(g)) {
			found = append(found, c.groupXML(g))
		}
	}
	page, next, err := paginate(p, found)
	if err != nil {
		return nil, err
	}
	return &describeSecurityGroupsResponse{Groups: items(page), NextToken: next}, nil
}

// groupField gives a group's values for DescribeSecurityGroups' filters:
// every one EC2 documents (prefix lists, which the simulator does not
// have, match nothing).
func (c *call) groupField(g *securityGroup) fieldFunc {
	return func(name string) ([]string, bool) {
		each := func(rules []rule, f func(rule) string) ([]string, bool) {
			var out []string
			for _, ru := range rules {
				if v := f(ru); v != "" {
					out = append(out, v)
				}
			}
			return out, true
		}
		port := func(n int) string { return strconv.Itoa(n) }
		rules := g.ingress
		field, egress := strings.CutPrefix(name, "egress.")
		if egress {
			rules = g.egress
		}
		switch field {
		case "ip-permission.cidr":
			return each(rules, func(ru rule) string { return ru.cidr })
		case "ip-permission.ipv6-cidr":
			return each(rules, func(ru rule) string { return ru.cidrv6 })
		case "ip-permission.group-id":
			return each(rules, func(ru rule) string { return ru.groupID })
		case "ip-permission.group-name":
			return each(rules, func(ru rule) string {
				if other := c.region.groups[ru.groupID]; other != nil {
					return other.name
				}
				return ""
			})
		case "ip-permission.user-id":
			return each(rules, func(ru rule) string { return choose(ru.groupID != "", Account, "") })
		case "ip-permission.protocol":
			return each(rules, func(ru rule) string { return ru.protocol })
		case "ip-permission.from-port":
			return each(rules, func(ru rule) string { return port(ru.fromPort) })
		case "ip-permission.to-port":
			return each(rules, func(ru rule) string { return port(ru.toPort) })
		case "ip-permission.prefix-list-id":
			return nil, true
		}
		if egress {
			return nil, false
		}
		switch name {
		case "group-id":
			return []string{g.id}, true
		case "group-name":
			return []string{g.name}, true
		case "description":
			return []string{g.description}, true
		case "vpc-id":
			return []string{g.vpcID}, true
		case "owner-id":
			return []string{Account}, true
		}
		return nil, false
	}
}

// The XML of security groups.

type userIDGroupPairXML struct {
	UserID      string `xml:"userId"`
	GroupID     string `xml:"groupId"`
	Description string `xml:"description,omitempty"`
}

type ipRangeXML struct {
	CidrIP      string `xml:"cidrIp"`
	Description string `xml:"description,omitempty"`
}

type ipv6RangeXML struct {
	CidrIPv6    string `xml:"cidrIpv6"`
	Description string `xml:"description,omitempty"`
}

type ipPermissionXML struct {
	IPProtocol    string                      `xml:"ipProtocol"`
	FromPort      *int                        `xml:"fromPort,omitempty"`
	ToPort        *int                        `xml:"toPort,omitempty"`
	Groups        itemSet[userIDGroupPairXML] `xml:"groups"`
	IPRanges      itemSet[ipRangeXML]         `xml:"ipRanges"`
	IPv6Ranges    itemSet[ipv6RangeXML]       `xml:"ipv6Ranges"`
	PrefixListIDs itemSet[struct{}]           `xml:"prefixListIds"`
}

type securityGroupXML struct {
	OwnerID       string                   `xml:"ownerId"`
	GroupID       string                   `xml:"groupId"`
	GroupName     string                   `xml:"groupName"`
	Description   string                   `xml:"groupDescription"`
	VpcID         string                   `xml:"vpcId"`
	Ingress       itemSet[ipPermissionXML] `xml:"ipPermissions"`
	Egress        itemSet[ipPermissionXML] `xml:"ipPermissionsEgress"`
	Tags          itemSet[tagXML]          `xml:"tagSet"`
	SecurityGroup string                   `xml:"securityGroupArn"`
}

type describeSecurityGroupsResponse struct {
	Groups    itemSet[securityGroupXML] `xml:"securityGroupInfo"`
	NextToken string                    `xml:"nextToken,omitempty"`
}

type createSecurityGroupResponse struct {
	GroupID string          `xml:"groupId"`
	ARN     string          `xml:"securityGroupArn"`
	Tags    itemSet[tagXML] `xml:"tagSet"`
}

type referencedGroupXML struct {
	GroupID string `xml:"groupId"`
	UserID  string `xml:"userId"`
}

type ruleXML struct {
	ID          string              `xml:"securityGroupRuleId"`
	GroupID     string              `xml:"groupId"`
	OwnerID     string              `xml:"groupOwnerId"`
	IsEgress    bool                `xml:"isEgress"`
	IPProtocol  string              `xml:"ipProtocol"`
	FromPort    int                 `xml:"fromPort"`
	ToPort      int                 `xml:"toPort"`
	CidrIPv4    string              `xml:"cidrIpv4,omitempty"`
	CidrIPv6    string              `xml:"cidrIpv6,omitempty"`
	Referenced  *referencedGroupXML `xml:"referencedGroupInfo,omitempty"`
	Description string              `xml:"description,omitempty"`
	Tags        itemSet[tagXML]     `xml:"tagSet"`
	ARN         string              `xml:"securityGroupRuleArn"`
}

type authorizeResponse struct {
	Return bool             `xml:"return"`
	Rules  itemSet[ruleXML] `xml:"securityGroupRuleSet"`
}

type revokeResponse struct {
	Return  bool             `xml:"return"`
	Revoked itemSet[ruleXML] `xml:"revokedSecurityGroupRuleSet"`
}

type deleteSecurityGroupResponse struct {
	Return  bool   `xml:"return"`
	GroupID string `xml:"groupId"`
}

func (c *call) ruleXML(g *securityGroup, ru rule, egress bool) ruleXML {
	x := ruleXML{
		ID: ru.id, GroupID: g.id, OwnerID: Account, IsEgress: egress, IPProtocol: ru.protocol,
		FromPort: ru.fromPort, ToPort: ru.toPort, CidrIPv4: ru.cidr, CidrIPv6: ru.cidrv6,
		Description: ru.description, Tags: tagSet(ru.tags),
		ARN: fmt.Sprintf("arn:aws:ec2:%s:%s:security-group-rule/%s", c.region.name, Account, ru.id),
	}
	if ru.groupID != "" {
		x.Referenced = &referencedGroupXML{GroupID: ru.groupID, UserID: Account}
	}
	return x
}

func (c *call) groupXML(g *securityGroup) securityGroupXML {
	return securityGroupXML{
		OwnerID: Account, GroupID: g.id, GroupName: g.name, Description: g.description, VpcID: g.vpcID,
		Ingress: permissionsXML(g.ingress), Egress: permissionsXML(g.egress), Tags: tagSet(g.tags),
		SecurityGroup: groupARN(c.region.name, g.id),
	}
}

// permissionsXML gathers rules into EC2's permissions: one per protocol
// and port range, listing its sources.
func permissionsXML(rules []rule) itemSet[ipPermissionXML] {
	var out []ipPermissionXML
	index := map[string]int{}
	for _, ru := range rules {
		key := fmt.Sprintf("%s %d %d", ru.protocol, ru.fromPort, ru.toPort)
		i, ok := index[key]
		if !ok {
			perm := ipPermissionXML{IPProtocol: ru.protocol}
			if ru.protocol != "-1" {
				from, to := ru.fromPort, ru.toPort
				perm.FromPort, perm.ToPort = &from, &to
			}
			out = append(out, perm)
			i = len(out) - 1
			index[key] = i
		}
		perm := &out[i]
		switch {
		case ru.cidr != "":
			perm.IPRanges.Items = append(perm.IPRanges.Items, ipRangeXML{CidrIP: ru.cidr, Description: ru.description})
		case ru.cidrv6 != "":
			perm.IPv6Ranges.Items = append(perm.IPv6Ranges.Items, ipv6RangeXML{CidrIPv6: ru.cidrv6, Description: ru.description})
		case ru.groupID != "":
			perm.Groups.Items = append(perm.Groups.Items, userIDGroupPairXML{UserID: Account, GroupID: ru.groupID, Description: ru.description})
		}
	}
	return items(out)
}
