package ec2sim

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// instanceType is one instance type EC2 offers, with what
// DescribeInstanceTypes says of it. The catalog is a realistic subset of
// EC2's: the burstable t2, t3, t3a and t4g; the general-purpose m5, m5a,
// m6i, m6a, m6g, m7i and m7g; the compute-optimized c5, c6i, c6a, c6g,
// c7i and c7g; the memory-optimized r5, r6i, r6g and r7g; the first
// Graviton a1; and m1.small, the type RunInstances launches when it is
// given none. Every region offers every type.
type instanceType struct {
	name          string
	archs         []string // i386, x86_64, arm64
	vcpus         int
	threads       int // per core
	memoryMiB     int
	current       bool
	burstable     bool
	freeTier      bool
	hypervisor    string // nitro, xen, or "" for bare metal
	bareMetal     bool
	clockGHz      float64
	manufacturer  string
	bootModes     []string
	network       string // networkPerformance
	interfaces    int    // maximumNetworkInterfaces
	ipv4PerENI    int
	ebsOptimized  string // default, supported, unsupported
	hibernation   bool
	maxVolumes    int // maximumEbsAttachments on Nitro (shared with interfaces)
	enclaves      bool
	nitroTPM      bool
	enaSupport    string // required, supported, unsupported
	dedicatedHost bool
}

// family describes the sizes of one family; memPerVCPU is in MiB.
type family struct {
	name         string
	archs        []string
	manufacturer string
	clockGHz     float64
	current      bool
	burstable    bool
	nitro        bool
	threads      int
	memPerVCPU   int
	sizes        []string // beyond the t families' own table
}

// burstableSizes are the t families' sizes: vCPUs and memory (MiB).
var burstableSizes = []struct {
	size      string
	vcpus     int
	memoryMiB int
}{
	{"nano", 2, 512}, {"micro", 2, 1024}, {"small", 2, 2048}, {"medium", 2, 4096},
	{"large", 2, 8192}, {"xlarge", 4, 16384}, {"2xlarge", 8, 32768},
}

// sizeVCPUs is the vCPUs of each size of the fixed-performance families
// (a Graviton medium has one; metal is given per family).
var sizeVCPUs = map[string]int{
	"medium": 1, "large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "9xlarge": 36,
	"12xlarge": 48, "16xlarge": 64, "18xlarge": 72, "24xlarge": 96, "32xlarge": 128, "48xlarge": 192,
}

