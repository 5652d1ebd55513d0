package ec2sim

import (
	"maps"
	"slices"
	"sort"
	"strings"
)

// resourceTags finds the tags of the resource an id names, whatever its
// kind.
func (c *call) resourceTags(id string) (map[string]string, *apiError) {
	r := c.region
	kind, _, _ := strings.Cut(id, "-")
	switch kind {
	case "i":
		if in := r.instances[id]; in != nil {
			return in.tags, nil
		}
		return nil, notFound("instance", []string{id})
	case "ami":
		if im := r.images[id]; im != nil && im.visible() {
			return im.tags, nil
		}
		return nil, notFound("image", []string{id})
	case "snap":
		if sn := r.snapshots[id]; sn != nil && sn.visible() {
			return sn.tags, nil
		}
		return nil, notFound("snapshot", []string{id})
	case "vol":
		if v := r.volumes[id]; v != nil {
			return v.tags, nil
		}
		return nil, notFound("volume", []string{id})
	case "sg":
		if g := r.groups[id]; g != nil {
			return g.tags, nil
		}
		return nil, notFound("group", []string{id})
	case "key":
		for _, kp := range r.keyPairs {
			if kp.id == id {
				return kp.tags, nil
			}
		}
		return nil, notFound("key pair", []string{id})
	case "lt":
		if lt := r.launchTemplates[id]; lt != nil {
			return lt.tags, nil
		}
		return nil, launchTemplateIDNotFound(id)
	case "vpc":
		if id == r.vpc.id {
			return r.vpc.tags, nil
		}
		return nil, notFound("vpc", []string{id})
	case "subnet":
		if sn := r.subnets[id]; sn != nil {
			return sn.tags, nil
		}
		return nil, notFound("subnet", []string{id})
	case "eni":
		if n := r.networkInterface(id); n != nil {
			return n.tags, nil
		}
		return nil, notFound("network interface", []string{id})
	}
	return nil, newError("InvalidID", "The ID '%s' is not valid", id)
}

func createTags(c *call) (any, *apiError) {
	p := c.params
	ids := p.list("ResourceId")
	if len(ids) == 0 {
		return nil, missing("ResourceId")
	}
	if len(p.members("Tag")) == 0 {
		return nil, missing("Tag")
	}
	tags, err := p.tags("Tag")
	if err != nil {
		return nil, err
	}
	// Every resource is checked before any is tagged.
	var targets []map[string]string
	for _, id := range ids {
		t, err := c.resourceTags(id)
		if err != nil {
			return nil, err
		}
		probe := cloneTags(t)
		if err := addTags(probe, tags); err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	for _, t := range targets {
		addTags(t, tags)
	}
	return &returnResponse{Return: true}, nil
}

func deleteTags(c *call) (any, *apiError) {
	p := c.params
	ids := p.list("ResourceId")
	if len(ids) == 0 {
		return nil, missing("ResourceId")
	}
	var targets []map[string]string
	for _, id := range ids {
		t, err := c.resourceTags(id)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	members := p.members("Tag")
	for _, t := range targets {
		if len(members) == 0 {
			// No tags named: every tag goes.
			for k := range t {
				delete(t, k)
			}
			continue
		}
		for _, m := range members {
			k := m.get("Key")
			// With a value (even an empty one), only a tag holding that
			// value goes.
			if have, ok := t[k]; ok && (!m.has("Value") || have == m.get("Value")) {
				delete(t, k)
			}
		}
	}
	return &returnResponse{Return: true}, nil
}

// tagged is a resource that may carry tags, as DescribeTags lists it.
type tagged struct {
	id, kind string
	tags     map[string]string
}

// taggedResources are the region's resources the caller owns, in creation
// order (the VPC and subnets first).
func (r *region) taggedResources() []tagged {
	out := []tagged{{r.vpc.id, "vpc", r.vpc.tags}}
	for _, z := range r.zones {
		out = append(out, tagged{z.subnet.id, "subnet", z.subnet.tags})
	}
	type item struct {
		seq uint64
		t   tagged
	}
	var all []item
	for _, in := range r.instances {
		all = append(all, item{in.seq, tagged{in.id, "instance", in.tags}})
		if in.eni != nil && in.state != "terminated" {
			all = append(all, item{in.seq, tagged{in.eni.id, "network-interface", in.eni.tags}})
		}
	}
	for _, im := range r.images {
		if !im.deregistered && im.owner == Account {
			all = append(all, item{im.seq, tagged{im.id, "image", im.tags}})
		}
	}
	for _, sn := range r.snapshots {
		if sn.visible() {
			all = append(all, item{sn.seq, tagged{sn.id, "snapshot", sn.tags}})
		}
	}
	for _, v := range r.volumes {
		all = append(all, item{v.seq, tagged{v.id, "volume", v.tags}})
	}
	for _, g := range r.groups {
		all = append(all, item{g.seq, tagged{g.id, "security-group", g.tags}})
	}
	for _, kp := range r.keyPairs {
		all = append(all, item{kp.seq, tagged{kp.id, "key-pair", kp.tags}})
	}
	for _, lt := range r.launchTemplates {
		all = append(all, item{lt.seq, tagged{lt.id, "launch-template", lt.tags}})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	for _, it := range all {
		out = append(out, it.t)
	}
	return out
}

// describeTags lists the tags of the caller's resources, one item a tag.
// Its filters: key, value, resource-id, resource-type, and tag:K (the
// tags of resources that carry K with a matching value).
func describeTags(c *call) (any, *apiError) {
	p := c.params
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		switch {
		case f.name == "key", f.name == "value", f.name == "resource-id", f.name == "resource-type",
			strings.HasPrefix(f.name, "tag:"):
		default:
			return nil, newError("InvalidParameterValue", "The filter '%s' is invalid", f.name)
		}
	}
	var found []tagDescriptionXML
	for _, res := range c.region.taggedResources() {
		for _, k := range slices.Sorted(maps.Keys(res.tags)) {
			field := func(name string) ([]string, bool) {
				switch name {
				case "key":
					return []string{k}, true
				case "value":
					return []string{res.tags[k]}, true
				case "resource-id":
					return []string{res.id}, true
				case "resource-type":
					return []string{res.kind}, true
				}
				return nil, false
			}
			if matches(fs, res.tags, field) {
				found = append(found, tagDescriptionXML{ResourceID: res.id, ResourceType: res.kind, Key: k, Value: res.tags[k]})
			}
		}
	}
	page, next, err := paginateUpTo(p, found, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &describeTagsResponse{Tags: items(page), NextToken: next}, nil
}

type tagDescriptionXML struct {
	ResourceID   string `xml:"resourceId"`
	ResourceType string `xml:"resourceType"`
	Key          string `xml:"key"`
	Value        string `xml:"value"`
}

type describeTagsResponse struct {
	Tags      itemSet[tagDescriptionXML] `xml:"tagSet"`
	NextToken string                     `xml:"nextToken,omitempty"`
}
