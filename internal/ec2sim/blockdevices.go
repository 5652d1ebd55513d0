package ec2sim

import "regexp"

// deviceNameRE is a device name EC2 takes in a block device mapping of
// an HVM Linux instance: /dev/sd[a-z], /dev/xvd[a-z], /dev/xvd[b-c][a-z]
// (no partition numbers).
var deviceNameRE = regexp.MustCompile(`^/dev/(sd[a-z]|xvd[a-z]|xvd[bc][a-z])$`)

// checkDevice refuses a device name EC2 refuses; the image's root device
// (root) is whatever the image says.
func checkDevice(device string, root bool) *apiError {
	if !root && !deviceNameRE.MatchString(device) {
		return newError("InvalidBlockDeviceMapping", "Invalid device name %s", device)
	}
	return nil
}

// volumeLimits are what EC2 accepts of a volume type: its sizes, and
// for types with provisioned IOPS their range and their most IOPS per
// GiB; throughput for gp3 alone.
type volumeLimits struct {
	minSize, maxSize             int
	minIops, maxIops, perGiB     int // 0: the type takes no Iops
	iopsRequired                 bool
	minThroughput, maxThroughput int // 0: the type takes no Throughput
}

var limitsOf = map[string]volumeLimits{
	"gp3":      {minSize: 1, maxSize: 16384, minIops: 3000, maxIops: 16000, perGiB: 500, minThroughput: 125, maxThroughput: 1000},
	"gp2":      {minSize: 1, maxSize: 16384},
	"io1":      {minSize: 4, maxSize: 16384, minIops: 100, maxIops: 64000, perGiB: 50, iopsRequired: true},
	"io2":      {minSize: 4, maxSize: 65536, minIops: 100, maxIops: 256000, perGiB: 1000, iopsRequired: true},
	"st1":      {minSize: 125, maxSize: 16384},
	"sc1":      {minSize: 125, maxSize: 16384},
	"standard": {minSize: 1, maxSize: 1024},
}

// checkVolumePlan refuses a volume EC2 would not create: a size outside
// its type's, IOPS or throughput its type does not take or takes within
// other bounds, IOPS out of proportion to the size, throughput out of
// proportion to the IOPS (gp3: 0.25 MiB/s per IOPS).
func checkVolumePlan(d *devicePlan) *apiError {
	lim, ok := limitsOf[d.volumeType]
	if !ok {
		return nil // applyEbs refused it
	}
	if d.size < lim.minSize || d.size > lim.maxSize {
		return newError("InvalidParameterValue", "Volume of %d GiB is out of range for %s volumes (%d-%d GiB)", d.size, d.volumeType, lim.minSize, lim.maxSize)
	}
	switch {
	case d.iopsSet && lim.maxIops == 0:
		return newError("InvalidParameterCombination", "The parameter iops is not supported for %s volumes.", d.volumeType)
	case !d.iopsSet && lim.iopsRequired && d.iops == 0:
		return newError("InvalidParameterCombination", "The parameter iops must be specified for %s volumes.", d.volumeType)
	case d.throughputSet && lim.maxThroughput == 0:
		return newError("InvalidParameterCombination", "The parameter throughput is not supported for %s volumes.", d.volumeType)
	}
	if lim.maxIops > 0 && (d.iopsSet || lim.iopsRequired) {
		if d.iops < lim.minIops || d.iops > lim.maxIops {
			return newError("InvalidParameterValue", "Volume iops of %d is out of range for %s volumes (%d-%d)", d.iops, d.volumeType, lim.minIops, lim.maxIops)
		}
		if ratio := float64(d.iops) / float64(d.size); ratio > float64(lim.perGiB) {
			return newError("InvalidParameterValue", "Iops to volume size ratio of %f is too high; maximum is %d", ratio, lim.perGiB)
		}
	}
	if d.throughputSet {
		if d.throughput < lim.minThroughput || d.throughput > lim.maxThroughput {
			return newError("InvalidParameterValue", "Volume throughput of %d MiB/s is out of range for %s volumes (%d-%d)", d.throughput, d.volumeType, lim.minThroughput, lim.maxThroughput)
		}
		iops := max(d.iops, lim.minIops)
		if ratio := float64(d.throughput) / float64(iops); ratio > 0.25 {
			return newError("InvalidParameterValue", "Throughput (MiBps) to iops ratio of %f is too high; maximum is 0.250000 MiBps per iops", ratio)
		}
	}
	return nil
}

// mappingIops is what an image's mapping of a volume of that type shows
// of its IOPS: provisioned IOPS only.
func mappingIops(volumeType string, iops int) int {
	switch volumeType {
	case "gp3", "io1", "io2":
		return iops
	}
	return 0
}

// mappingThroughput is what it shows of its throughput: gp3's only.
func mappingThroughput(volumeType string, throughput int) int {
	if volumeType == "gp3" {
		return throughput
	}
	return 0
}

// applyPerformance reads Iops and Throughput of a mapping into d and
// checks them against its type, with gp3's defaults where it gives none.
func (c *call) applyPerformance(e params, d *devicePlan) *apiError {
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
	if err := checkVolumePlan(d); err != nil {
		return err
	}
	if d.volumeType == "gp3" {
		d.iops, d.throughput = max(d.iops, 3000), max(d.throughput, 125)
	}
	return nil
}
