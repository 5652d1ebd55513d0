package ec2sim

import (
	"regexp"
	"strconv"
	"time"
)

// volume is an EBS volume; an instance's root volume holds what the
// instance's tree holds.
type volume struct {
	seq        uint64
	id         string
	size       int
	snapshotID string
	az         string
	state      string // in-use, available
	volumeType string
	encrypted  bool
	kmsKeyID   string
	iops       int
	throughput int
	created    time.Time
	tags       map[string]string
	attachment *volumeAttachment
}

func (v *volume) order() uint64 { return v.seq }

type volumeAttachment struct {
	instanceID          string
	device              string
	attached            time.Time
	deleteOnTermination bool
}

// snapshot is an EBS snapshot. A root volume's snapshot holds a copy of
// the instance's tree, which instances of its images start from.
type snapshot struct {
	seq         uint64
	id          string
	volumeID    string
	owner       string
	alias       string
	description string
	state       string // pending, completed, error
	encrypted   bool
	kmsKeyID    string
	size        int
	started     time.Time
	tags        map[string]string
	next        *transition
	// dir is the tree the snapshot holds: "" for a data volume's.
	dir string
	// external: dir is a base image's root filesystem, never removed.
	external bool
	perms    []volumePermission // createVolumePermission
}

func (sn *snapshot) order() uint64 { return sn.seq }

// visible: the caller sees its own snapshots only (a base image's belongs
// to its owner).
func (sn *snapshot) visible() bool { return sn.owner == Account }

var (
	snapshotIDPattern = regexp.MustCompile(`^snap-[0-9a-f]{8}([0-9a-f]{9})?$`)
	volumeIDPattern   = regexp.MustCompile(`^vol-[0-9a-f]{8}([0-9a-f]{9})?$`)
)

func (c *call) advanceSnapshot(sn *snapshot) {
	if c.ready(sn.next) {
		sn.state, sn.next = sn.next.to, nil
	}
}

// removeSnapshot deletes a snapshot and the tree it holds.
func (c *call) removeSnapshot(sn *snapshot) {
	if sn.dir != "" && !sn.external {
		c.sim.removeTree(sn.dir)
	}
	delete(c.region.snapshots, sn.id)
}

// snapshotUser is the registered image using sn, if any.
func (r *region) snapshotUser(id string) *image {
	for _, im := range byOrder(r.images) {
		if im.deregistered {
			continue
		}
		for _, m := range im.mappings {
			if m.snapshotID == id {
				return im
			}
		}
	}
	return nil
}

func describeSnapshots(c *call) (any, *apiError) {
	p, r := c.params, c.region
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	if err := checkFilters(fs, snapshotField(&snapshot{})); err != nil {
		return nil, err
	}
	owners := p.list("Owner")
	for _, o := range owners {
		if err := checkOwner(o); err != nil {
			return nil, err
		}
	}
	restorableBy := p.list("RestorableBy")
	var candidates []*snapshot
	if ids := p.list("SnapshotId"); len(ids) > 0 {
		var missingIDs []string
		for _, id := range ids {
			if !snapshotIDPattern.MatchString(id) {
				return nil, newError("InvalidSnapshotID.Malformed", "Invalid id: \"%s\" (expecting \"snap-...\")", id)
			}
			sn := r.snapshots[id]
			if sn == nil || !sn.visible() {
				missingIDs = append(missingIDs, id)
				continue
			}
			candidates = append(candidates, sn)
		}
		if len(missingIDs) > 0 {
			return nil, notFound("snapshot", missingIDs)
		}
	} else {
		for _, sn := range byOrder(r.snapshots) {
			if sn.visible() {
				candidates = append(candidates, sn)
			}
		}
	}
	var found []snapshotXML
	for _, sn := range candidates {
		if len(owners) > 0 && !ownedBy(owners, sn.owner, sn.alias) {
			continue
		}
		if len(restorableBy) > 0 && !sn.restorableBy(restorableBy) {
			continue
		}
		if matches(fs, sn.tags, snapshotField(sn)) {
			found = append(found, snapshotToXML(sn))
		}
	}
	page, next, err := paginate(p, found)
	if err != nil {
		return nil, err
	}
	return &describeSnapshotsResponse{Snapshots: items(page), NextToken: next}, nil
}

