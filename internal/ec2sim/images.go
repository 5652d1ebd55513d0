package ec2sim

import (
	"cmp"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// image is an AMI: its block device mappings name snapshots, and the root
// snapshot holds the tree its instances start from.
type image struct {
	seq          uint64
	id           string
	name         string
	description  string
	owner        string
	alias        string // "amazon" for Amazon's images
	architecture string
	state        string // pending, available, failed
	stateReason  *stateReasonXML
	next         *transition
	created      time.Time
	rootDevice   string
	mappings     []imageMapping // the root device first
	tags         map[string]string
	perms        []LaunchPermission
	imds         string // "v2.0": instances require IMDSv2 by default
	imageBoot
	sourceImage    string // for copies
	sourceRegion   string
	sourceInstance string // for images made by CreateImage
	lastLaunched   time.Time
	// deprecateAt is when the image is (or was) deprecated; zero when it
	// is not to be.
	deprecateAt time.Time
	// deregistered images are kept so that describing one by id answers
	// nothing rather than an error, as EC2 does for a while.
	deregistered bool
	hidden       int // a fault: describe calls that will not see it yet
}

func (im *image) order() uint64 { return im.seq }

type imageMapping struct {
	device              string
	snapshotID          string
	size                int
	volumeType          string
	deleteOnTermination bool
	encrypted           bool
	kmsKeyID            string
	iops, throughput    int // as the volume had them; 0 where its type has none
}

// LaunchPermission is who, besides its owner, may launch an image: one of
// an account, all (a public image), an organization or an organizational
// unit.
type LaunchPermission struct {
	UserID                string `json:"userId,omitempty"`
	Group                 string `json:"group,omitempty"`
	OrganizationArn       string `json:"organizationArn,omitempty"`
	OrganizationalUnitArn string `json:"organizationalUnitArn,omitempty"`
}

func (im *image) public() bool {
	for _, p := range im.perms {
		if p.Group == "all" {
			return true
		}
	}
	return false
}

// visible: the caller may see and launch the image.
func (im *image) visible() bool {
	if im.deregistered {
		return false
	}
	if im.owner == Account || im.public() {
		return true
	}
	for _, p := range im.perms {
		if p.UserID == Account {
			return true
		}
	}
	return false
}

// imageNamed is owner's registered image called name: names are unique
// per owner and region.
func (r *region) imageNamed(owner, name string) *image {
	for _, im := range r.images {
		if !im.deregistered && im.owner == owner && im.name == name {
			return im
		}
	}
	return nil
}

var (
	imageIDPattern   = regexp.MustCompile(`^ami-[0-9a-f]{8}([0-9a-f]{9})?$`)
	imageNamePattern = regexp.MustCompile(`^[a-zA-Z0-9()\[\] ./\-'@_]{3,128}$`)
	orgARNPattern    = regexp.MustCompile(`^arn:aws[a-z-]*:organizations::\d{12}:organization/o-[a-z0-9]{10,32}$`)
	ouARNPattern     = regexp.MustCompile(`^arn:aws[a-z-]*:organizations::\d{12}:ou/o-[a-z0-9]{10,32}/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$`)
)

func checkImageName(name string) *apiError {
	if !imageNamePattern.MatchString(name) {
		return newError("InvalidAMIName.Malformed", "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_' (%q)", name)
	}
	return nil
}

func checkImageID(id string) *apiError {
	if !imageIDPattern.MatchString(id) {
		return newError("InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", id)
	}
	return nil
}

// checkOwner checks an Owner of DescribeImages or DescribeSnapshots.
func checkOwner(o string) *apiError {
	switch o {
	case "self", "amazon", "aws-marketplace", "aws-backup-vault":
		return nil
	}
	if !accountID.MatchString(o) {
		return newError("InvalidUserID.Malformed", "Invalid user id: \"%s\"", o)
	}
	return nil
}

// ownedBy reports whether a resource of owner (and alias) is one of owners.
func ownedBy(owners []string, owner, alias string) bool {
	for _, o := range owners {
		switch {
		case o == "self" && owner == Account,
			o == owner,
			alias != "" && o == alias:
			return true
		}
	}
	return false
}

// ownImage finds one of the caller's registered images.
func (c *call) ownImage(id string) (*image, *apiError) {
	if id == "" {
		return nil, missing("ImageId")
	}
	if err := checkImageID(id); err != nil {
		return nil, err
	}
	im := c.region.images[id]
	if im == nil || !im.visible() {
		return nil, notFound("image", []string{id})
	}
	if im.owner != Account {
		return nil, unauthorized()
	}
	return im, nil
}

// attributeImage is the image Describe- or ModifyImageAttribute names:
// one the caller sees, and owns (AuthFailure otherwise, as EC2 answers for
// a public image of another account).
func (c *call) attributeImage(id string) (*image, *apiError) {
	im, err := c.ownImage(id)
	if err != nil && err.Code == unauthorized().Code {
		return nil, newError("AuthFailure", "Not authorized for image:%s", id)
	}
	return im, err
}

// launchableImage is the image RunInstances names.
func (c *call) launchableImage(id string) (*image, *apiError) {
	if err := checkImageID(id); err != nil {
		return nil, err
	}
	im := c.region.images[id]
	if im == nil || !im.visible() {
		return nil, notFound("image", []string{id})
	}
	if im.state != "available" {
		return nil, newError("InvalidAMIID.Unavailable", "The image id '[%s]' is not available (it is %s)", id, im.state)
	}
	im.lastLaunched = c.now
	return im, nil
}

func (c *call) advanceImage(im *image) {
	if !c.ready(im.next) {
		return
	}
	im.state, im.next = im.next.to, nil
	if im.state == "failed" {
		im.stateReason = &stateReasonXML{Code: "Server.InternalError", Message: "Server.InternalError: Internal error (a fault of the simulator)"}
	}
}

func createImage(c *call) (any, *apiError) {
	p, r, s := c.params, c.region, c.sim
	instanceID := p.get("InstanceId")
	if instanceID == "" {
		return nil, missing("InstanceId")
	}
	name := p.get("Name")
	if name == "" {
		return nil, missing("Name")
	}
	if err := checkImageName(name); err != nil {
		return nil, err
	}
	ins, err := c.instancesNamed([]string{instanceID})
	if err != nil {
		return nil, err
	}
	in := ins[0]
	if in.state != "running" && in.state != "stopped" {
		return nil, newError("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be imaged (it is %s).", in.id, in.state)
	}
	if other := r.imageNamed(Account, name); other != nil {
		return nil, newError("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", name, other.id)
	}
	specs, err := p.tagSpecs("image", "snapshot")
	if err != nil {
		return nil, err
	}
	noReboot, _, err := p.boolean("NoReboot")
	if err != nil {
		return nil, err
	}
	suppressed := map[string]bool{}
	for _, m := range p.members("BlockDeviceMapping") {
		if m.has("NoDevice") {
			suppressed[m.get("DeviceName")] = true
		}
	}
	// What each volume holds now: the image is what the instance held at
	// this call, whatever happens to it while its tree is copied.
	type source struct {
		volumeID string
		mapping  imageMapping // without its snapshot yet
	}
	var sources []source
	for i, d := range in.devices {
		if v := r.volumes[d.volumeID]; v != nil && !(suppressed[d.device] && i > 0) {
			sources = append(sources, source{v.id, imageMapping{
				device: d.device, size: v.size, volumeType: v.volumeType,
				deleteOnTermination: d.deleteOnTermination, encrypted: v.encrypted, kmsKeyID: v.kmsKeyID,
				iops: mappingIops(v.volumeType, v.iops), throughput: mappingThroughput(v.volumeType, v.throughput),
			}})
		}
	}
	if len(sources) == 0 || sources[0].mapping.device != in.devices[0].device {
		return nil, internalError(fmt.Errorf("instance %s has no root volume", in.id))
	}
	// The root volume's content is the instance's tree, copied with the
	// lock released.
	rootSnap := newID("snap-")
	rootDir := filepath.Join(s.dir, "snapshots", rootSnap)
	if err := c.copyTree(in.dir, rootDir); err != nil {
		return nil, internalError(fmt.Errorf("snapshotting %s: %w", in.id, err))
	}
	// The call takes effect when it answers: an instance terminated while
	// its tree was copied was terminated first.
	if in.state == "shutting-down" || in.state == "terminated" {
		s.removeTree(rootDir)
		return nil, newError("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be imaged (it is %s).", in.id, in.state)
	}
	if other := r.imageNamed(Account, name); other != nil {
		s.removeTree(rootDir)
		return nil, newError("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", name, other.id)
	}
	im := &image{
		seq: s.nextSeq(), id: newID("ami-"), name: name, description: p.get("Description"),
		owner: Account, architecture: in.architecture, state: "pending", created: c.now,
		rootDevice: rootDevice, tags: cloneTags(specs["image"]), sourceInstance: in.id,
	}
	if parent := r.images[in.imageID]; parent != nil {
		im.imds, im.imageBoot = parent.imds, parent.imageBoot
	}
	fails := s.takeFault(FaultImageFails, r.name) != nil
	for i, src := range sources {
		m := src.mapping
		sn := &snapshot{
			seq: s.nextSeq(), id: newID("snap-"), volumeID: src.volumeID, owner: Account, state: "pending",
			description: fmt.Sprintf("Created by CreateImage(%s) for %s", in.id, im.id),
			encrypted:   m.encrypted, kmsKeyID: m.kmsKeyID, size: m.size, started: c.now, tags: cloneTags(specs["snapshot"]),
		}
		if i == 0 {
			sn.id, sn.dir = rootSnap, rootDir
		}
		sn.next = c.startTransition(choose(fails, "error", "completed"), imageDelay)
		r.snapshots[sn.id] = sn
		m.snapshotID = sn.id
		im.mappings = append(im.mappings, m)
	}
	im.next = c.startTransition(choose(fails, "failed", "available"), imageDelay)
	if !noReboot && in.state == "running" {
		// EC2 reboots the instance to image it: its sessions end.
		s.rebootSSH(in)
	}
	im.hidden = s.lateVisibility(r.name, "CreateImage")
	r.images[im.id] = im
	return &imageIDResponse{ImageID: im.id}, nil
}

func choose(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}

func copyImage(c *call) (any, *apiError) {
	p, r, s := c.params, c.region, c.sim
	srcRegionName := p.get("SourceRegion")
	if srcRegionName == "" {
		return nil, missing("SourceRegion")
	}
	srcID := p.get("SourceImageId")
	if srcID == "" {
		return nil, missing("SourceImageId")
	}
	name := p.get("Name")
	if name == "" {
		return nil, missing("Name")
	}
	if err := checkImageName(name); err != nil {
		return nil, err
	}
	token := p.get("ClientToken")
	if id, ok := r.copyTokens[token]; ok && token != "" {
		return &imageIDResponse{ImageID: id}, nil
	}
	srcRegion := s.regions[srcRegionName]
	if srcRegion == nil {
		return nil, invalidValue("SourceRegion", srcRegionName)
	}
	if err := checkImageID(srcID); err != nil {
		return nil, err
	}
	src := srcRegion.images[srcID]
	if src == nil || !src.visible() {
		return nil, notFound("image", []string{srcID})
	}
	if src.state != "available" {
		return nil, newError("IncorrectState", "Image %s is not in a valid state for copying (it is %s)", srcID, src.state)
	}
	encrypted, _, err := p.boolean("Encrypted")
	if err != nil {
		return nil, err
	}
	kms := p.get("KmsKeyId")
	if kms != "" && !encrypted {
		return nil, newError("InvalidParameterDependency", "The parameter KmsKeyId requires the parameter Encrypted to be set.")
	}
	copyTags, _, err := p.boolean("CopyImageTags")
	if err != nil {
		return nil, err
	}
	specs, err := p.tagSpecs("image", "snapshot")
	if err != nil {
		return nil, err
	}
	if other := r.imageNamed(Account, name); other != nil {
		return nil, newError("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", name, other.id)
	}
	description := p.get("Description")
	if !p.has("Description") {
		description = fmt.Sprintf("[Copied %s from %s] %s", srcID, srcRegionName, src.description)
	}
	// The trees first, with the lock released; then the copy's records.
	dirs := map[string]string{} // source snapshot: the copy's tree
	undo := func() {
		for _, dir := range dirs {
			s.removeTree(dir)
		}
	}
	for _, m := range src.mappings {
		if from := srcRegion.snapshots[m.snapshotID]; from != nil && from.dir != "" {
			dir := filepath.Join(s.dir, "snapshots", newID("snap-"))
			if err := c.copyTree(from.dir, dir); err != nil {
				undo()
				return nil, internalError(fmt.Errorf("copying %s: %w", m.snapshotID, err))
			}
			dirs[m.snapshotID] = dir
		}
	}
	if id, ok := r.copyTokens[token]; ok && token != "" {
		undo()
		return &imageIDResponse{ImageID: id}, nil
	}
	if other := r.imageNamed(Account, name); other != nil {
		undo()
		return nil, newError("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", name, other.id)
	}
	im := &image{
		seq: s.nextSeq(), id: newID("ami-"), name: name, description: description, owner: Account,
		architecture: src.architecture, state: "pending", created: c.now, rootDevice: src.rootDevice,
		tags: map[string]string{}, imds: src.imds, imageBoot: src.imageBoot, sourceImage: srcID, sourceRegion: srcRegionName,
	}
	if copyTags {
		for k, v := range src.tags {
			im.tags[k] = v
		}
	}
	if err := addTags(im.tags, specs["image"]); err != nil {
		undo()
		return nil, err
	}
	fails := s.takeFault(FaultCopyFails, r.name) != nil
	for _, m := range src.mappings {
		sn := &snapshot{
			seq: s.nextSeq(), id: newID("snap-"), volumeID: "vol-ffffffff", owner: Account, state: "pending",
			size: m.size, started: c.now, tags: cloneTags(specs["snapshot"]),
			encrypted: m.encrypted || encrypted, dir: dirs[m.snapshotID],
			description: fmt.Sprintf("Copied for DestinationAmi %s from SourceAmi %s for SourceSnapshot %s. Task created on %d.",
				im.id, srcID, m.snapshotID, c.now.UnixMilli()),
		}
		switch {
		case kms != "":
			sn.kmsKeyID = kmsKeyARN(r.name, kms)
		case sn.encrypted:
			sn.kmsKeyID = defaultKMSKey(r.name)
		}
		sn.next = c.startTransition(choose(fails, "error", "completed"), copyDelay)
		r.snapshots[sn.id] = sn
		im.mappings = append(im.mappings, imageMapping{
			device: m.device, snapshotID: sn.id, size: m.size, volumeType: m.volumeType,
			deleteOnTermination: m.deleteOnTermination, encrypted: sn.encrypted, kmsKeyID: sn.kmsKeyID,
			iops: m.iops, throughput: m.throughput,
		})
	}
	im.next = c.startTransition(choose(fails, "failed", "available"), copyDelay)
	im.hidden = s.lateVisibility(r.name, "CopyImage")
	r.images[im.id] = im
	if token != "" {
		r.copyTokens[token] = im.id
	}
	return &imageIDResponse{ImageID: im.id}, nil
}

func deregisterImage(c *call) (any, *apiError) {
	im, err := c.ownImage(c.params.get("ImageId"))
	if err != nil {
		return nil, err
	}
	deleteSnapshots, _, err := c.params.boolean("DeleteAssociatedSnapshots")
	if err != nil {
		return nil, err
	}
	im.deregistered, im.next = true, nil
	out := &deregisterImageResponse{Return: true}
	if deleteSnapshots {
		for _, m := range im.mappings {
			sn := c.region.snapshots[m.snapshotID]
			code := "success"
			switch {
			case sn == nil:
				code = "missing-permissions"
			case !sn.visible():
				code = "missing-permissions"
			case c.region.snapshotUser(sn.id) != nil:
				code = "skipped"
			default:
				c.removeSnapshot(sn)
			}
			out.Results.Items = append(out.Results.Items, snapshotResultXML{SnapshotID: m.snapshotID, ReturnCode: code})
		}
	}
	return out, nil
}

func describeImages(c *call) (any, *apiError) {
	// What was made too recently to be seen is seen one call later.
	defer func() {
		for _, im := range c.region.images {
			im.hidden = max(im.hidden-1, 0)
		}
	}()
	p, r := c.params, c.region
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	if err := checkFilters(fs, c.imageField(&image{})); err != nil {
		return nil, err
	}
	owners := p.list("Owner")
	for _, o := range owners {
		if err := checkOwner(o); err != nil {
			return nil, err
		}
	}
	executableBy := p.list("ExecutableBy")
	includeDeprecated, _, err := p.boolean("IncludeDeprecated")
	if err != nil {
		return nil, err
	}
	var candidates []*image
	if ids := p.list("ImageId"); len(ids) > 0 {
		var missingIDs []string
		for _, id := range ids {
			if err := checkImageID(id); err != nil {
				return nil, err
			}
			im := r.images[id]
			switch {
			case im != nil && im.deregistered:
				// Recently deregistered: no error, no image.
			case im == nil || !im.visible() || im.hidden > 0:
				missingIDs = append(missingIDs, id)
			default:
				candidates = append(candidates, im)
			}
		}
		if len(missingIDs) > 0 {
			return nil, notFound("image", missingIDs)
		}
	} else {
		for _, im := range byOrder(r.images) {
			if im.visible() && im.hidden == 0 {
				candidates = append(candidates, im)
			}
		}
	}
	var found []imageXML
	for _, im := range candidates {
		if len(owners) > 0 && !ownedBy(owners, im.owner, im.alias) {
			continue
		}
		if len(executableBy) > 0 && !executableByAny(im, executableBy) {
			continue
		}
		// Others' deprecated images are left out unless asked for, by
		// IncludeDeprecated or by id; the owner sees its own always.
		if im.deprecated(c.now) && im.owner != Account && !includeDeprecated && len(p.list("ImageId")) == 0 {
			continue
		}
		if matches(fs, im.tags, c.imageField(im)) {
			found = append(found, imageToXML(im))
		}
	}
	page, next, err := paginate(p, found)
	if err != nil {
		return nil, err
	}
	return &describeImagesResponse{Images: items(page), NextToken: next}, nil
}

// executableByAny: the image's launch permissions name one of users
// ("all" for public images, "self" for the caller).
func executableByAny(im *image, users []string) bool {
	for _, u := range users {
		for _, p := range im.perms {
			switch {
			case u == "all" && p.Group == "all",
				u == "self" && p.UserID == Account,
				p.UserID != "" && p.UserID == u:
				return true
			}
		}
	}
	return false
}

// imageField gives an image's values for DescribeImages' filters: every
// one EC2 documents. Those about what the simulator's images never have
// (kernels, product codes, watermarks, Inspector scans, Windows…) have no
// value, and match nothing.
func (c *call) imageField(im *image) fieldFunc {
	return func(name string) ([]string, bool) {
		one := func(v string) ([]string, bool) {
			if v == "" {
				return nil, true
			}
			return []string{v}, true
		}
		each := func(f func(m imageMapping) string) ([]string, bool) {
			var out []string
			for _, m := range im.mappings {
				out = append(out, f(m))
			}
			return out, true
		}
		switch name {
		case "image-id":
			return one(im.id)
		case "name":
			return one(im.name)
		case "description":
			return one(im.description)
		case "architecture":
			return one(im.architecture)
		case "state":
			return one(im.state)
		case "owner-id":
			return one(im.owner)
		case "owner-alias":
			if im.alias == "" {
				return nil, true
			}
			return one(im.alias)
		case "is-public":
			return one(strconv.FormatBool(im.public()))
		case "image-type":
			return one("machine")
		case "root-device-type":
			return one("ebs")
		case "root-device-name":
			return one(im.rootDevice)
		case "virtualization-type":
			return one("hvm")
		case "hypervisor":
			return one("xen")
		case "ena-support":
			return one(strconv.FormatBool(!im.noENA))
		case "creation-date":
			return one(formatTime(im.created))
		case "imds-support":
			return one(im.imds)
		case "platform-details":
			return one("Linux/UNIX")
		case "usage-operation":
			return one("RunInstances")
		case "source-image-id":
			return one(im.sourceImage)
		case "source-image-region":
			return one(im.sourceRegion)
		case "source-instance-id":
			return one(im.sourceInstance)
		case "state-reason-code":
			if im.stateReason == nil {
				return nil, true
			}
			return one(im.stateReason.Code)
		case "state-reason-message":
			if im.stateReason == nil {
				return nil, true
			}
			return one(im.stateReason.Message)
		case "block-device-mapping.snapshot-id":
			return each(func(m imageMapping) string { return m.snapshotID })
		case "block-device-mapping.device-name":
			return each(func(m imageMapping) string { return m.device })
		case "block-device-mapping.volume-size":
			return each(func(m imageMapping) string { return strconv.Itoa(m.size) })
		case "block-device-mapping.volume-type":
			return each(func(m imageMapping) string { return m.volumeType })
		case "block-device-mapping.encrypted":
			return each(func(m imageMapping) string { return strconv.FormatBool(m.encrypted) })
		case "block-device-mapping.delete-on-termination":
			return each(func(m imageMapping) string { return strconv.FormatBool(m.deleteOnTermination) })
		case "boot-mode":
			// Its own, or the one its instances boot in (see README).
			return one(cmp.Or(im.bootMode, instanceBootMode(im, im.architecture)))
		case "free-tier-eligible":
			return one(strconv.FormatBool(im.alias == "amazon"))
		case "image-allowed":
			return one("true") // no Allowed AMIs settings
		case "manifest-location":
			return one(imageLocation(im))
		case "sriov-net-support":
			return one("simple")
		case "public-ssm-parameter-name":
			return c.publicParametersOf(im.id), true
		case "image-watermark.source-image-creation-time", "image-watermark.source-image-id",
			"image-watermark.source-image-region", "image-watermark.watermark-creation-time",
			"image-watermark.watermark-key", "instance-type-specification.supported-instance-type",
			"instance-type-specification.unsupported-instance-type", "kernel-id", "platform", "product-code",
			"product-code.type", "ramdisk-id", "scan-result.critical-fix-available-since",
			"scan-result.finding-scan-date", "scan-result.high-fix-available-since",
			"scan-result.highest-finding-severity-label", "scan-result.informational-fix-available-since",
			"scan-result.low-fix-available-since", "scan-result.medium-fix-available-since":
			return nil, true
		}
		return nil, false
	}
}

func modifyImageAttribute(c *call) (any, *apiError) {
	p := c.params
	im, err := c.attributeImage(p.get("ImageId"))
	if err != nil {
		return nil, err
	}
	read := func(m params) LaunchPermission {
		return LaunchPermission{UserID: m.get("UserId"), Group: m.get("Group"),
			OrganizationArn: m.get("OrganizationArn"), OrganizationalUnitArn: m.get("OrganizationalUnitArn")}
	}
	var add, remove []LaunchPermission
	for _, m := range p.members("LaunchPermission.Add") {
		add = append(add, read(m))
	}
	for _, m := range p.members("LaunchPermission.Remove") {
		remove = append(remove, read(m))
	}
	// The older form: Attribute=launchPermission, OperationType and lists.
	var legacy []LaunchPermission
	for _, u := range p.list("UserId") {
		legacy = append(legacy, LaunchPermission{UserID: u})
	}
	for _, g := range p.list("UserGroup") {
		legacy = append(legacy, LaunchPermission{Group: g})
	}
	for _, a := range p.list("OrganizationArn") {
		legacy = append(legacy, LaunchPermission{OrganizationArn: a})
	}
	for _, a := range p.list("OrganizationalUnitArn") {
		legacy = append(legacy, LaunchPermission{OrganizationalUnitArn: a})
	}
	if len(legacy) > 0 {
		attr := p.get("Attribute")
		if attr != "" && attr != "launchPermission" {
			return nil, newError("InvalidParameterCombination", "Attribute %s does not take user ids, groups or organizations", attr)
		}
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
	description, hasDescription := p.get("Description.Value"), p.has("Description.Value")
	if p.get("Attribute") == "description" && p.has("Value") {
		description, hasDescription = p.get("Value"), true
	}
	hasImds, ierr := modifyImds(p)
	if ierr != nil {
		return nil, ierr
	}
	if len(add) == 0 && len(remove) == 0 && !hasDescription && !hasImds {
		return nil, newError("InvalidParameterCombination", "No attributes specified.")
	}
	for _, lp := range append(append([]LaunchPermission(nil), add...), remove...) {
		if err := checkLaunchPermission(lp); err != nil {
			return nil, err
		}
	}
	wasPublic := im.public()
	for _, lp := range add {
		if !hasPermission(im.perms, lp) {
			im.perms = append(im.perms, lp)
		}
	}
	if !wasPublic && im.public() {
		// A public image is deprecated two years after its creation at
		// the latest.
		if limit := im.created.Add(maxPublicDeprecation).UTC(); im.deprecateAt.IsZero() || im.deprecateAt.After(limit) {
			im.deprecateAt = limit
		}
	}
	for _, lp := range remove {
		kept := im.perms[:0]
		for _, have := range im.perms {
			if have != lp {
				kept = append(kept, have)
			}
		}
		im.perms = kept
	}
	if hasDescription {
		im.description = description
	}
	if hasImds {
		im.imds = "v2.0"
	}
	return &returnResponse{Return: true}, nil
}

func hasPermission(perms []LaunchPermission, lp LaunchPermission) bool {
	for _, p := range perms {
		if p == lp {
			return true
		}
	}
	return false
}

func checkLaunchPermission(lp LaunchPermission) *apiError {
	bad := func(v, kind string) *apiError {
		return newError("InvalidAMIAttributeItemValue", "Invalid attribute item value \"%s\" for %s item type.", v, kind)
	}
	set := 0
	for _, v := range []string{lp.UserID, lp.Group, lp.OrganizationArn, lp.OrganizationalUnitArn} {
		if v != "" {
			set++
		}
	}
	switch {
	case set != 1:
		return newError("InvalidParameterCombination", "A launch permission names exactly one of UserId, Group, OrganizationArn and OrganizationalUnitArn")
	case lp.UserID != "" && !accountID.MatchString(lp.UserID):
		return bad(lp.UserID, "userId")
	case lp.Group != "" && lp.Group != "all":
		return bad(lp.Group, "group")
	case lp.OrganizationArn != "" && !orgARNPattern.MatchString(lp.OrganizationArn):
		return bad(lp.OrganizationArn, "organizationArn")
	case lp.OrganizationalUnitArn != "" && !ouARNPattern.MatchString(lp.OrganizationalUnitArn):
		return bad(lp.OrganizationalUnitArn, "organizationalUnitArn")
	}
	return nil
}

func describeImageAttribute(c *call) (any, *apiError) {
	p := c.params
	attr := p.get("Attribute")
	if attr == "" {
		return nil, missing("Attribute")
	}
	im, err := c.attributeImage(p.get("ImageId"))
	if err != nil {
		return nil, err
	}
	out := &imageAttributeResponse{ImageID: im.id}
	switch attr {
	case "launchPermission":
		set := itemSet[launchPermissionXML]{}
		for _, lp := range im.perms {
			set.Items = append(set.Items, launchPermissionXML(lp))
		}
		out.LaunchPermissions = &set
	case "description":
		out.Description = &valueXML{Value: im.description}
	case "blockDeviceMapping":
		set := items(imageToXML(im).BlockDevices.Items)
		out.BlockDevices = &set
	case "imdsSupport":
		out.ImdsSupport = &valueXML{Value: im.imds}
	case "bootMode":
		out.BootMode = &valueXML{Value: im.bootMode}
	case "tpmSupport":
		out.TpmSupport = &valueXML{Value: im.tpm}
	case "lastLaunchedTime":
		v := ""
		if !im.lastLaunched.IsZero() {
			v = formatTime(im.lastLaunched)
		}
		out.LastLaunched = &valueXML{Value: v}
	case "deregistrationProtection":
		out.DeregistrationProtection = &valueXML{Value: "disabled"}
	case "kernel", "ramdisk", "productCodes", "sriovNetSupport", "uefiData":
		// Attributes an image of the simulator never has.
	default:
		return nil, newError("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	return out, nil
}

// The XML of images.

type ebsXML struct {
	SnapshotID          string `xml:"snapshotId,omitempty"`
	VolumeSize          int    `xml:"volumeSize"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
	VolumeType          string `xml:"volumeType"`
	Encrypted           bool   `xml:"encrypted"`
	KmsKeyID            string `xml:"kmsKeyId,omitempty"`
	Iops                int    `xml:"iops,omitempty"`
	Throughput          int    `xml:"throughput,omitempty"`
}

type blockDeviceXML struct {
	DeviceName string  `xml:"deviceName"`
	Ebs        *ebsXML `xml:"ebs,omitempty"`
}

type imageXML struct {
	ImageID                  string                  `xml:"imageId"`
	ImageLocation            string                  `xml:"imageLocation"`
	ImageState               string                  `xml:"imageState"`
	ImageOwnerID             string                  `xml:"imageOwnerId"`
	CreationDate             string                  `xml:"creationDate"`
	IsPublic                 bool                    `xml:"isPublic"`
	Architecture             string                  `xml:"architecture"`
	ImageType                string                  `xml:"imageType"`
	ImageOwnerAlias          string                  `xml:"imageOwnerAlias,omitempty"`
	Name                     string                  `xml:"name"`
	Description              string                  `xml:"description,omitempty"`
	RootDeviceType           string                  `xml:"rootDeviceType"`
	RootDeviceName           string                  `xml:"rootDeviceName"`
	BlockDevices             itemSet[blockDeviceXML] `xml:"blockDeviceMapping"`
	VirtualizationType       string                  `xml:"virtualizationType"`
	Tags                     itemSet[tagXML]         `xml:"tagSet"`
	Hypervisor               string                  `xml:"hypervisor"`
	EnaSupport               bool                    `xml:"enaSupport"`
	PlatformDetails          string                  `xml:"platformDetails"`
	UsageOperation           string                  `xml:"usageOperation"`
	StateReason              *stateReasonXML         `xml:"stateReason,omitempty"`
	ImdsSupport              string                  `xml:"imdsSupport,omitempty"`
	BootMode                 string                  `xml:"bootMode,omitempty"`
	TpmSupport               string                  `xml:"tpmSupport,omitempty"`
	SourceImageID            string                  `xml:"sourceImageId,omitempty"`
	SourceImageRegion        string                  `xml:"sourceImageRegion,omitempty"`
	SourceInstanceID         string                  `xml:"sourceInstanceId,omitempty"`
	LastLaunchedTime         string                  `xml:"lastLaunchedTime,omitempty"`
	DeregistrationProtection string                  `xml:"deregistrationProtection"`
	DeprecationTime          string                  `xml:"deprecationTime,omitempty"`
}

type describeImagesResponse struct {
	Images    itemSet[imageXML] `xml:"imagesSet"`
	NextToken string            `xml:"nextToken,omitempty"`
}

type imageIDResponse struct {
	ImageID string `xml:"imageId"`
}

type snapshotResultXML struct {
	SnapshotID string `xml:"snapshotId"`
	ReturnCode string `xml:"returnCode"`
}

type deregisterImageResponse struct {
	Return  bool                       `xml:"return"`
	Results itemSet[snapshotResultXML] `xml:"deleteSnapshotResultSet"`
}

type launchPermissionXML struct {
	UserID                string `xml:"userId,omitempty"`
	Group                 string `xml:"group,omitempty"`
	OrganizationArn       string `xml:"organizationArn,omitempty"`
	OrganizationalUnitArn string `xml:"organizationalUnitArn,omitempty"`
}

type imageAttributeResponse struct {
	ImageID                  string                        `xml:"imageId"`
	LaunchPermissions        *itemSet[launchPermissionXML] `xml:"launchPermission,omitempty"`
	Description              *valueXML                     `xml:"description,omitempty"`
	BlockDevices             *itemSet[blockDeviceXML]      `xml:"blockDeviceMapping,omitempty"`
	ImdsSupport              *valueXML                     `xml:"imdsSupport,omitempty"`
	BootMode                 *valueXML                     `xml:"bootMode,omitempty"`
	TpmSupport               *valueXML                     `xml:"tpmSupport,omitempty"`
	LastLaunched             *valueXML                     `xml:"lastLaunchedTime,omitempty"`
	DeregistrationProtection *valueXML                     `xml:"deregistrationProtection,omitempty"`
}

// imageLocation is where EC2 says an EBS-backed image lies: its owner's
// alias or id, and its name.
func imageLocation(im *image) string {
	owner := im.owner
	if im.alias != "" {
		owner = im.alias
	}
	return owner + "/" + im.name
}

func imageToXML(im *image) imageXML {
	x := imageXML{
		ImageID: im.id, ImageLocation: imageLocation(im), ImageState: im.state, ImageOwnerID: im.owner,
		CreationDate: formatTime(im.created), IsPublic: im.public(), Architecture: im.architecture,
		ImageType: "machine", ImageOwnerAlias: im.alias, Name: im.name, Description: im.description,
		RootDeviceType: "ebs", RootDeviceName: im.rootDevice, VirtualizationType: "hvm", Tags: tagSet(im.tags),
		Hypervisor: "xen", EnaSupport: !im.noENA, BootMode: im.bootMode, TpmSupport: im.tpm, PlatformDetails: "Linux/UNIX", UsageOperation: "RunInstances",
		StateReason: im.stateReason, ImdsSupport: im.imds, SourceImageID: im.sourceImage,
		SourceImageRegion: im.sourceRegion, SourceInstanceID: im.sourceInstance, DeregistrationProtection: "disabled",
	}
	if !im.lastLaunched.IsZero() {
		x.LastLaunchedTime = formatTime(im.lastLaunched)
	}
	if !im.deprecateAt.IsZero() {
		x.DeprecationTime = formatTime(im.deprecateAt)
	}
	for _, m := range im.mappings {
		x.BlockDevices.Items = append(x.BlockDevices.Items, blockDeviceXML{DeviceName: m.device, Ebs: &ebsXML{
			SnapshotID: m.snapshotID, VolumeSize: m.size, DeleteOnTermination: m.deleteOnTermination,
			VolumeType: m.volumeType, Encrypted: m.encrypted, KmsKeyID: m.kmsKeyID,
			Iops: m.iops, Throughput: m.throughput,
		}})
	}
	return x
}

// publicParametersOf names the public SSM parameters (/aws/service/…)
// whose value is the image's id. (EC2 also finds images a parameter named
// before; the simulator knows the current values only.)
func (c *call) publicParametersOf(id string) []string {
	var out []string
	for _, pm := range byOrder(c.region.params) {
		if pm.public && pm.value == id {
			out = append(out, pm.name)
		}
	}
	return out
}
