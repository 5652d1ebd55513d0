package ec2sim

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// volumePermission is who, besides its owner, may create volumes from a
// snapshot: an account, or all (a public snapshot).
type volumePermission struct {
	userID string
	group  string
}

// snapshotDelay is how long a snapshot CreateSnapshot starts takes, at
// TimeFactor 1.
const snapshotDelay = 60 * time.Second

// createSnapshot snapshots a volume. A root volume's snapshot holds a copy
// of its instance's tree as it is now, so RegisterImage can make an image
// of it; a data volume's holds nothing.
func createSnapshot(c *call) (any, *apiError) {
	p, r, s := c.params, c.region, c.sim
	id := p.get("VolumeId")
	if id == "" {
		return nil, missing("VolumeId")
	}
	if !volumeIDPattern.MatchString(id) {
		return nil, newError("InvalidVolumeID.Malformed", "Invalid id: \"%s\" (expecting \"vol-...\")", id)
	}
	v := r.volumes[id]
	if v == nil {
		return nil, notFound("volume", []string{id})
	}
	description := p.get("Description")
	if len(description) > 255 {
		return nil, newError("InvalidParameterValue", "Value for parameter description is invalid. Length exceeds maximum of 255 characters.")
	}
	specs, err := p.tagSpecs("snapshot")
	if err != nil {
		return nil, err
	}
	sn := &snapshot{
		id: newID("snap-"), volumeID: v.id, owner: Account, state: "pending", description: description,
		encrypted: v.encrypted, kmsKeyID: v.kmsKeyID, size: v.size, started: c.now, tags: cloneTags(specs["snapshot"]),
	}
	if in := v.rootOf(r); in != nil && in.state != "terminated" {
		dir := filepath.Join(s.dir, "snapshots", sn.id)
		if err := c.copyTree(in.dir, dir); err != nil {
			return nil, internalError(fmt.Errorf("snapshotting %s: %w", v.id, err))
		}
		if r.volumes[v.id] != v {
			// Deleted (with its instance) while its tree was copied: the
			// deletion came first.
			s.removeTree(dir)
			return nil, notFound("volume", []string{id})
		}
		sn.dir = dir
	}
	sn.seq = s.nextSeq()
	sn.next = c.startTransition("completed", snapshotDelay)
	r.snapshots[sn.id] = sn
	x := snapshotToXML(sn)
	x.Progress = ""
	return &createSnapshotResponse{snapshotXML: x}, nil
}

// rootOf is the instance v is the root volume of, if any.
func (v *volume) rootOf(r *region) *instance {
	if v.attachment == nil {
		return nil
	}
	in := r.instances[v.attachment.instanceID]
	if in == nil || len(in.devices) == 0 || in.devices[0].volumeID != v.id {
		return nil
	}
	return in
}

// ownSnapshot is the caller's snapshot a call names.
func (c *call) ownSnapshot() (*snapshot, *apiError) {
	id := c.params.get("SnapshotId")
	if id == "" {
		return nil, missing("SnapshotId")
	}
	if !snapshotIDPattern.MatchString(id) {
		return nil, newError("InvalidSnapshotID.Malformed", "Invalid id: \"%s\" (expecting \"snap-...\")", id)
	}
	sn := c.region.snapshots[id]
	if sn == nil || !sn.visible() {
		return nil, notFound("snapshot", []string{id})
	}
	return sn, nil
}

