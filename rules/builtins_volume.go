package rules

import (
	"fmt"
	"regexp"
	"strconv"

	"go.starlark.net/starlark"
)

// Volume is an EBS volume of the build instance: the root volume
// (Device "") or an extra one, attached during the bake and kept in the
// AMI's block device mappings.
type Volume struct {
	Device     string // /dev/xvdb; "" for the root volume
	SizeGB     int    // 0: the root's default (volume_size_gb's)
	Type       string // gp3, gp2, io1, io2, st1, sc1, standard
	Iops       int    // 0: the type's default (gp3: 3000)
	Throughput int    // MiB/s, gp3 only; 0: 125
	Encrypted  bool
	KMSKey     string
}

// VolumeDeviceRE is a device name an extra volume may take: /dev/sd[b-z]
// or /dev/xvd[b-z] (the root is /dev/xvda).
var VolumeDeviceRE = regexp.MustCompile(`^/dev/(sd|xvd)[b-z]$`)

// volumeLimits are what EC2 accepts of a volume type.
type volumeLimits struct {
	minSize, maxSize             int
	minIops, maxIops, perGiB     int // 0: no provisioned IOPS
	iopsRequired                 bool
	minThroughput, maxThroughput int // 0: no throughput
}

// VolumeTypes are the EBS volume types, with EC2's limits of each.
var volumeTypes = map[string]volumeLimits{
	"gp3":      {minSize: 1, maxSize: 16384, minIops: 3000, maxIops: 16000, perGiB: 500, minThroughput: 125, maxThroughput: 1000},
	"gp2":      {minSize: 1, maxSize: 16384},
	"io1":      {minSize: 4, maxSize: 16384, minIops: 100, maxIops: 64000, perGiB: 50, iopsRequired: true},
	"io2":      {minSize: 4, maxSize: 65536, minIops: 100, maxIops: 256000, perGiB: 1000, iopsRequired: true},
	"st1":      {minSize: 125, maxSize: 16384},
	"sc1":      {minSize: 125, maxSize: 16384},
	"standard": {minSize: 1, maxSize: 1024},
}

// volumeValue is what volume() returns: a Volume with what its call left
// out, which image() fills in (the root's size, the image's encryption).
type volumeValue struct {
	value
	v            Volume
	sizeSet      bool
	encryptedSet bool
	kmsKeySet    bool
}

func (v *volumeValue) String() string {
	return describe("volume", "device", quoteIf(v.v.Device), "size_gb", strconv.Itoa(v.v.SizeGB), "type", strconv.Quote(v.v.Type))
}

// volumeBuiltin is volume(size_gb, type = "gp3", iops, throughput,
// encrypted, kms_key, device). Each volume is checked on its own here, as
// EC2 would check it, so the error points at the call.
func volumeBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		size, iops, throughput optInt
		typ, kms, device       optString
		encrypted              optBool
	)
	if err := unpack(b, args, kwargs, "size_gb?", &size, "type?", &typ, "iops?", &iops, "throughput?", &throughput,
		"encrypted?", &encrypted, "kms_key?", &kms, "device?", &device); err != nil {
		return nil, err
	}
	v := &volumeValue{value: value{"volume"}, sizeSet: size.set, encryptedSet: encrypted.set, kmsKeySet: kms.set,
		v: Volume{Device: device.s, SizeGB: size.n, Type: "gp3", Iops: iops.n, Throughput: throughput.n, Encrypted: true, KMSKey: kms.s}}
	if typ.set {
		v.v.Type = typ.s
	}
	if encrypted.set {
		v.v.Encrypted = encrypted.b
	}
	if device.set && !VolumeDeviceRE.MatchString(device.s) {
		return nil, fmt.Errorf("volume: device %q is not a device name for an extra volume: /dev/sd[b-z] or /dev/xvd[b-z]", device.s)
	}
	if kms.set && encrypted.set && !encrypted.b {
		return nil, fmt.Errorf("volume: kms_key is set, but encrypted = False")
	}
	if err := checkVolume(&v.v, size.set, iops.set, throughput.set); err != nil {
		return nil, fmt.Errorf("volume: %v", err)
	}
	return v, nil
}

