package ec2sim

import (
	"strconv"
)

// registerImage is RegisterImage of an EBS-backed image from snapshots
// of this account: the image's root device is the snapshot mapped to
// RootDeviceName. Two images may then share a snapshot, which
// DeregisterImage's DeleteAssociatedSnapshots and DeleteSnapshot leave
// while another registered image uses it.
func registerImage(c *call) (any, *apiError) {
	p, r, s := c.params, c.region, c.sim
	name := p.get("Name")
	if name == "" {
		return nil, missing("Name")
	}
	if err := checkImageName(name); err != nil {
		return nil, err
	}
	if p.get("ImageLocation") != "" {
		return nil, newError("InvalidParameterValue", "ec2sim registers EBS-backed images from snapshots only, not instance-store images (ImageLocation)")
	}
	arch := p.get("Architecture")
	switch arch {
	case "":
		arch = "i386" // EC2's default for an EBS-backed image
	case "i386", "x86_64", "arm64", "x86_64_mac", "arm64_mac":
	default:
		return nil, invalidValue("Architecture", arch)
	}
	root := p.get("RootDeviceName")
	if root == "" {
		return nil, missing("RootDeviceName")
	}
	if root != rootDevice {
		return nil, newError("InvalidParameterValue", "ec2sim images have their root device at %s, not %s", rootDevice, root)
	}
	if v := p.get("ImdsSupport"); v != "" && v != "v2.0" {
		return nil, invalidValue("ImdsSupport", v)
	}
	boot, err := c.registerBoot()
	if err != nil {
		return nil, err
	}
	specs, err := p.tagSpecs("image")
	if err != nil {
		return nil, err
	}
	var mappings []imageMapping
	for _, m := range p.members("BlockDeviceMapping") {
		device := m.get("DeviceName")
		if device == "" {
			return nil, missing("BlockDeviceMapping.DeviceName")
		}
		snapID := m.get("Ebs.SnapshotId")
		if snapID == "" {
			return nil, newError("InvalidParameterValue", "ec2sim registers images from snapshots only: the mapping of %s names no Ebs.SnapshotId", device)
		}
		sn := r.snapshots[snapID]
		if sn == nil || !sn.visible() {
			return nil, newError("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", snapID)
		}
		c.advanceSnapshot(sn)
		if sn.state != "completed" {
			return nil, newError("IncorrectState", "Snapshot '%s' is not 'completed' (it is %s).", snapID, sn.state)
		}
		size, set, err := m.integer("Ebs.VolumeSize")
		if err != nil {
			return nil, err
		}
		if !set {
			size = sn.size
		} else if size < sn.size {
			return nil, newError("InvalidBlockDeviceMapping", "Volume of size %dGB is smaller than snapshot '%s', expect size >= %dGB", size, snapID, sn.size)
		}
		deleteOnTermination := true
		if v := m.get("Ebs.DeleteOnTermination"); v != "" {
			b, perr := strconv.ParseBool(v)
			if perr != nil {
				return nil, invalidValue("Ebs.DeleteOnTermination", v)
			}
			deleteOnTermination = b
		}
		volumeType := m.get("Ebs.VolumeType")
		if volumeType == "" {
			volumeType = "gp3"
		}
		mapping := imageMapping{device: device, snapshotID: snapID, size: size, volumeType: volumeType,
			deleteOnTermination: deleteOnTermination, encrypted: sn.encrypted, kmsKeyID: sn.kmsKeyID}
		d := devicePlan{device: device, size: size, volumeType: volumeType}
		if err := c.applyPerformance(m.sub("Ebs"), &d); err != nil {
			return nil, err
		}
		mapping.iops, mapping.throughput = mappingIops(volumeType, d.iops), mappingThroughput(volumeType, d.throughput)
		if device == root {
			mappings = append([]imageMapping{mapping}, mappings...) // the root device first
		} else {
			mappings = append(mappings, mapping)
		}
	}
	if len(mappings) == 0 || mappings[0].device != root {
		return nil, newError("InvalidBlockDeviceMapping", "The root device name %s is not among the block device mappings.", root)
	}
	if r.snapshots[mappings[0].snapshotID].dir == "" {
		return nil, newError("InvalidParameterValue", "ec2sim: snapshot %s is a data volume's, with no root filesystem", mappings[0].snapshotID)
	}
	if other := r.imageNamed(Account, name); other != nil {
		return nil, newError("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", name, other.id)
	}
	im := &image{
		seq: s.nextSeq(), id: newID("ami-"), name: name, description: p.get("Description"),
		owner: Account, architecture: arch, state: "pending", created: c.now,
		rootDevice: rootDevice, tags: cloneTags(specs["image"]), mappings: mappings, imds: p.get("ImdsSupport"),
		imageBoot: boot,
	}
	im.next = c.startTransition("available", bootDelay)
	r.images[im.id] = im
	return &imageIDResponse{ImageID: im.id}, nil
}
