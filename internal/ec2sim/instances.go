package ec2sim

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// instance is an EC2 instance: a directory copied from its image's root
// snapshot, a loopback address, and an SSH server while it runs.
type instance struct {
	seq          uint64
	id           string
	reservation  string
	imageID      string
	instanceType string
	architecture string
	keyName      string
	clientToken  string
	launchIndex  int
	groups       []string
	state        string
	reason       string // why it last stopped or terminated, as EC2 words it
	stateReason  *stateReasonXML
	next         *transition
	launched     time.Time
	terminated   time.Time
	subnet       *subnet
	public       netip.Addr // while pending or running
	private      netip.Addr // until terminated
	eni          *networkInterface
	booted       time.Time   // when it last reached running: its console's time
	checks       *transition // its status checks, under way once it runs
	checksOK     bool        // its status checks passed
	metadata     metadataOptions
	bootMode     string           // currentInstanceBootMode
	tpm          string           // the image's NitroTPM support: "v2.0" or none
	noENA        bool             // the image does not support ENA
	profile      *instanceProfile // IAM's; nil: none
	userData     string           // base64, as given
	spot         *spotOptions     // nil: on demand
	devices      []attachment     // the root device first
	tags         map[string]string

	dir        string        // the root filesystem, the root volume's content
	authorized ssh.PublicKey // the key pair's key; nil: no key pair
	hostKey    ssh.Signer
	neverBoots bool // a fault: it stays pending
	hidden     int  // a fault: describe calls that will not see it yet
	sshFaults  sshFaults
	server     *sshServer   // while running
	closing    []*sshServer // stopped servers whose sessions may still be ending
	sshErr     string       // why the SSH server could not listen
	noPublicIP bool         // launched with AssociatePublicIpAddress false
}

func (in *instance) order() uint64 { return in.seq }

type attachment struct {
	device              string
	volumeID            string
	deleteOnTermination bool
	attached            time.Time
}

type metadataOptions struct {
	state        string // pending until the instance runs, then applied
	httpTokens   string
	httpEndpoint string
	hopLimit     int
	instanceTags string
	protocolIPv6 string
}

// stateCode is the code EC2 gives each instance state.
func stateCode(state string) int {
	switch state {
	case "pending":
		return 0
	case "running":
		return 16
	case "shutting-down":
		return 32
	case "terminated":
		return 48
	case "stopping":
		return 64
	case "stopped":
		return 80
	}
	return -1
}

const rootDevice = "/dev/xvda"

var (
	instanceIDPattern = regexp.MustCompile(`^i-[0-9a-f]{8}([0-9a-f]{9})?$`)
	eniIDPattern      = regexp.MustCompile(`^eni-[0-9a-f]{8}([0-9a-f]{9})?$`)
)

func runInstances(c *call) (any, *apiError) {
	p, r := c.params, c.region
	imageID := p.get("ImageId")
	if imageID == "" {
		return nil, missing("ImageId")
	}
	minCount, minSet, err := p.integer("MinCount")
	if err != nil {
		return nil, err
	}
	maxCount, maxSet, err := p.integer("MaxCount")
	if err != nil {
		return nil, err
	}
	if !minSet {
		return nil, missing("MinCount")
	}
	if !maxSet {
		return nil, missing("MaxCount")
	}
	if minCount < 1 || maxCount < minCount {
		return nil, newError("InvalidParameterValue", "Invalid value '%d' for MaxCount: MinCount must be at least 1 and at most MaxCount", maxCount)
	}
	if maxCount > 20 {
		return nil, newError("InstanceLimitExceeded", "Your quota allows for 20 more running instance(s). You requested at least %d", maxCount)
	}
	token := p.get("ClientToken")
	if rid, ok := r.runTokens[token]; ok && token != "" {
		// The same ClientToken: the same launch, as EC2 answers a retry.
		return c.reservation(rid, r.reservationInstances(rid)), nil
	}

	img, err := c.launchableImage(imageID)
	if err != nil {
		return nil, err
	}
	instanceType := p.get("InstanceType")
	if instanceType == "" {
		instanceType = "m1.small"
	}
	if _, err := launchType(instanceType, img); err != nil {
		return nil, err
	}
	var authorized ssh.PublicKey
	keyName := p.get("KeyName")
	if keyName != "" {
		kp := r.keyPairs[keyName]
		if kp == nil {
			return nil, notFound("key pair", []string{keyName})
		}
		authorized = kp.publicKey
	}
	sn, groups, noPublicIP, err := c.launchPlacement()
	if err != nil {
		return nil, err
	}
	metadata, err := launchMetadata(p.sub("MetadataOptions"), img)
	if err != nil {
		return nil, err
	}
	profile, err := c.launchProfile()
	if err != nil {
		return nil, err
	}
	userData, err := c.launchUserData()
	if err != nil {
		return nil, err
	}
	spot, err := c.launchMarket()
	if err != nil {
		return nil, err
	}
	devices, err := c.planDevices(img)
	if err != nil {
		return nil, err
	}
	specs, err := p.tagSpecs("instance", "volume", "network-interface")
	if err != nil {
		return nil, err
	}

	root := r.snapshots[img.mappings[0].snapshotID]
	if root == nil || root.dir == "" {
		return nil, internalError(fmt.Errorf("image %s has no root snapshot", img.id))
	}
	// The trees first, without the lock; then the instances.
	ids := make([]string, maxCount)
	dirs := make([]string, maxCount)
	undo := func(n int) {
		for _, dir := range dirs[:n] {
			c.sim.removeTree(dir)
		}
	}
	for i := range ids {
		ids[i] = newID("i-")
		dirs[i] = filepath.Join(c.sim.dir, "instances", ids[i])
		if err := c.copyTree(root.dir, dirs[i]); err != nil {
			undo(i)
			return nil, internalError(fmt.Errorf("copying the root filesystem of %s: %w", img.id, err))
		}
	}
	if rid, ok := r.runTokens[token]; ok && token != "" {
		// The same launch finished while the trees were copied.
		undo(maxCount)
		return c.reservation(rid, r.reservationInstances(rid)), nil
	}
	rid := newID("r-")
	var launched []*instance
	for i := range ids {
		in, err := c.launch(ids[i], dirs[i], img, sn, noPublicIP, devices, specs)
		if err != nil {
			undo(maxCount)
			for _, in := range launched {
				c.sim.freeAddr(in.public)
				c.sim.freeAddr(in.private)
				for _, d := range in.devices {
					delete(r.volumes, d.volumeID)
				}
				delete(r.instances, in.id)
			}
			return nil, err
		}
		in.reservation, in.launchIndex, in.instanceType = rid, i, instanceType
		in.keyName, in.authorized, in.groups, in.clientToken = keyName, authorized, groups, token
		in.metadata, in.profile, in.userData, in.spot = metadata, profile, userData, spot
		in.bootMode, in.tpm, in.noENA = instanceBootMode(img, img.architecture), img.tpm, img.noENA
		launched = append(launched, in)
	}
	if token != "" {
		r.runTokens[token] = rid
	}
	if late := c.sim.lateVisibility(r.name, "RunInstances"); late > 0 {
		for _, in := range launched {
			in.hidden = late
		}
	}
	return c.reservation(rid, launched), nil
}