func describeSnapshotAttribute(c *call) (any, *apiError) {
	attr := c.params.get("Attribute")
	if attr == "" {
		return nil, missing("Attribute")
	}
	sn, err := c.ownSnapshot()
	if err != nil {
		return nil, err
	}
	out := &snapshotAttributeResponse{SnapshotID: sn.id}
	switch attr {
	case "createVolumePermission":
		set := itemSet[volumePermissionXML]{}
		for _, vp := range sn.perms {
			set.Items = append(set.Items, volumePermissionXML{UserID: vp.userID, Group: vp.group})
		}
		out.Permissions = &set
	case "productCodes":
		out.ProductCodes = &itemSet[struct{}]{}
	default:
		return nil, newError("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	return out, nil
}

func modifySnapshotAttribute(c *call) (any, *apiError) {
	p := c.params
	sn, err := c.ownSnapshot()
	if err != nil {
		return nil, err
	}
	switch attr := p.get("Attribute"); attr {
	case "", "createVolumePermission":
	case "productCodes":
		return nil, newError("InvalidParameterValue", "The attribute productCodes of a snapshot cannot be modified.")
	default:
		return nil, newError("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	read := func(m params) volumePermission {
		return volumePermission{userID: m.get("UserId"), group: m.get("Group")}
	}
	var add, remove []volumePermission
	for _, m := range p.members("CreateVolumePermission.Add") {
		add = append(add, read(m))
	}
	for _, m := range p.members("CreateVolumePermission.Remove") {
		remove = append(remove, read(m))
	}
	// The older form: OperationType, UserId.N and GroupName.N.
	var legacy []volumePermission
	for _, u := range p.list("UserId") {
		legacy = append(legacy, volumePermission{userID: u})
	}
	for _, g := range p.list("UserGroup") {
		legacy = append(legacy, volumePermission{group: g})
	}
	if len(legacy) > 0 {
		switch op := p.get("OperationType"); op {
		case "add":
			add = append(add, legacy...)
		case "remove":
			remove = append(remove, legacy...)
		case "":
			return nil, missing("OperationType")
		default:
			return nil, invalidValue("OperationType", op)
		}
	}
	if len(add) == 0 && len(remove) == 0 {
		return nil, newError("InvalidParameterCombination", "No attributes specified.")
	}
	for _, vp := range append(append([]volumePermission(nil), add...), remove...) {
		switch {
		case (vp.userID == "") == (vp.group == ""):
			return nil, newError("InvalidParameterCombination", "A create volume permission names exactly one of UserId and Group")
		case vp.userID != "" && !accountID.MatchString(vp.userID):
			return nil, newError("InvalidUserID.Malformed", "User ID '%s' is invalid", vp.userID)
		case vp.group != "" && vp.group != "all":
			return nil, newError("InvalidParameterValue", "Value (%s) for parameter group is invalid. Valid values: all", vp.group)
		}
	}
	for _, vp := range add {
		switch {
		case sn.encrypted && vp.group == "all":
			return nil, newError("InvalidParameter", "Encrypted snapshots cannot be shared publicly.")
		case sn.encrypted && sn.kmsKeyID == defaultKMSKey(c.region.name):
			return nil, newError("InvalidParameter", "Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot.")
		}
	}
	for _, vp := range add {
		if !slices.Contains(sn.perms, vp) {
			sn.perms = append(sn.perms, vp)
		}
	}
	sn.perms = slices.DeleteFunc(sn.perms, func(have volumePermission) bool { return slices.Contains(remove, have) })
	return &emptyResponse{}, nil
}

// restorableBy says whether any of users may create volumes from sn:
// its owner, an account it is shared with, or all for a public one.
func (sn *snapshot) restorableBy(users []string) bool {
	for _, u := range users {
		if u == "self" {
			u = Account
		}
		if u == sn.owner {
			return true
		}
		for _, vp := range sn.perms {
			if vp.userID == u || vp.group == "all" && u == "all" {
				return true
			}
		}
	}
	return false
}

// The XML of snapshot attributes.

type volumePermissionXML struct {
	UserID string `xml:"userId,omitempty"`
	Group  string `xml:"group,omitempty"`
}

type snapshotAttributeResponse struct {
	SnapshotID   string                        `xml:"snapshotId"`
	Permissions  *itemSet[volumePermissionXML] `xml:"createVolumePermission,omitempty"`
	ProductCodes *itemSet[struct{}]            `xml:"productCodes,omitempty"`
}

type createSnapshotResponse struct {
	snapshotXML
}