func snapshotField(sn *snapshot) fieldFunc {
	return func(name string) ([]string, bool) {
		switch name {
		case "snapshot-id":
			return []string{sn.id}, true
		case "volume-id":
			return []string{sn.volumeID}, true
		case "status":
			return []string{sn.state}, true
		case "owner-id":
			return []string{sn.owner}, true
		case "owner-alias":
			return []string{sn.alias}, true
		case "description":
			return []string{sn.description}, true
		case "encrypted":
			return []string{strconv.FormatBool(sn.encrypted)}, true
		case "volume-size":
			return []string{strconv.Itoa(sn.size)}, true
		case "start-time":
			return []string{formatTime(sn.started)}, true
		case "progress":
			return []string{snapshotProgress(sn)}, true
		case "kms-key-id":
			return []string{sn.kmsKeyID}, true
		case "storage-tier", "transfer-type":
			return []string{"standard"}, true
		}
		return nil, false
	}
}

func snapshotProgress(sn *snapshot) string {
	if sn.state == "pending" {
		return "0%"
	}
	return "100%"
}

func deleteSnapshot(c *call) (any, *apiError) {
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
	if im := c.region.snapshotUser(id); im != nil {
		return nil, newError("InvalidSnapshot.InUse", "The snapshot %s is currently in use by %s", id, im.id)
	}
	c.removeSnapshot(sn)
	return &returnResponse{Return: true}, nil
}

func describeVolumes(c *call) (any, *apiError) {
	p, r := c.params, c.region
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	if err := checkFilters(fs, c.volumeField(&volume{})); err != nil {
		return nil, err
	}
	var candidates []*volume
	if ids := p.list("VolumeId"); len(ids) > 0 {
		var missingIDs []string
		for _, id := range ids {
			if !volumeIDPattern.MatchString(id) {
				return nil, newError("InvalidVolumeID.Malformed", "Invalid id: \"%s\" (expecting \"vol-...\")", id)
			}
			v := r.volumes[id]
			if v == nil {
				missingIDs = append(missingIDs, id)
				continue
			}
			candidates = append(candidates, v)
		}
		if len(missingIDs) > 0 {
			return nil, notFound("volume", missingIDs)
		}
	} else {
		candidates = byOrder(r.volumes)
	}
	var found []volumeXML
	for _, v := range candidates {
		if matches(fs, v.tags, c.volumeField(v)) {
			found = append(found, volumeToXML(v))
		}
	}
	page, next, err := paginate(p, found)
	if err != nil {
		return nil, err
	}
	return &describeVolumesResponse{Volumes: items(page), NextToken: next}, nil
}

// volumeField gives a volume's values for DescribeVolumes' filters: every
// one EC2 documents.
func (c *call) volumeField(v *volume) fieldFunc {
	return func(name string) ([]string, bool) {
		att := v.attachment
		switch name {
		case "availability-zone-id":
			if z := c.region.zoneNamed(v.az); z != nil {
				return []string{z.id}, true
			}
			return nil, true
		case "fast-restored", "multi-attach-enabled", "operator.managed":
			return []string{"false"}, true
		case "operator.principal":
			return nil, true // no managing service
		case "attachment.attach-time":
			if att == nil {
				return nil, true
			}
			return []string{formatTime(att.attached)}, true
		case "volume-id":
			return []string{v.id}, true
		case "status":
			return []string{v.state}, true
		case "size":
			return []string{strconv.Itoa(v.size)}, true
		case "snapshot-id":
			return []string{v.snapshotID}, true
		case "volume-type":
			return []string{v.volumeType}, true
		case "encrypted":
			return []string{strconv.FormatBool(v.encrypted)}, true
		case "availability-zone":
			return []string{v.az}, true
		case "create-time":
			return []string{formatTime(v.created)}, true
		case "attachment.instance-id":
			if att == nil {
				return nil, true
			}
			return []string{att.instanceID}, true
		case "attachment.device":
			if att == nil {
				return nil, true
			}
			return []string{att.device}, true
		case "attachment.status":
			if att == nil {
				return nil, true
			}
			return []string{"attached"}, true
		case "attachment.delete-on-termination":
			if att == nil {
				return nil, true
			}
			return []string{strconv.FormatBool(att.deleteOnTermination)}, true
		}
		return nil, false
	}
}

