package ec2sim

import "strings"

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
		if id == r.subnet.id {
			return r.subnet.tags, nil
		}
		return nil, notFound("subnet", []string{id})
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