// checkVolume says what EC2 would refuse of v, as CreateVolume and
// RunInstances check a volume.
func checkVolume(v *Volume, sizeSet, iopsSet, throughputSet bool) error {
	lim, ok := volumeTypes[v.Type]
	if !ok {
		return fmt.Errorf("type %q is not a volume type: gp3, gp2, io1, io2, st1, sc1 or standard", v.Type)
	}
	if sizeSet && (v.SizeGB < lim.minSize || v.SizeGB > lim.maxSize) {
		return fmt.Errorf("size_gb = %d is outside %d to %d, the sizes of %s volumes", v.SizeGB, lim.minSize, lim.maxSize, v.Type)
	}
	switch {
	case iopsSet && lim.maxIops == 0:
		return fmt.Errorf("%s volumes take no iops (gp3, io1 and io2 do)", v.Type)
	case !iopsSet && lim.iopsRequired:
		return fmt.Errorf("%s volumes need iops (%d to %d)", v.Type, lim.minIops, lim.maxIops)
	case throughputSet && lim.maxThroughput == 0:
		return fmt.Errorf("%s volumes take no throughput (gp3 does)", v.Type)
	}
	if iopsSet {
		if v.Iops < lim.minIops || v.Iops > lim.maxIops {
			return fmt.Errorf("iops = %d is outside %d to %d, the IOPS of %s volumes", v.Iops, lim.minIops, lim.maxIops, v.Type)
		}
		if sizeSet && v.Iops > lim.perGiB*v.SizeGB {
			return fmt.Errorf("iops = %d is more than %d per GiB of size_gb = %d: at most %d, or a larger volume", v.Iops, lim.perGiB, v.SizeGB, lim.perGiB*v.SizeGB)
		}
	}
	if throughputSet {
		if v.Throughput < lim.minThroughput || v.Throughput > lim.maxThroughput {
			return fmt.Errorf("throughput = %d is outside %d to %d MiB/s, the throughput of %s volumes", v.Throughput, lim.minThroughput, lim.maxThroughput, v.Type)
		}
		iops := max(v.Iops, lim.minIops)
		if v.Throughput*4 > iops {
			return fmt.Errorf("throughput = %d MiB/s is more than 0.25 MiB/s per IOPS of %d IOPS: give iops = %d or more", v.Throughput, iops, v.Throughput*4)
		}
	}
	return nil
}

// volumeArg is image(root_volume = volume(...)).
type volumeArg struct{ v *volumeValue }

func (a *volumeArg) Unpack(v starlark.Value) error {
	switch v := v.(type) {
	case starlark.NoneType:
		return nil
	case *volumeValue:
		a.v = v
		return nil
	}
	return fmt.Errorf("got %s, want volume(size_gb = ..., type = ...)", v.Type())
}

// volumeList is image(volumes = [volume(device = ..., ...), ...]).
type volumeList []*volumeValue

func (l *volumeList) Unpack(v starlark.Value) error {
	if v == starlark.None {
		return nil
	}
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return fmt.Errorf("got %s, want list of volume(...)", v.Type())
	}
	out := make([]*volumeValue, seq.Len())
	for i := range out {
		vv, ok := seq.Index(i).(*volumeValue)
		if !ok {
			return fmt.Errorf("element %d is %s, want volume(device = ..., size_gb = ...)", i, seq.Index(i).Type())
		}
		out[i] = vv
	}
	*l = out
	return nil
}

// checkVolumes gives im its root volume and extra volumes. root_volume
// says what volume_size_gb, encrypted and kms_key say of the root, so an
// image gives one or the others; an extra volume needs a device of its
// own and a size, and takes the image's encryption unless it says.
func (p *imageProblems) checkVolumes(im *Image, a *awsImageArgs) {
	if r := a.rootVolume.v; r != nil {
		var both []string
		for _, c := range []struct {
			name string
			set  bool
		}{{"volume_size_gb", a.volumeSize.set}, {"encrypted", a.encrypted.set}, {"kms_key", a.kmsKey.set}} {
			if c.set {
				both = append(both, c.name)
			}
		}
		switch {
		case len(both) > 0:
			p.attr("root_volume", "give root_volume or %s, not both: root_volume = volume(size_gb = ..., encrypted = ..., kms_key = ...) says them all", joinOr(both))
		case r.v.Device != "":
			p.attr("root_volume", "the root volume takes no device: it is the image's root device")
		default:
			root := r.v
			if !r.sizeSet {
				root.SizeGB = DefaultVolumeSizeGB
			}
			im.AWS.RootVolume = &root
			im.AWS.VolumeSizeGB, im.AWS.Encrypted, im.AWS.KMSKey = root.SizeGB, root.Encrypted, root.KMSKey
			if root.KMSKey != "" {
				for _, region := range im.Regions {
					if _, err := im.AWS.KMSKeyIn(region); err != nil {
						p.attr("root_volume", "%v", err)
						break
					}
				}
			}
			if root.Iops > 0 && root.Iops > perGiBOf(root.Type)*root.SizeGB {
				p.attr("root_volume", "iops = %d is more than %d per GiB of the root's %d GiB", root.Iops, perGiBOf(root.Type), root.SizeGB)
			}
		}
	}
	seen := map[string]bool{}
	for _, vv := range a.volumes {
		v := vv.v
		switch {
		case v.Device == "":
			p.attr("volumes", "%s needs a device, such as \"/dev/xvdb\"", vv)
			continue
		case seen[v.Device]:
			p.attr("volumes", "device %s is given twice", v.Device)
			continue
		case !vv.sizeSet:
			p.attr("volumes", "the volume of %s needs size_gb", v.Device)
			continue
		}
		seen[v.Device] = true
		if !vv.encryptedSet && !vv.kmsKeySet {
			v.Encrypted, v.KMSKey = im.AWS.Encrypted, im.AWS.KMSKey
		}
		im.AWS.Volumes = append(im.AWS.Volumes, v)
	}
}

func perGiBOf(typ string) int { return volumeTypes[typ].perGiB }

func joinOr(names []string) string {
	switch len(names) {
	case 1:
		return names[0]
	case 2:
		return names[0] + " and " + names[1]
	}
	return names[0] + ", " + joinOr(names[1:])
}