var (
	graviton2Sizes = []string{"medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "metal:64"}
	intel5Sizes    = []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "metal:96"}
	intel6Sizes    = []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge", "metal:128"}
	amd6Sizes      = []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge", "48xlarge", "metal:192"}
	intel7Sizes    = []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"}
	c5Sizes        = []string{"large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "12xlarge", "18xlarge", "24xlarge", "metal:96"}
)

var x86, arm = []string{"x86_64"}, []string{"arm64"}

var families = []family{
	{name: "t2", archs: []string{"i386", "x86_64"}, manufacturer: "Intel", clockGHz: 2.3, current: true, burstable: true, threads: 1},
	{name: "t3", archs: x86, manufacturer: "Intel", clockGHz: 2.5, current: true, burstable: true, nitro: true, threads: 2},
	{name: "t3a", archs: x86, manufacturer: "AMD", clockGHz: 2.2, current: true, burstable: true, nitro: true, threads: 2},
	{name: "t4g", archs: arm, manufacturer: "AWS", clockGHz: 2.5, current: true, burstable: true, nitro: true, threads: 1},
	{name: "m5", archs: x86, manufacturer: "Intel", clockGHz: 3.1, current: true, nitro: true, threads: 2, memPerVCPU: 4096, sizes: intel5Sizes},
	{name: "m5a", archs: x86, manufacturer: "AMD", clockGHz: 2.5, current: true, nitro: true, threads: 2, memPerVCPU: 4096, sizes: intel5Sizes[:8]},
	{name: "m6i", archs: x86, manufacturer: "Intel", clockGHz: 3.5, current: true, nitro: true, threads: 2, memPerVCPU: 4096, sizes: intel6Sizes},
	{name: "m6a", archs: x86, manufacturer: "AMD", clockGHz: 3.6, current: true, nitro: true, threads: 2, memPerVCPU: 4096, sizes: amd6Sizes},
	{name: "m6g", archs: arm, manufacturer: "AWS", clockGHz: 2.5, current: true, nitro: true, threads: 1, memPerVCPU: 4096, sizes: graviton2Sizes},
	{name: "m7i", archs: x86, manufacturer: "Intel", clockGHz: 3.2, current: true, nitro: true, threads: 2, memPerVCPU: 4096, sizes: intel7Sizes},
	{name: "m7g", archs: arm, manufacturer: "AWS", clockGHz: 2.6, current: true, nitro: true, threads: 1, memPerVCPU: 4096, sizes: graviton2Sizes},
	{name: "c5", archs: x86, manufacturer: "Intel", clockGHz: 3.4, current: true, nitro: true, threads: 2, memPerVCPU: 2048, sizes: c5Sizes},
	{name: "c6i", archs: x86, manufacturer: "Intel", clockGHz: 3.5, current: true, nitro: true, threads: 2, memPerVCPU: 2048, sizes: intel6Sizes},
	{name: "c6a", archs: x86, manufacturer: "AMD", clockGHz: 3.6, current: true, nitro: true, threads: 2, memPerVCPU: 2048, sizes: amd6Sizes},
	{name: "c6g", archs: arm, manufacturer: "AWS", clockGHz: 2.5, current: true, nitro: true, threads: 1, memPerVCPU: 2048, sizes: graviton2Sizes},
	{name: "c7i", archs: x86, manufacturer: "Intel", clockGHz: 3.2, current: true, nitro: true, threads: 2, memPerVCPU: 2048, sizes: intel7Sizes},
	{name: "c7g", archs: arm, manufacturer: "AWS", clockGHz: 2.6, current: true, nitro: true, threads: 1, memPerVCPU: 2048, sizes: graviton2Sizes},
	{name: "r5", archs: x86, manufacturer: "Intel", clockGHz: 3.1, current: true, nitro: true, threads: 2, memPerVCPU: 8192, sizes: intel5Sizes},
	{name: "r6i", archs: x86, manufacturer: "Intel", clockGHz: 3.5, current: true, nitro: true, threads: 2, memPerVCPU: 8192, sizes: intel6Sizes},
	{name: "r6g", archs: arm, manufacturer: "AWS", clockGHz: 2.5, current: true, nitro: true, threads: 1, memPerVCPU: 8192, sizes: graviton2Sizes},
	{name: "r7g", archs: arm, manufacturer: "AWS", clockGHz: 2.6, current: true, nitro: true, threads: 1, memPerVCPU: 8192, sizes: graviton2Sizes},
	{name: "a1", archs: arm, manufacturer: "AWS", clockGHz: 2.3, current: true, nitro: true, threads: 1, memPerVCPU: 2048,
		sizes: []string{"medium", "large", "xlarge", "2xlarge", "4xlarge", "metal:16"}},
}

// instanceTypes is the catalog, by name.
var instanceTypes = buildInstanceTypes()

// instanceTypeNames is the catalog's names in order.
var instanceTypeNames = func() []string {
	names := make([]string, 0, len(instanceTypes))
	for n := range instanceTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}()

func buildInstanceTypes() map[string]*instanceType {
	out := map[string]*instanceType{}
	add := func(f family, size string, vcpus, mem int, metal bool) {
		t := &instanceType{
			name: f.name + "." + size, archs: f.archs, vcpus: vcpus, threads: f.threads, memoryMiB: mem,
			current: f.current, burstable: f.burstable, clockGHz: f.clockGHz, manufacturer: f.manufacturer,
			bareMetal: metal, dedicatedHost: f.nitro,
		}
		if t.threads > vcpus {
			t.threads = vcpus
		}
		switch {
		case metal:
			t.hypervisor = ""
		case f.nitro:
			t.hypervisor = "nitro"
		default:
			t.hypervisor = "xen"
		}
		if f.nitro {
			t.bootModes = []string{"legacy-bios", "uefi"}
			if slices.Contains(f.archs, "arm64") {
				t.bootModes = []string{"uefi"}
			}
			t.ebsOptimized, t.enaSupport, t.maxVolumes, t.nitroTPM = "default", "required", 28, !metal
			// Nitro Enclaves: Nitro types of 4 vCPUs and more (2 for
			// Graviton), but for the burstable ones and a1.
			minVCPUs := 4
			if slices.Contains(f.archs, "arm64") {
				minVCPUs = 2
			}
			t.enclaves = !f.burstable && f.name != "a1" && vcpus >= minVCPUs
		} else {
			t.bootModes = []string{"legacy-bios"}
			t.ebsOptimized, t.enaSupport = "unsupported", "unsupported"
		}
		t.hibernation = !metal && mem <= 150*1024 && f.name != "a1" && !(f.name == "t2" && size == "nano")
		t.interfaces, t.ipv4PerENI = interfacesOf(vcpus, f.burstable, size)
		t.network = networkOf(f, vcpus)
		out[t.name] = t
	}
	for _, f := range families {
		if f.burstable {
			for _, s := range burstableSizes {
				vcpus := s.vcpus
				if f.name == "t2" {
					// t2's smaller sizes have one vCPU (and a core each).
					switch s.size {
					case "nano", "micro", "small":
						vcpus = 1
					}
				}
				add(f, s.size, vcpus, s.memoryMiB, false)
			}
			continue
		}
		for _, size := range f.sizes {
			if n, ok := strings.CutPrefix(size, "metal:"); ok {
				vcpus, _ := strconv.Atoi(n)
				add(f, "metal", vcpus, vcpus*f.memPerVCPU, true)
				continue
			}
			vcpus := sizeVCPUs[size]
			add(f, size, vcpus, vcpus*f.memPerVCPU, false)
		}
	}
	for _, n := range []string{"t2.micro", "t3.micro"} {
		out[n].freeTier = true
	}
	// The previous generation's m1.small: RunInstances' default type.
	out["m1.small"] = &instanceType{
		name: "m1.small", archs: []string{"i386", "x86_64"}, vcpus: 1, threads: 1, memoryMiB: 1740,
		hypervisor: "xen", clockGHz: 0, manufacturer: "Intel", bootModes: []string{"legacy-bios"},
		network: "Low", interfaces: 2, ipv4PerENI: 4, ebsOptimized: "unsupported", enaSupport: "unsupported",
	}
	return out
}

// interfacesOf is roughly how many interfaces, and IPv4 addresses on
// each, a size takes.
func interfacesOf(vcpus int, burstable bool, size string) (int, int) {
	switch {
	case burstable && (size == "nano" || size == "micro"):
		return 2, 2
	case burstable && size == "small":
		return 3, 4
	case burstable && size == "medium":
		return 3, 6
	case vcpus <= 2:
		return 3, 10
	case vcpus <= 8:
		return 4, 15
	case vcpus <= 36:
		return 8, 30
	}
	return 15, 50
}

// networkOf is roughly a size's networkPerformance.
func networkOf(f family, vcpus int) string {
	switch {
	case f.burstable && f.nitro:
		return "Up to 5 Gigabit"
	case f.burstable:
		return "Low to Moderate"
	case vcpus <= 16:
		return "Up to 12.5 Gigabit"
	case vcpus <= 48:
		return "25 Gigabit"
	case vcpus <= 64:
		return "30 Gigabit"
	}
	return "50 Gigabit"
}

// runsOn says whether an image of arch runs on t.
func (t *instanceType) runsOn(arch string) bool { return slices.Contains(t.archs, arch) }

// instanceTypeField gives a type's values for DescribeInstanceTypes'
// filters: every one EC2 documents but ebs-info.ebs-optimized-info.*,
// which is answered as an unknown filter is.
func instanceTypeField(t *instanceType) fieldFunc {
	return func(name string) ([]string, bool) {
		one := func(v string) ([]string, bool) {
			if v == "" {
				return nil, true
			}
			return []string{v}, true
		}
		b := strconv.FormatBool
		n := strconv.Itoa
		switch name {
		case "instance-type":
			return one(t.name)
		case "auto-recovery-supported":
			return one(b(!t.bareMetal))
		case "bare-metal":
			return one(b(t.bareMetal))
		case "burstable-performance-supported":
			return one(b(t.burstable))
		case "current-generation":
			return one(b(t.current))
		case "dedicated-hosts-supported":
			return one(b(t.dedicatedHost))
		case "ebs-info.ebs-optimized-support":
			return one(t.ebsOptimized)
		case "ebs-info.encryption-support":
			return one("supported")
		case "ebs-info.nvme-support":
			if t.hypervisor == "xen" {
				return one("unsupported")
			}
			return one("required")
		case "ebs-info.attachment-limit-type":
			if t.maxVolumes == 0 {
				return nil, true
			}
			return one("shared")
		case "ebs-info.maximum-ebs-attachments":
			if t.maxVolumes == 0 {
				return nil, true
			}
			return one(n(t.maxVolumes))
		case "free-tier-eligible":
			return one(b(t.freeTier))
		case "hibernation-supported":
			return one(b(t.hibernation))
		case "hypervisor":
			return one(t.hypervisor)
		case "instance-storage-supported":
			return one("false")
		case "instance-storage-info.disk.count", "instance-storage-info.disk.size-in-gb", "instance-storage-info.disk.type",
			"instance-storage-info.encryption-support", "instance-storage-info.nvme-support", "instance-storage-info.total-size-in-gb",
			"network-info.efa-info.maximum-efa-interfaces", "processor-info.supported-features":
			return nil, true // no instance store, EFA or AMD SEV-SNP in the catalog
		case "memory-info.size-in-mib":
			return one(n(t.memoryMiB))
		case "network-info.bandwidth-weightings":
			return one("default")
		case "network-info.efa-supported", "network-info.encryption-in-transit-supported":
			return one("false")
		case "network-info.ena-support":
			return one(t.enaSupport)
		case "network-info.flexible-ena-queues-support", "reboot-migration-support":
			return one("unsupported")
		case "network-info.ipv4-addresses-per-interface":
			return one(n(t.ipv4PerENI))
		case "network-info.ipv6-addresses-per-interface":
			return one(n(t.ipv6PerENI()))
		case "network-info.ipv6-supported":
			return one(b(t.ipv6PerENI() > 0))
		case "network-info.maximum-network-cards":
			return one("1")
		case "network-info.maximum-network-interfaces":
			return one(n(t.interfaces))
		case "network-info.network-performance":
			return one(t.network)
		case "nitro-enclaves-support":
			return one(choose(t.enclaves, "supported", "unsupported"))
		case "nitro-tpm-support":
			return one(choose(t.nitroTPM, "supported", "unsupported"))
		case "nitro-tpm-info.supported-versions":
			if !t.nitroTPM {
				return nil, true
			}
			return one("2.0")
		case "processor-info.supported-architecture":
			return t.archs, true
		case "processor-info.sustained-clock-speed-in-ghz":
			if t.clockGHz == 0 {
				return nil, true
			}
			return one(strconv.FormatFloat(t.clockGHz, 'f', -1, 64))
		case "supported-boot-mode":
			return t.bootModes, true
		case "supported-root-device-type":
			return one("ebs")
		case "supported-usage-class":
			return []string{"on-demand", "spot"}, true
		case "supported-virtualization-type":
			if t.hypervisor == "xen" {
				return []string{"hvm", "paravirtual"}, true
			}
			return one("hvm")
		case "vcpu-info.default-cores":
			return one(n(t.cores()))
		case "vcpu-info.default-threads-per-core":
			return one(n(t.threads))
		case "vcpu-info.default-vcpus":
			return one(n(t.vcpus))
		case "vcpu-info.valid-cores":
			return intsToStrings(t.validCores()), true
		case "vcpu-info.valid-threads-per-core":
			return intsToStrings(t.validThreads()), true
		}
		return nil, false
	}
}

// ipv6PerENI: every type but the previous generation's takes IPv6, as
// many addresses as IPv4 ones.
func (t *instanceType) ipv6PerENI() int {
	if !t.current && t.name == "m1.small" {
		return 0
	}
	return t.ipv4PerENI
}

func (t *instanceType) cores() int { return max(1, t.vcpus/t.threads) }

// validCores: a burstable type's or a metal's core count is fixed;
// others may be launched with any number of cores up to theirs (EC2's
// lists are sparser; the simulator lists every count).
func (t *instanceType) validCores() []int {
	if t.burstable || t.bareMetal || t.name == "m1.small" {
		return nil
	}
	var out []int
	for c := 1; c <= t.cores(); c++ {
		out = append(out, c)
	}
	return out
}

func (t *instanceType) validThreads() []int {
	if t.burstable || t.bareMetal || t.name == "m1.small" {
		return nil
	}
	if t.threads == 2 {
		return []int{1, 2}
	}
	return []int{1}
}

func intsToStrings(xs []int) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.Itoa(x)
	}
	return out
}