func deleteVolume(c *call) (any, *apiError) {
	id := c.params.get("VolumeId")
	if id == "" {
		return nil, missing("VolumeId")
	}
	if !volumeIDPattern.MatchString(id) {
		return nil, newError("InvalidVolumeID.Malformed", "Invalid id: \"%s\" (expecting \"vol-...\")", id)
	}
	v := c.region.volumes[id]
	if v == nil {
		return nil, notFound("volume", []string{id})
	}
	if v.attachment != nil {
		return nil, newError("VolumeInUse", "Volume %s is currently attached to %s", id, v.attachment.instanceID)
	}
	delete(c.region.volumes, id)
	return &returnResponse{Return: true}, nil
}

// The XML of snapshots and volumes.

type snapshotXML struct {
	SnapshotID  string          `xml:"snapshotId"`
	VolumeID    string          `xml:"volumeId"`
	Status      string          `xml:"status"`
	StartTime   string          `xml:"startTime"`
	Progress    string          `xml:"progress"`
	OwnerID     string          `xml:"ownerId"`
	OwnerAlias  string          `xml:"ownerAlias,omitempty"`
	VolumeSize  int             `xml:"volumeSize"`
	Description string          `xml:"description"`
	Encrypted   bool            `xml:"encrypted"`
	KmsKeyID    string          `xml:"kmsKeyId,omitempty"`
	Tags        itemSet[tagXML] `xml:"tagSet"`
	StorageTier string          `xml:"storageTier"`
}

type describeSnapshotsResponse struct {
	Snapshots itemSet[snapshotXML] `xml:"snapshotSet"`
	NextToken string               `xml:"nextToken,omitempty"`
}

func snapshotToXML(sn *snapshot) snapshotXML {
	return snapshotXML{
		SnapshotID: sn.id, VolumeID: sn.volumeID, Status: sn.state, StartTime: formatTime(sn.started),
		Progress: snapshotProgress(sn), OwnerID: sn.owner, OwnerAlias: sn.alias, VolumeSize: sn.size,
		Description: sn.description, Encrypted: sn.encrypted, KmsKeyID: sn.kmsKeyID, Tags: tagSet(sn.tags),
		StorageTier: "standard",
	}
}

type volumeAttachmentXML struct {
	VolumeID            string `xml:"volumeId"`
	InstanceID          string `xml:"instanceId"`
	Device              string `xml:"device"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type volumeXML struct {
	VolumeID           string                       `xml:"volumeId"`
	Size               int                          `xml:"size"`
	SnapshotID         string                       `xml:"snapshotId"`
	AvailabilityZone   string                       `xml:"availabilityZone"`
	Status             string                       `xml:"status"`
	CreateTime         string                       `xml:"createTime"`
	Attachments        itemSet[volumeAttachmentXML] `xml:"attachmentSet"`
	Tags               itemSet[tagXML]              `xml:"tagSet"`
	VolumeType         string                       `xml:"volumeType"`
	Iops               int                          `xml:"iops,omitempty"`
	Throughput         int                          `xml:"throughput,omitempty"`
	Encrypted          bool                         `xml:"encrypted"`
	KmsKeyID           string                       `xml:"kmsKeyId,omitempty"`
	MultiAttachEnabled bool                         `xml:"multiAttachEnabled"`
}

type describeVolumesResponse struct {
	Volumes   itemSet[volumeXML] `xml:"volumeSet"`
	NextToken string             `xml:"nextToken,omitempty"`
}

func volumeToXML(v *volume) volumeXML {
	x := volumeXML{
		VolumeID: v.id, Size: v.size, SnapshotID: v.snapshotID, AvailabilityZone: v.az, Status: v.state,
		CreateTime: formatTime(v.created), Tags: tagSet(v.tags), VolumeType: v.volumeType, Iops: v.iops,
		Throughput: v.throughput, Encrypted: v.encrypted, KmsKeyID: v.kmsKeyID,
	}
	if a := v.attachment; a != nil {
		x.Attachments.Items = []volumeAttachmentXML{{
			VolumeID: v.id, InstanceID: a.instanceID, Device: a.device, Status: "attached",
			AttachTime: formatTime(a.attached), DeleteOnTermination: a.deleteOnTermination,
		}}
	}
	return x
}
