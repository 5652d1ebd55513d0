package ec2sim

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// checkStatus is an instance's status checks, as DescribeInstanceStatus
// reports both the system's and the instance's: initializing from when it
// runs until its checks pass (statusDelay), then ok; not-applicable while
// it does not run.
func checkStatus(in *instance) string {
	switch {
	case in.state != "running":
		return "not-applicable"
	case in.checksOK:
		return "ok"
	}
	return "initializing"
}

// reachabilityOf is the status of the checks' one detail, reachability.
func reachabilityOf(in *instance) string {
	switch checkStatus(in) {
	case "ok":
		return "passed"
	case "initializing":
		return "initializing"
	}
	return ""
}

func (c *call) instanceStatusField(in *instance) fieldFunc {
	return func(name string) ([]string, bool) {
		one := func(v string) ([]string, bool) {
			if v == "" {
				return nil, true
			}
			return []string{v}, true
		}
		zone, zoneID := "", ""
		if in.subnet != nil {
			zone, zoneID = in.subnet.zone.name, in.subnet.zone.id
		}
		switch name {
		case "availability-zone":
			return one(zone)
		case "availability-zone-id":
			return one(zoneID)
		case "instance-state-code":
			return one(strconv.Itoa(stateCode(in.state)))
		case "instance-state-name":
			return one(in.state)
		case "instance-status.status", "system-status.status", "attached-ebs-status.status":
			return one(checkStatus(in))
		case "instance-status.reachability", "system-status.reachability":
			return one(reachabilityOf(in))
		case "operator.managed":
			return one("false")
		case "event.code", "event.description", "event.instance-event-id", "event.not-after", "event.not-before",
			"event.not-before-deadline", "operator.principal", "application-status.status":
			// No scheduled events, managing service or application
			// health in the simulator.
			return nil, true
		}
		return nil, false
	}
}