// launchType checks RunInstances' InstanceType against the catalog and
// the image's architecture, as EC2 does.
func launchType(name string, img *image) (*instanceType, *apiError) {
	t := instanceTypes[name]
	if t == nil {
		return nil, newError("InvalidParameterValue", "Invalid value '%s' for InstanceType.", name)
	}
	if !t.runsOn(img.architecture) {
		return nil, newError("InvalidParameterValue", "The architecture '%s' of the specified instance type does not match the architecture '%s' of the specified AMI. "+
			"Specify an instance type and an AMI that have matching architectures, and try again. "+
			"You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.",
			t.archs[len(t.archs)-1], img.architecture)
	}
	return t, nil
}

func describeInstanceTypes(c *call) (any, *apiError) {
	p := c.params
	fs, err := p.untaggedFilters()
	if err != nil {
		return nil, err
	}
	if err := checkFilters(fs, instanceTypeField(instanceTypes["m1.small"])); err != nil {
		return nil, err
	}
	names := instanceTypeNames
	if wanted := p.list("InstanceType"); len(wanted) > 0 {
		var unknown []string
		for _, n := range wanted {
			if instanceTypes[n] == nil {
				unknown = append(unknown, n)
			}
		}
		if len(unknown) > 0 {
			return nil, newError("InvalidInstanceType", "The following supplied instance types do not exist: [%s]", strings.Join(unknown, ", "))
		}
		names = wanted
	}
	var found []instanceTypeXML
	seen := map[string]bool{}
	for _, n := range names {
		t := instanceTypes[n]
		if seen[n] || !matches(fs, nil, instanceTypeField(t)) {
			continue
		}
		seen[n] = true
		found = append(found, instanceTypeToXML(t))
	}
	page, next, err := paginateUpTo(p, found, 5, 100)
	if err != nil {
		return nil, err
	}
	return &describeInstanceTypesResponse{Types: items(page), NextToken: next}, nil
}