// reservationInstances are the instances one RunInstances launched.
func (r *region) reservationInstances(rid string) []*instance {
	var out []*instance
	for _, in := range byOrder(r.instances) {
		if in.reservation == rid {
			out = append(out, in)
		}
	}
	return out
}

// launch makes one pending instance of img on the tree dir: its volumes,
// address and host key.
func (c *call) launch(id, dir string, img *image, sn *subnet, noPublicIP bool, devices []devicePlan, specs map[string]map[string]string) (*instance, *apiError) {
	s, r := c.sim, c.region
	in := &instance{
		seq: s.nextSeq(), id: id, dir: dir, imageID: img.id, architecture: img.architecture,
		state: "pending", launched: c.now, tags: cloneTags(specs["instance"]), subnet: sn, noPublicIP: noPublicIP,
	}
	var err error
	if in.private, err = s.allocPrivate(sn); err != nil {
		return nil, newError("InsufficientFreeAddressesInSubnet", "There are not enough free addresses in subnet '%s' to satisfy the requested number of instances.", sn.id)
	}
	if !noPublicIP {
		if in.public, err = s.allocPublic(); err != nil {
			s.freeAddr(in.private)
			return nil, internalError(err)
		}
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err == nil {
		in.hostKey, err = ssh.NewSignerFromKey(key)
	}
	if err != nil {
		s.freeAddr(in.public)
		s.freeAddr(in.private)
		return nil, internalError(err)
	}
	in.eni = newNetworkInterface(in, c.now, specs["network-interface"])
	for _, d := range devices {
		v := &volume{
			seq: s.nextSeq(), id: newID("vol-"), size: d.size, volumeType: d.volumeType,
			encrypted: d.encrypted, kmsKeyID: d.kmsKeyID, az: sn.zone.name, state: "in-use",
			created: c.now, tags: cloneTags(specs["volume"]), iops: d.iops, throughput: d.throughput,
			attachment: &volumeAttachment{instanceID: in.id, device: d.device, attached: c.now, deleteOnTermination: d.deleteOnTermination},
		}
		if d.snapshot != nil {
			v.snapshotID = d.snapshot.id
		}
		r.volumes[v.id] = v
		in.devices = append(in.devices, attachment{device: d.device, volumeID: v.id, deleteOnTermination: d.deleteOnTermination, attached: c.now})
	}
	in.neverBoots = s.takeFault(FaultInstanceNeverBoots, r.name) != nil
	in.sshFaults = s.takeSSHFaults(r.name)
	if !in.neverBoots {
		in.next = c.startTransition("running", bootDelay)
	}
	r.instances[in.id] = in
	return in, nil
}

// launchGroups are the security groups RunInstances names (by id or by
// name), or the default group.
func (c *call) launchGroups() ([]string, *apiError) {
	r := c.region
	var ids []string
	for _, id := range c.params.list("SecurityGroupId") {
		g := r.groups[id]
		if g == nil {
			return nil, newError("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", id, r.vpc.id)
		}
		ids = append(ids, id)
	}
	for _, name := range c.params.list("SecurityGroup") {
		g := r.groupNamed(name)
		if g == nil {
			return nil, newError("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, r.vpc.id)
		}
		ids = append(ids, g.id)
	}
	if len(ids) == 0 {
		ids = append(ids, r.groupNamed("default").id)
	}
	return ids, nil
}

// launchMetadata reads MetadataOptions; the defaults follow the image
// (an image that supports only IMDSv2 requires tokens).
func launchMetadata(p params, img *image) (metadataOptions, *apiError) {
	m := metadataOptions{state: "pending", httpTokens: "optional", httpEndpoint: "enabled", hopLimit: 1, instanceTags: "disabled", protocolIPv6: "disabled"}
	if img.imds == "v2.0" {
		m.httpTokens, m.hopLimit = "required", 2
	}
	choose := func(name string, dst *string, allowed ...string) *apiError {
		v := p.get(name)
		if v == "" {
			return nil
		}
		for _, a := range allowed {
			if v == a {
				*dst = v
				return nil
			}
		}
		return newError("InvalidParameterValue", "Value (%s) for parameter %s is invalid. Valid values are: %s", v, name, strings.Join(allowed, ", "))
	}
	for _, err := range []*apiError{
		choose("HttpTokens", &m.httpTokens, "optional", "required"),
		choose("HttpEndpoint", &m.httpEndpoint, "enabled", "disabled"),
		choose("InstanceMetadataTags", &m.instanceTags, "enabled", "disabled"),
		choose("HttpProtocolIpv6", &m.protocolIPv6, "enabled", "disabled"),
	} {
		if err != nil {
			return m, err
		}
	}
	if n, set, err := p.integer("HttpPutResponseHopLimit"); err != nil {
		return m, err
	} else if set {
		if n < 1 || n > 64 {
			return m, newError("InvalidParameterValue", "Value (%d) for parameter HttpPutResponseHopLimit is invalid. Valid values are between 1 and 64.", n)
		}
		m.hopLimit = n
	}
	return m, nil
}

// devicePlan is a volume RunInstances will create.
type devicePlan struct {
	device              string
	snapshot            *snapshot // nil: an empty volume
	size                int
	volumeType          string
	encrypted           bool
	kmsKeyID            string
	deleteOnTermination bool
	iops, throughput    int
	// iopsSet, throughputSet: the request gave them, so the volume type
	// must take them.
	iopsSet, throughputSet bool
}

var volumeTypes = []string{"gp3", "gp2", "io1", "io2", "st1", "sc1", "standard"}

// planDevices applies RunInstances' BlockDeviceMapping to the image's.
func (c *call) planDevices(img *image) ([]devicePlan, *apiError) {
	r := c.region
	var plans []devicePlan
	for _, m := range img.mappings {
		plans = append(plans, devicePlan{
			device: m.device, snapshot: r.snapshots[m.snapshotID], size: m.size, volumeType: m.volumeType,
			encrypted: m.encrypted, kmsKeyID: m.kmsKeyID, deleteOnTermination: m.deleteOnTermination,
			iops: m.iops, throughput: m.throughput,
		})
	}
	for _, m := range c.params.members("BlockDeviceMapping") {
		device := m.get("DeviceName")
		if device == "" {
			return nil, missing("BlockDeviceMapping.DeviceName")
		}
		at := -1
		for i := range plans {
			if plans[i].device == device {
				at = i
			}
		}
		if m.has("NoDevice") {
			if at == 0 {
				return nil, newError("InvalidBlockDeviceMapping", "The device '%s' is the root device of the image and cannot be suppressed", device)
			}
			if at > 0 {
				plans = append(plans[:at], plans[at+1:]...)
			}
			continue
		}
		if !m.has("Ebs.VolumeSize") && !m.has("Ebs.SnapshotId") && at < 0 && !m.has("Ebs.VolumeType") && !m.has("Ebs.Encrypted") {
			continue // an ephemeral (VirtualName) device: nothing to create
		}
		plan := devicePlan{device: device, volumeType: "gp3", deleteOnTermination: true}
		if at >= 0 {
			plan = plans[at]
		}
		if err := c.applyEbs(m.sub("Ebs"), &plan); err != nil {
			return nil, err
		}
		if err := checkDevice(device, at == 0); err != nil {
			return nil, err
		}
		if at >= 0 {
			plans[at] = plan
		} else {
			plans = append(plans, plan)
		}
	}
	for i := range plans {
		d := &plans[i]
		if err := checkVolumePlan(d); err != nil {
			return nil, err
		}
		if d.encrypted && d.kmsKeyID == "" {
			d.kmsKeyID = defaultKMSKey(r.name)
		}
		switch d.volumeType {
		case "gp3":
			d.iops, d.throughput = max(d.iops, 3000), max(d.throughput, 125)
		case "gp2":
			d.iops = max(100, 3*d.size)
		}
	}
	return plans, nil
}

func (c *call) applyEbs(e params, d *devicePlan) *apiError {
	if id := e.get("SnapshotId"); id != "" {
		sn := c.region.snapshots[id]
		if sn == nil || !sn.visible() {
			return notFound("snapshot", []string{id})
		}
		d.snapshot, d.size, d.encrypted, d.kmsKeyID = sn, sn.size, sn.encrypted, sn.kmsKeyID
	}
	if size, set, err := e.integer("VolumeSize"); err != nil {
		return err
	} else if set {
		if size < 1 || size > 65536 {
			return newError("InvalidParameterValue", "Volume size %d is out of range (1-65536 GiB)", size)
		}
		if d.snapshot != nil && size < d.snapshot.size {
			return newError("InvalidBlockDeviceMapping", "Volume of size %dGB is smaller than snapshot '%s', expect size >= %dGB", size, d.snapshot.id, d.snapshot.size)
		}
		d.size = size
	}
	if d.size == 0 {
		return newError("InvalidBlockDeviceMapping", "The volume size must be specified for device '%s' (it has no snapshot)", d.device)
	}
	if t := e.get("VolumeType"); t != "" {
		ok := false
		for _, v := range volumeTypes {
			ok = ok || v == t
		}
		if !ok {
			return newError("InvalidParameterValue", "Value (%s) for parameter volumeType is invalid. Valid values are: %s", t, strings.Join(volumeTypes, ", "))
		}
		d.volumeType = t
	}
	enc, encSet, err := e.boolean("Encrypted")
	if err != nil {
		return err
	}
	if kms := e.get("KmsKeyId"); kms != "" {
		if !enc {
			return newError("InvalidParameterDependency", "The parameter KmsKeyId requires the parameter Encrypted to be set.")
		}
		d.kmsKeyID = kmsKeyARN(c.region.name, kms)
	}
	if encSet && enc {
		d.encrypted = true
	}
	if dot, set, err := e.boolean("DeleteOnTermination"); err != nil {
		return err
	} else if set {
		d.deleteOnTermination = dot
	}
	if n, set, err := e.integer("Iops"); err != nil {
		return err
	} else if set {
		d.iops, d.iopsSet = n, true
	}
	if n, set, err := e.integer("Throughput"); err != nil {
		return err
	} else if set {
		d.throughput, d.throughputSet = n, true
	}
	return nil
}

// defaultKMSKey is the region's aws/ebs key, which encrypts volumes and
// snapshots that name no key.
func defaultKMSKey(regionName string) string {
	id := stableID("", "aws/ebs "+regionName)
	id = id[:8] + "-" + id[8:12] + "-4" + id[12:15] + "-8" + id[15:17] + "0-" + stableID("", regionName)[:12]
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", regionName, Account, id)
}

// kmsKeyARN is how EC2 reports a KMS key it was given: as an ARN.
func kmsKeyARN(regionName, key string) string {
	switch {
	case strings.HasPrefix(key, "arn:"):
		return key
	case strings.HasPrefix(key, "alias/"):
		return fmt.Sprintf("arn:aws:kms:%s:%s:%s", regionName, Account, key)
	}
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", regionName, Account, key)
}

// advanceInstance moves an instance on when its transition is due.
func (c *call) advanceInstance(in *instance) {
	if in.state == "terminated" && c.now.Sub(in.terminated) > terminatedVisible {
		delete(c.region.instances, in.id)
		return
	}
	if c.ready(in.checks) {
		in.checks, in.checksOK = nil, true
	}
	if !c.ready(in.next) {
		return
	}
	to := in.next.to
	in.next = nil
	switch to {
	case "running":
		in.state = "running"
		in.metadata.state = "applied"
		in.booted = c.now
		in.checks = c.startTransition("ok", statusDelay)
		c.sim.startSSH(in)
	case "stopped":
		in.state = "stopped"
		// EC2 releases a stopped instance's public address.
		c.sim.freeAddr(in.public)
		in.public = netip.Addr{}
	case "terminated":
		c.finishTermination(in)
	}
}

// finishTermination deletes what a terminated instance leaves: its tree,
// its address, and the volumes that go with it.
func (c *call) finishTermination(in *instance) {
	s, r := c.sim, c.region
	in.state = "terminated"
	in.terminated = c.now
	for _, srv := range in.closing {
		srv.wait()
	}
	in.closing = nil
	s.removeTree(in.dir)
	s.freeAddr(in.public)
	s.freeAddr(in.private)
	in.public, in.private = netip.Addr{}, netip.Addr{}
	for _, d := range in.devices {
		v := r.volumes[d.volumeID]
		if v == nil {
			continue
		}
		if d.deleteOnTermination {
			delete(r.volumes, v.id)
		} else {
			v.state, v.attachment = "available", nil
		}
	}
	in.devices = nil
}

// instancesNamed finds every id or fails for all of them, as EC2 does.
func (c *call) instancesNamed(ids []string) ([]*instance, *apiError) {
	if len(ids) == 0 {
		return nil, missing("InstanceId")
	}
	var out []*instance
	var missingIDs []string
	for _, id := range ids {
		if !instanceIDPattern.MatchString(id) {
			return nil, newError("InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
		}
		in := c.region.instances[id]
		if in == nil {
			missingIDs = append(missingIDs, id)
			continue
		}
		out = append(out, in)
	}
	if len(missingIDs) > 0 {
		return nil, notFound("instance", missingIDs)
	}
	return out, nil
}

func describeInstances(c *call) (any, *apiError) {
	p := c.params
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	if err := checkFilters(fs, c.instanceField(&instance{})); err != nil {
		return nil, err
	}
	// What was made too recently to be seen is seen one call later.
	defer func() {
		for _, in := range c.region.instances {
			in.hidden = max(in.hidden-1, 0)
		}
	}()
	var candidates []*instance
	if ids := p.list("InstanceId"); len(ids) > 0 {
		if p.has("MaxResults") {
			return nil, newError("InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
		}
		if candidates, err = c.instancesNamed(ids); err != nil {
			return nil, err
		}
		var hidden []string
		for _, in := range candidates {
			if in.hidden > 0 {
				hidden = append(hidden, in.id)
			}
		}
		if len(hidden) > 0 {
			return nil, notFound("instance", hidden)
		}
	} else {
		candidates = byOrder(c.region.instances)
	}
	var found []*instance
	for _, in := range candidates {
		if in.hidden == 0 && matches(fs, in.tags, c.instanceField(in)) {
			found = append(found, in)
		}
	}
	page, next, err := paginate(p, found)
	if err != nil {
		return nil, err
	}
	// Instances are described by reservation, in launch order.
	var rids []string
	byRes := map[string][]*instance{}
	for _, in := range page {
		if byRes[in.reservation] == nil {
			rids = append(rids, in.reservation)
		}
		byRes[in.reservation] = append(byRes[in.reservation], in)
	}
	out := &describeInstancesResponse{NextToken: next}
	for _, rid := range rids {
		out.Reservations.Items = append(out.Reservations.Items, c.reservation(rid, byRes[rid]).reservationXML)
	}
	return out, nil
}

// instanceField gives an instance's values for DescribeInstances'
// filters: every one EC2 documents. Those about features the simulator
// does not have (Elastic IPs, IPv6, Outposts, capacity reservations,
// dedicated hosts, product codes…) have no value, and match nothing.
func (c *call) instanceField(in *instance) fieldFunc {
	r := c.region
	field := func(name string) ([]string, bool) {
		one := func(v string) ([]string, bool) {
			if v == "" {
				return nil, true
			}
			return []string{v}, true
		}
		devices := func(f func(attachment) string) ([]string, bool) {
			var out []string
			for _, d := range in.devices {
				out = append(out, f(d))
			}
			return out, true
		}
		zone, subnetID, eniID, mac, attachID, attached := "", "", "", "", "", ""
		zoneID := ""
		if in.subnet != nil {
			zone, zoneID, subnetID = in.subnet.zone.name, in.subnet.zone.id, in.subnet.id
		}
		if in.eni != nil {
			eniID, mac, attachID, attached = in.eni.id, in.eni.mac, in.eni.attachmentID, formatTime(in.eni.attached)
		}
		live := in.state != "terminated" // what a terminated instance no longer shows
		public := publicIP(in)
		switch name {
		case "instance-id":
			return one(in.id)
		case "instance-state-name":
			return one(in.state)
		case "instance-state-code":
			return one(strconv.Itoa(stateCode(in.state)))
		case "image-id":
			return one(in.imageID)
		case "instance-type":
			return one(in.instanceType)
		case "key-name":
			return one(in.keyName)
		case "reservation-id":
			return one(in.reservation)
		case "architecture":
			return one(in.architecture)
		case "client-token":
			return one(in.clientToken)
		case "owner-id":
			return one(Account)
		case "launch-index":
			return one(strconv.Itoa(in.launchIndex))
		case "launch-time":
			return one(formatTime(in.launched))
		case "reason":
			return one(in.reason)
		case "state-reason-code":
			if in.stateReason == nil {
				return nil, true
			}
			return one(in.stateReason.Code)
		case "state-reason-message":
			if in.stateReason == nil {
				return nil, true
			}
			return one(in.stateReason.Message)
		case "vpc-id":
			if !live {
				return nil, true
			}
			return one(r.vpc.id)
		case "subnet-id":
			if !live {
				return nil, true
			}
			return one(subnetID)
		case "availability-zone", "placement.availability-zone":
			return one(zone)
		case "availability-zone-id":
			return one(zoneID)
		case "tenancy":
			return one("default")
		case "private-ip-address", "network-interface.addresses.private-ip-address", "network-interface.private-ip-address":
			return one(privateIP(in))
		case "private-dns-name", "network-interface.addresses.private-dns-name", "network-interface.private-dns-name":
			return one(privateDNS(r.name, privateIP(in)))
		case "ip-address", "network-interface.addresses.association.public-ip", "network-interface.association.public-ip":
			return one(public)
		case "dns-name", "network-interface.addresses.association.public-dns-name", "network-interface.association.public-dns-name",
			"network-interface.public-dns-name":
			return one(publicDNS(r.name, public))
		case "network-interface.addresses.association.ip-owner-id", "network-interface.association.ip-owner-id":
			if public == "" {
				return nil, true
			}
			return one("amazon")
		case "network-interface.addresses.primary":
			return one("true")
		case "network-interface.attachment.attach-time":
			return one(attached)
		case "network-interface.attachment.attachment-id":
			return one(attachID)
		case "network-interface.attachment.delete-on-termination":
			return one("true")
		case "network-interface.attachment.device-index", "network-interface.attachment.network-card-index":
			return one("0")
		case "network-interface.attachment.instance-id":
			return one(in.id)
		case "network-interface.attachment.instance-owner-id", "network-interface.owner-id":
			return one(Account)
		case "network-interface.attachment.status":
			return one("attached")
		case "network-interface.availability-zone":
			return one(zone)
		case "network-interface.deny-all-igw-traffic", "network-interface.ipv6-native",
			"network-interface.requester-managed", "network-interface.operator.managed":
			return one("false")
		case "network-interface.description":
			return []string{""}, true
		case "network-interface.group-id":
			return in.groups, true
		case "network-interface.group-name":
			return c.groupNames(in.groups), true
		case "network-interface.mac-address":
			return one(mac)
		case "network-interface.network-interface-id":
			return one(eniID)
		case "network-interface.source-dest-check", "source-dest-check":
			return one("true")
		case "network-interface.status":
			return one("in-use")
		case "network-interface.subnet-id":
			return one(subnetID)
		case "network-interface.vpc-id":
			return one(r.vpc.id)
		case "network-interface.tag-key":
			if in.eni == nil {
				return nil, true
			}
			return slices.Sorted(maps.Keys(in.eni.tags)), true
		case "network-interface.tag-value":
			if in.eni == nil {
				return nil, true
			}
			return slices.Collect(maps.Values(in.eni.tags)), true
		case "network-interface.addresses.association.allocation-id", "network-interface.addresses.association.association-id",
			"network-interface.addresses.association.carrier-ip", "network-interface.addresses.association.customer-owned-ip",
			"network-interface.association.allocation-id", "network-interface.association.association-id",
			"network-interface.association.carrier-ip", "network-interface.association.customer-owned-ip",
			"network-interface.ipv4-prefixes.ipv4-prefix", "network-interface.ipv6-address",
			"network-interface.ipv6-addresses.ipv6-address", "network-interface.ipv6-addresses.is-primary-ipv6",
			"network-interface.ipv6-prefixes.ipv6-prefix", "network-interface.operator.principal",
			"network-interface.outpost-arn", "network-interface.requester-id":
			return nil, true // no Elastic IP, IPv6, prefix, Outpost or managing service
		case "root-device-type":
			return one("ebs")
		case "root-device-name":
			return one(rootDevice)
		case "block-device-mapping.volume-id":
			return devices(func(d attachment) string { return d.volumeID })
		case "block-device-mapping.device-name":
			return devices(func(d attachment) string { return d.device })
		case "block-device-mapping.attach-time":
			return devices(func(d attachment) string { return formatTime(d.attached) })
		case "block-device-mapping.delete-on-termination":
			return devices(func(d attachment) string { return strconv.FormatBool(d.deleteOnTermination) })
		case "block-device-mapping.status":
			return devices(func(attachment) string { return deviceStatus(in) })
		case "metadata-options.http-tokens":
			return one(in.metadata.httpTokens)
		case "metadata-options.http-endpoint":
			return one(in.metadata.httpEndpoint)
		case "instance-lifecycle":
			return one(in.lifecycle())
		case "spot-instance-request-id":
			return one(in.spotRequestID())
		case "iam-instance-profile.arn":
			if in.profile == nil {
				return nil, true
			}
			return one(in.profile.arn())
		case "metadata-options.http-protocol-ipv4":
			return one("enabled")
		case "metadata-options.http-protocol-ipv6":
			return one(in.metadata.protocolIPv6)
		case "metadata-options.http-put-response-hop-limit":
			return one(strconv.Itoa(in.metadata.hopLimit))
		case "metadata-options.instance-metadata-tags":
			return one(in.metadata.instanceTags)
		case "metadata-options.state":
			return one(in.metadata.state)
		case "instance.group-id", "group-id":
			return in.groups, true
		case "instance.group-name", "group-name":
			return c.groupNames(in.groups), true
		case "boot-mode", "current-instance-boot-mode":
			return one(in.bootMode)
		case "tpm-support":
			if in.tpm == "" {
				return nil, true
			}
			return one(in.tpm)
		case "capacity-reservation-specification.capacity-reservation-preference":
			return one("open")
		case "ebs-optimized", "enclave-options.enabled", "hibernation-options.configured", "operator.managed",
			"private-dns-name-options.enable-resource-name-dns-a-record",
			"private-dns-name-options.enable-resource-name-dns-aaaa-record":
			return one("false")
		case "ena-support":
			return one(strconv.FormatBool(!in.noENA))
		case "hypervisor":
			return one("xen")
		case "virtualization-type":
			return one("hvm")
		case "maintenance-options.auto-recovery", "network-performance-options.bandwidth-weighting":
			return one("default")
		case "monitoring-state":
			return one("disabled")
		case "platform-details":
			return one("Linux/UNIX")
		case "usage-operation":
			return one("RunInstances")
		case "usage-operation-update-time":
			return one(formatTime(in.launched))
		case "private-dns-name-options.hostname-type":
			return one("ip-name")
		case "affinity", "capacity-reservation-id", "host-id", "iam-instance-profile.id",
			"ipv6-address", "kernel-id", "operator.principal", "outpost-arn",
			"placement-group-name", "placement-partition-number", "platform", "product-code", "product-code.type",
			"ramdisk-id", "requester-id":
			// Dedicated hosts, instance profile ids, IPv6, kernels,
			// Outposts, placement groups, Windows, product codes,
			// NitroTPM: an instance of the simulator has none of these.
			return nil, true
		}
		return nil, false
	}
	return func(name string) ([]string, bool) {
		values, known := field(name)
		if known && in.state == "terminated" && strings.HasPrefix(name, "network-interface.") {
			return nil, true // a terminated instance has no interface
		}
		return values, known
	}
}

// deviceStatus is how an instance's volumes are attached.
func deviceStatus(in *instance) string {
	if in.state == "pending" {
		return "attaching"
	}
	return "attached"
}

// privateIP is shown until an instance is terminated.
func privateIP(in *instance) string {
	if in.state == "terminated" || !in.private.IsValid() {
		return ""
	}
	return in.private.String()
}

// publicIP is shown while an instance is pending or running, as EC2
// releases an instance's public address when it stops (and gives it
// another when it starts again).
func publicIP(in *instance) string {
	if (in.state == "pending" || in.state == "running") && in.public.IsValid() && !in.noPublicIP {
		return in.public.String()
	}
	return ""
}

func dnsLabel(addr string) string { return strings.ReplaceAll(addr, ".", "-") }

func stopInstances(c *call) (any, *apiError) {
	ins, err := c.instancesNamed(c.params.list("InstanceId"))
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		switch in.state {
		case "pending", "shutting-down", "terminated":
			return nil, newError("IncorrectInstanceState", "This instance '%s' is not in a state from which it can be stopped.", in.id)
		}
		if err := in.stoppable(); err != nil {
			return nil, err
		}
	}
	return c.changeStates(ins, func(in *instance) {
		if in.state != "running" {
			return
		}
		in.state = "stopping"
		in.reason = fmt.Sprintf("User initiated (%s GMT)", c.now.UTC().Format("2006-01-02 15:04:05"))
		in.stateReason = &stateReasonXML{Code: "Client.UserInitiatedShutdown", Message: "Client.UserInitiatedShutdown: User initiated shutdown"}
		c.sim.stopSSH(in)
		in.checks, in.checksOK = nil, false
		in.next = c.startTransition("stopped", stopDelay)
	}), nil
}

func startInstances(c *call) (any, *apiError) {
	ins, err := c.instancesNamed(c.params.list("InstanceId"))
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		switch in.state {
		case "stopping", "shutting-down", "terminated":
			return nil, newError("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be started.", in.id)
		}
	}
	// A stopped instance gets a new public address as it starts.
	for _, in := range ins {
		if in.state == "stopped" && !in.public.IsValid() && !in.noPublicIP {
			a, err := c.sim.allocPublic()
			if err != nil {
				return nil, internalError(err)
			}
			in.public = a
		}
	}
	return c.changeStates(ins, func(in *instance) {
		if in.state != "stopped" {
			return
		}
		in.state, in.reason, in.stateReason = "pending", "", nil
		in.metadata.state = "pending"
		if !in.neverBoots {
			in.next = c.startTransition("running", bootDelay)
		}
	}), nil
}

func terminateInstances(c *call) (any, *apiError) {
	ins, err := c.instancesNamed(c.params.list("InstanceId"))
	if err != nil {
		return nil, err
	}
	return c.changeStates(ins, func(in *instance) {
		if in.state == "shutting-down" || in.state == "terminated" {
			return
		}
		in.state = "shutting-down"
		in.reason = fmt.Sprintf("User initiated (%s GMT)", c.now.UTC().Format("2006-01-02 15:04:05"))
		in.stateReason = &stateReasonXML{Code: "Client.UserInitiatedShutdown", Message: "Client.UserInitiatedShutdown: User initiated shutdown"}
		c.sim.stopSSH(in)
		in.checks, in.checksOK = nil, false
		in.next = c.startTransition("terminated", terminateDelay)
	}), nil
}

// changeStates applies change to each instance and answers with each
// one's previous and current state.
func (c *call) changeStates(ins []*instance, change func(*instance)) *stateChangesResponse {
	out := &stateChangesResponse{}
	for _, in := range ins {
		prev := in.state
		change(in)
		out.Instances.Items = append(out.Instances.Items, stateChangeXML{
			InstanceID:    in.id,
			CurrentState:  stateXML{Code: stateCode(in.state), Name: in.state},
			PreviousState: stateXML{Code: stateCode(prev), Name: prev},
		})
	}
	return out
}

// The XML of instances.

type stateXML struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type groupXML struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type placementXML struct {
	AvailabilityZone string `xml:"availabilityZone"`
	GroupName        string `xml:"groupName"`
	Tenancy          string `xml:"tenancy"`
}

type monitoringXML struct {
	State string `xml:"state"`
}

type instanceEbsXML struct {
	VolumeID            string `xml:"volumeId"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type instanceDeviceXML struct {
	DeviceName string         `xml:"deviceName"`
	Ebs        instanceEbsXML `xml:"ebs"`
}

type metadataXML struct {
	State        string `xml:"state"`
	HTTPTokens   string `xml:"httpTokens"`
	HopLimit     int    `xml:"httpPutResponseHopLimit"`
	HTTPEndpoint string `xml:"httpEndpoint"`
	ProtocolIPv6 string `xml:"httpProtocolIpv6"`
	InstanceTags string `xml:"instanceMetadataTags"`
}

type instanceXML struct {
	InstanceID         string                        `xml:"instanceId"`
	ImageID            string                        `xml:"imageId"`
	State              stateXML                      `xml:"instanceState"`
	PrivateDNSName     string                        `xml:"privateDnsName"`
	DNSName            string                        `xml:"dnsName"`
	Reason             string                        `xml:"reason"`
	KeyName            string                        `xml:"keyName,omitempty"`
	LaunchIndex        int                           `xml:"amiLaunchIndex"`
	ProductCodes       itemSet[struct{}]             `xml:"productCodes"`
	InstanceType       string                        `xml:"instanceType"`
	LaunchTime         string                        `xml:"launchTime"`
	Placement          placementXML                  `xml:"placement"`
	Monitoring         monitoringXML                 `xml:"monitoring"`
	SubnetID           string                        `xml:"subnetId,omitempty"`
	VpcID              string                        `xml:"vpcId,omitempty"`
	PrivateIP          string                        `xml:"privateIpAddress,omitempty"`
	PublicIP           string                        `xml:"ipAddress,omitempty"`
	SourceDestCheck    bool                          `xml:"sourceDestCheck"`
	Groups             itemSet[groupXML]             `xml:"groupSet"`
	StateReason        *stateReasonXML               `xml:"stateReason,omitempty"`
	Architecture       string                        `xml:"architecture"`
	RootDeviceType     string                        `xml:"rootDeviceType"`
	RootDeviceName     string                        `xml:"rootDeviceName"`
	BlockDevices       itemSet[instanceDeviceXML]    `xml:"blockDeviceMapping"`
	VirtualizationType string                        `xml:"virtualizationType"`
	ClientToken        string                        `xml:"clientToken"`
	Tags               itemSet[tagXML]               `xml:"tagSet"`
	Hypervisor         string                        `xml:"hypervisor"`
	EbsOptimized       bool                          `xml:"ebsOptimized"`
	EnaSupport         bool                          `xml:"enaSupport"`
	MetadataOptions    metadataXML                   `xml:"metadataOptions"`
	IamInstanceProfile *instanceProfileXML           `xml:"iamInstanceProfile,omitempty"`
	InstanceLifecycle  string                        `xml:"instanceLifecycle,omitempty"`
	SpotRequestID      string                        `xml:"spotInstanceRequestId,omitempty"`
	PlatformDetails    string                        `xml:"platformDetails"`
	UsageOperation     string                        `xml:"usageOperation"`
	BootMode           string                        `xml:"currentInstanceBootMode"`
	NetworkInterfaces  itemSet[instanceInterfaceXML] `xml:"networkInterfaceSet"`
}

type reservationXML struct {
	ReservationID string               `xml:"reservationId"`
	OwnerID       string               `xml:"ownerId"`
	Groups        itemSet[groupXML]    `xml:"groupSet"`
	Instances     itemSet[instanceXML] `xml:"instancesSet"`
}

type runInstancesResponse struct {
	reservationXML
}

type describeInstancesResponse struct {
	Reservations itemSet[reservationXML] `xml:"reservationSet"`
	NextToken    string                  `xml:"nextToken,omitempty"`
}

type stateChangeXML struct {
	InstanceID    string   `xml:"instanceId"`
	CurrentState  stateXML `xml:"currentState"`
	PreviousState stateXML `xml:"previousState"`
}

type stateChangesResponse struct {
	Instances itemSet[stateChangeXML] `xml:"instancesSet"`
}

func (c *call) reservation(rid string, ins []*instance) *runInstancesResponse {
	out := &runInstancesResponse{reservationXML{ReservationID: rid, OwnerID: Account}}
	for _, in := range ins {
		out.Instances.Items = append(out.Instances.Items, c.instanceXML(in))
	}
	return out
}

func (c *call) instanceXML(in *instance) instanceXML {
	r := c.region
	zone := ""
	if in.subnet != nil {
		zone = in.subnet.zone.name
	}
	x := instanceXML{
		InstanceID: in.id, ImageID: in.imageID,
		State:  stateXML{Code: stateCode(in.state), Name: in.state},
		Reason: in.reason, KeyName: in.keyName, LaunchIndex: in.launchIndex,
		InstanceType: in.instanceType, LaunchTime: formatTime(in.launched),
		Placement:   placementXML{AvailabilityZone: zone, Tenancy: "default"},
		Monitoring:  monitoringXML{State: "disabled"},
		StateReason: in.stateReason, Architecture: in.architecture,
		RootDeviceType: "ebs", RootDeviceName: rootDevice, VirtualizationType: "hvm",
		ClientToken: in.clientToken, Tags: tagSet(in.tags), Hypervisor: "xen",
		EnaSupport: !in.noENA, PlatformDetails: "Linux/UNIX", UsageOperation: "RunInstances",
		BootMode: in.bootMode, IamInstanceProfile: in.profile.xml(),
		InstanceLifecycle: in.lifecycle(), SpotRequestID: in.spotRequestID(),
		MetadataOptions: metadataXML{
			State: in.metadata.state, HTTPTokens: in.metadata.httpTokens, HopLimit: in.metadata.hopLimit,
			HTTPEndpoint: in.metadata.httpEndpoint, ProtocolIPv6: in.metadata.protocolIPv6, InstanceTags: in.metadata.instanceTags,
		},
	}
	if in.state != "terminated" {
		x.SubnetID, x.VpcID, x.SourceDestCheck = in.subnet.id, r.vpc.id, true
		for _, id := range in.groups {
			if g := r.groups[id]; g != nil {
				x.Groups.Items = append(x.Groups.Items, groupXML{GroupID: g.id, GroupName: g.name})
			}
		}
		if ip := privateIP(in); ip != "" {
			x.PrivateIP, x.PrivateDNSName = ip, privateDNS(r.name, ip)
		}
		if ip := publicIP(in); ip != "" {
			x.PublicIP, x.DNSName = ip, publicDNS(r.name, ip)
		}
		if in.eni != nil {
			x.NetworkInterfaces.Items = []instanceInterfaceXML{c.instanceInterfaceXML(in.eni)}
		}
	}
	for _, d := range in.devices {
		status := deviceStatus(in)
		x.BlockDevices.Items = append(x.BlockDevices.Items, instanceDeviceXML{
			DeviceName: d.device,
			Ebs:        instanceEbsXML{VolumeID: d.volumeID, Status: status, AttachTime: formatTime(d.attached), DeleteOnTermination: d.deleteOnTermination},
		})
	}
	return x
}

func internalDomain(regionName string) string {
	if regionName == "us-east-1" {
		return "ec2.internal"
	}
	return regionName + ".compute.internal"
}

func publicDomain(regionName string) string {
	if regionName == "us-east-1" {
		return "compute-1.amazonaws.com"
	}
	return regionName + ".compute.amazonaws.com"
}