// describeInstanceStatus reports the status checks of running instances,
// or of every instance with IncludeAllInstances.
func describeInstanceStatus(c *call) (any, *apiError) {
	p := c.params
	fs, err := p.untaggedFilters()
	if err != nil {
		return nil, err
	}
	if err := checkFilters(fs, c.instanceStatusField(&instance{})); err != nil {
		return nil, err
	}
	all, _, err := p.boolean("IncludeAllInstances")
	if err != nil {
		return nil, err
	}
	var candidates []*instance
	if ids := p.list("InstanceId"); len(ids) > 0 {
		if p.has("MaxResults") {
			return nil, newError("InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
		}
		if len(ids) > 100 {
			return nil, newError("InvalidParameterValue", "The maximum number of instance IDs is 100 (%d given)", len(ids))
		}
		if candidates, err = c.instancesNamed(ids); err != nil {
			return nil, err
		}
	} else {
		candidates = byOrder(c.region.instances)
	}
	var found []instanceStatusXML
	for _, in := range candidates {
		if in.hidden > 0 || !all && in.state != "running" || !matches(fs, nil, c.instanceStatusField(in)) {
			continue
		}
		found = append(found, c.instanceStatusXML(in))
	}
	page, next, err := paginateUpTo(p, found, 5, 1000)
	if err != nil {
		return nil, err
	}
	return &describeInstanceStatusResponse{Statuses: items(page), NextToken: next}, nil
}

// getConsoleOutput answers an instance's serial console as EC2 keeps it:
// the output of its last boot, from when it first ran, base64-encoded.
// The simulator's is a short boot log that ends, as cloud-init's does,
// with the SSH host key's fingerprint and the key itself.
func getConsoleOutput(c *call) (any, *apiError) {
	p := c.params
	id := p.get("InstanceId")
	if id == "" {
		return nil, missing("InstanceId")
	}
	if _, _, err := p.boolean("Latest"); err != nil {
		return nil, err
	}
	ins, err := c.instancesNamed([]string{id})
	if err != nil {
		return nil, err
	}
	in := ins[0]
	out := &consoleOutputResponse{InstanceID: in.id, Timestamp: formatTime(c.now)}
	if !in.booted.IsZero() {
		out.Timestamp = formatTime(in.booted)
		out.Output = base64.StdEncoding.EncodeToString([]byte(c.consoleText(in)))
	}
	return out, nil
}

func (c *call) consoleText(in *instance) string {
	arch := in.architecture
	if arch == "arm64" {
		arch = "aarch64"
	}
	host := "localhost" // a terminated instance's address is gone
	if in.private.IsValid() {
		host = "ip-" + dnsLabel(in.private.String())
	}
	pub := in.hostKey.PublicKey()
	sum := sha256.Sum256(pub.Marshal())
	fingerprint := "SHA256:" + strings.TrimRight(base64.StdEncoding.EncodeToString(sum[:]), "=")
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	var b strings.Builder
	fmt.Fprintf(&b, "[    0.000000] Linux version 6.1.0-ec2sim.%s (ec2sim) #1 SMP\n", arch)
	fmt.Fprintf(&b, "[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz root=%s1 ro console=tty0 console=ttyS0,115200n8\n", rootDevice)
	fmt.Fprintf(&b, "[    0.000000] DMI: Amazon EC2 %s, BIOS 1.0 10/16/2017\n", in.instanceType)
	fmt.Fprintf(&b, "[    1.000000] EXT4-fs (xvda1): mounted filesystem with ordered data mode.\n")
	fmt.Fprintf(&b, "[  OK  ] Reached target multi-user.target - Multi-User System.\n")
	fmt.Fprintf(&b, "Cloud-init v. 22.2.2 running 'modules:final' at %s. Up 2.00 seconds.\n", in.booted.UTC().Format("Mon, 02 Jan 2006 15:04:05 +0000"))
	fmt.Fprintf(&b, "#############################################################\n")
	fmt.Fprintf(&b, "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n")
	fmt.Fprintf(&b, "256 %s no comment (ED25519)\n", fingerprint)
	fmt.Fprintf(&b, "-----END SSH HOST KEY FINGERPRINTS-----\n")
	fmt.Fprintf(&b, "#############################################################\n")
	fmt.Fprintf(&b, "-----BEGIN SSH HOST KEY KEYS-----\n%s root@%s\n-----END SSH HOST KEY KEYS-----\n", authorized, host)
	fmt.Fprintf(&b, "Cloud-init v. 22.2.2 finished at %s. Datasource DataSourceEc2.  Up 2.50 seconds\n", in.booted.UTC().Format("Mon, 02 Jan 2006 15:04:05 +0000"))
	fmt.Fprintf(&b, "\n%s login: ", host)
	return b.String()
}

// describeInstanceAttribute answers one attribute of an instance.
func describeInstanceAttribute(c *call) (any, *apiError) {
	p := c.params
	attr := p.get("Attribute")
	if attr == "" {
		return nil, missing("Attribute")
	}
	id := p.get("InstanceId")
	if id == "" {
		return nil, missing("InstanceId")
	}
	ins, err := c.instancesNamed([]string{id})
	if err != nil {
		return nil, err
	}
	in := ins[0]
	value := func(v string) *valueXML { return &valueXML{Value: v} }
	out := &instanceAttributeResponse{InstanceID: in.id}
	switch attr {
	case "instanceType":
		out.InstanceType = value(in.instanceType)
	case "kernel":
		out.Kernel = &optionalValueXML{}
	case "ramdisk":
		out.Ramdisk = &optionalValueXML{}
	case "userData":
		out.UserData = &optionalValueXML{}
		if in.userData != "" {
			out.UserData.Value = &in.userData
		}
	case "disableApiTermination":
		out.DisableAPITermination = value("false")
	case "disableApiStop":
		out.DisableAPIStop = value("false")
	case "instanceInitiatedShutdownBehavior":
		out.ShutdownBehavior = value("stop")
	case "rootDeviceName":
		out.RootDeviceName = value(rootDevice)
	case "blockDeviceMapping":
		set := c.instanceXML(in).BlockDevices
		out.BlockDevices = &set
	case "productCodes":
		out.ProductCodes = &itemSet[struct{}]{}
	case "sourceDestCheck":
		out.SourceDestCheck = value("true")
	case "groupSet":
		set := itemSet[groupXML]{}
		for _, id := range in.groups {
			if g := c.region.groups[id]; g != nil {
				set.Items = append(set.Items, groupXML{GroupID: g.id, GroupName: g.name})
			}
		}
		out.Groups = &set
	case "ebsOptimized":
		out.EbsOptimized = value("false")
	case "sriovNetSupport":
		out.SriovNetSupport = &optionalValueXML{}
	case "enaSupport":
		out.EnaSupport = value(strconv.FormatBool(!in.noENA))
	case "enclaveOptions":
		out.EnclaveOptions = &enclaveOptionsXML{Enabled: false}
	default:
		return nil, newError("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	return out, nil
}

// The XML of instance status, console output and attributes.

type statusDetailXML struct {
	Name   string `xml:"name"`
	Status string `xml:"status"`
}

type statusSummaryXML struct {
	Status  string                   `xml:"status"`
	Details itemSet[statusDetailXML] `xml:"details"`
}

type instanceStatusXML struct {
	InstanceID         string            `xml:"instanceId"`
	AvailabilityZone   string            `xml:"availabilityZone"`
	AvailabilityZoneID string            `xml:"availabilityZoneId"`
	State              stateXML          `xml:"instanceState"`
	SystemStatus       statusSummaryXML  `xml:"systemStatus"`
	InstanceStatus     statusSummaryXML  `xml:"instanceStatus"`
	AttachedEbsStatus  statusSummaryXML  `xml:"attachedEbsStatus"`
	Events             itemSet[struct{}] `xml:"eventsSet"`
}

type describeInstanceStatusResponse struct {
	Statuses  itemSet[instanceStatusXML] `xml:"instanceStatusSet"`
	NextToken string                     `xml:"nextToken,omitempty"`
}

func (c *call) instanceStatusXML(in *instance) instanceStatusXML {
	summary := func() statusSummaryXML {
		s := statusSummaryXML{Status: checkStatus(in)}
		if r := reachabilityOf(in); r != "" {
			s.Details.Items = []statusDetailXML{{Name: "reachability", Status: r}}
		}
		return s
	}
	x := instanceStatusXML{
		InstanceID: in.id, State: stateXML{Code: stateCode(in.state), Name: in.state},
		SystemStatus: summary(), InstanceStatus: summary(), AttachedEbsStatus: summary(),
	}
	if in.subnet != nil {
		x.AvailabilityZone, x.AvailabilityZoneID = in.subnet.zone.name, in.subnet.zone.id
	}
	return x
}

type consoleOutputResponse struct {
	InstanceID string `xml:"instanceId"`
	Timestamp  string `xml:"timestamp"`
	Output     string `xml:"output,omitempty"`
}

// optionalValueXML is EC2's wrapped scalar that may be empty: <kernel/>.
type optionalValueXML struct {
	Value *string `xml:"value,omitempty"`
}

type enclaveOptionsXML struct {
	Enabled bool `xml:"enabled"`
}

type instanceAttributeResponse struct {
	InstanceID            string                      `xml:"instanceId"`
	InstanceType          *valueXML                   `xml:"instanceType,omitempty"`
	Kernel                *optionalValueXML           `xml:"kernel,omitempty"`
	Ramdisk               *optionalValueXML           `xml:"ramdisk,omitempty"`
	UserData              *optionalValueXML           `xml:"userData,omitempty"`
	DisableAPITermination *valueXML                   `xml:"disableApiTermination,omitempty"`
	DisableAPIStop        *valueXML                   `xml:"disableApiStop,omitempty"`
	ShutdownBehavior      *valueXML                   `xml:"instanceInitiatedShutdownBehavior,omitempty"`
	RootDeviceName        *valueXML                   `xml:"rootDeviceName,omitempty"`
	BlockDevices          *itemSet[instanceDeviceXML] `xml:"blockDeviceMapping,omitempty"`
	ProductCodes          *itemSet[struct{}]          `xml:"productCodes,omitempty"`
	SourceDestCheck       *valueXML                   `xml:"sourceDestCheck,omitempty"`
	Groups                *itemSet[groupXML]          `xml:"groupSet,omitempty"`
	EbsOptimized          *valueXML                   `xml:"ebsOptimized,omitempty"`
	SriovNetSupport       *optionalValueXML           `xml:"sriovNetSupport,omitempty"`
	EnaSupport            *valueXML                   `xml:"enaSupport,omitempty"`
	EnclaveOptions        *enclaveOptionsXML          `xml:"enclaveOptions,omitempty"`
}