// The XML of instance types.

type processorInfoXML struct {
	Architectures itemSet[string] `xml:"supportedArchitectures"`
	ClockGHz      *float64        `xml:"sustainedClockSpeedInGhz,omitempty"`
	Manufacturer  string          `xml:"manufacturer"`
}

type vcpuInfoXML struct {
	DefaultVCpus   int           `xml:"defaultVCpus"`
	DefaultCores   int           `xml:"defaultCores"`
	DefaultThreads int           `xml:"defaultThreadsPerCore"`
	ValidCores     *itemSet[int] `xml:"validCores,omitempty"`
	ValidThreads   *itemSet[int] `xml:"validThreadsPerCore,omitempty"`
}

type memoryInfoXML struct {
	SizeInMiB int `xml:"sizeInMiB"`
}

type ebsInfoXML struct {
	EbsOptimizedSupport   string `xml:"ebsOptimizedSupport"`
	EncryptionSupport     string `xml:"encryptionSupport"`
	NvmeSupport           string `xml:"nvmeSupport"`
	AttachmentLimitType   string `xml:"attachmentLimitType,omitempty"`
	MaximumEbsAttachments int    `xml:"maximumEbsAttachments,omitempty"`
}

type networkCardXML struct {
	Index              int    `xml:"networkCardIndex"`
	NetworkPerformance string `xml:"networkPerformance"`
	MaxInterfaces      int    `xml:"maximumNetworkInterfaces"`
}

type networkInfoXML struct {
	NetworkPerformance  string                  `xml:"networkPerformance"`
	MaxInterfaces       int                     `xml:"maximumNetworkInterfaces"`
	MaxCards            int                     `xml:"maximumNetworkCards"`
	DefaultCardIndex    int                     `xml:"defaultNetworkCardIndex"`
	Cards               itemSet[networkCardXML] `xml:"networkCards"`
	IPv4PerInterface    int                     `xml:"ipv4AddressesPerInterface"`
	IPv6PerInterface    int                     `xml:"ipv6AddressesPerInterface"`
	IPv6Supported       bool                    `xml:"ipv6Supported"`
	EnaSupport          string                  `xml:"enaSupport"`
	EfaSupported        bool                    `xml:"efaSupported"`
	EncryptionInTransit bool                    `xml:"encryptionInTransitSupported"`
}

type placementGroupInfoXML struct {
	Strategies itemSet[string] `xml:"supportedStrategies"`
}

type instanceTypeXML struct {
	InstanceType                  string                `xml:"instanceType"`
	CurrentGeneration             bool                  `xml:"currentGeneration"`
	FreeTierEligible              bool                  `xml:"freeTierEligible"`
	SupportedUsageClasses         itemSet[string]       `xml:"supportedUsageClasses"`
	SupportedRootDeviceTypes      itemSet[string]       `xml:"supportedRootDeviceTypes"`
	SupportedVirtualizationTypes  itemSet[string]       `xml:"supportedVirtualizationTypes"`
	BareMetal                     bool                  `xml:"bareMetal"`
	Hypervisor                    string                `xml:"hypervisor,omitempty"`
	ProcessorInfo                 processorInfoXML      `xml:"processorInfo"`
	VCpuInfo                      vcpuInfoXML           `xml:"vCpuInfo"`
	MemoryInfo                    memoryInfoXML         `xml:"memoryInfo"`
	InstanceStorageSupported      bool                  `xml:"instanceStorageSupported"`
	EbsInfo                       ebsInfoXML            `xml:"ebsInfo"`
	NetworkInfo                   networkInfoXML        `xml:"networkInfo"`
	PlacementGroupInfo            placementGroupInfoXML `xml:"placementGroupInfo"`
	HibernationSupported          bool                  `xml:"hibernationSupported"`
	BurstablePerformanceSupported bool                  `xml:"burstablePerformanceSupported"`
	DedicatedHostsSupported       bool                  `xml:"dedicatedHostsSupported"`
	AutoRecoverySupported         bool                  `xml:"autoRecoverySupported"`
	SupportedBootModes            itemSet[string]       `xml:"supportedBootModes"`
	NitroEnclavesSupport          string                `xml:"nitroEnclavesSupport"`
	NitroTpmSupport               string                `xml:"nitroTpmSupport"`
}

type describeInstanceTypesResponse struct {
	Types     itemSet[instanceTypeXML] `xml:"instanceTypeSet"`
	NextToken string                   `xml:"nextToken,omitempty"`
}

func instanceTypeToXML(t *instanceType) instanceTypeXML {
	field := func(name string) string {
		v, _ := instanceTypeField(t)(name)
		return strings.Join(v, ",")
	}
	x := instanceTypeXML{
		InstanceType: t.name, CurrentGeneration: t.current, FreeTierEligible: t.freeTier,
		SupportedUsageClasses:        items([]string{"on-demand", "spot"}),
		SupportedRootDeviceTypes:     items([]string{"ebs"}),
		SupportedVirtualizationTypes: items(mustField(instanceTypeField(t), "supported-virtualization-type")),
		BareMetal:                    t.bareMetal, Hypervisor: t.hypervisor,
		ProcessorInfo: processorInfoXML{Architectures: items(t.archs), Manufacturer: t.manufacturer},
		VCpuInfo:      vcpuInfoXML{DefaultVCpus: t.vcpus, DefaultCores: t.cores(), DefaultThreads: t.threads},
		MemoryInfo:    memoryInfoXML{SizeInMiB: t.memoryMiB},
		EbsInfo: ebsInfoXML{
			EbsOptimizedSupport: t.ebsOptimized, EncryptionSupport: "supported", NvmeSupport: field("ebs-info.nvme-support"),
			MaximumEbsAttachments: t.maxVolumes,
		},
		NetworkInfo: networkInfoXML{
			NetworkPerformance: t.network, MaxInterfaces: t.interfaces, MaxCards: 1,
			Cards:            items([]networkCardXML{{NetworkPerformance: t.network, MaxInterfaces: t.interfaces}}),
			IPv4PerInterface: t.ipv4PerENI, IPv6PerInterface: t.ipv6PerENI(), IPv6Supported: t.ipv6PerENI() > 0,
			EnaSupport: t.enaSupport,
		},
		PlacementGroupInfo:            placementGroupInfoXML{Strategies: items([]string{"partition", "spread"})},
		HibernationSupported:          t.hibernation,
		BurstablePerformanceSupported: t.burstable,
		DedicatedHostsSupported:       t.dedicatedHost,
		AutoRecoverySupported:         !t.bareMetal,
		SupportedBootModes:            items(t.bootModes),
		NitroEnclavesSupport:          choose(t.enclaves, "supported", "unsupported"),
		NitroTpmSupport:               choose(t.nitroTPM, "supported", "unsupported"),
	}
	if t.maxVolumes > 0 {
		x.EbsInfo.AttachmentLimitType = "shared"
	}
	if !t.burstable && t.hypervisor != "xen" {
		x.PlacementGroupInfo.Strategies = items([]string{"cluster", "partition", "spread"})
	}
	if t.clockGHz > 0 {
		ghz := t.clockGHz
		x.ProcessorInfo.ClockGHz = &ghz
	}
	if cores := t.validCores(); cores != nil {
		vc, vt := items(cores), items(t.validThreads())
		x.VCpuInfo.ValidCores, x.VCpuInfo.ValidThreads = &vc, &vt
	}
	return x
}

func mustField(f fieldFunc, name string) []string {
	v, known := f(name)
	if !known {
		panic(fmt.Sprintf("ec2sim: no field %s", name))
	}
	return v
}
