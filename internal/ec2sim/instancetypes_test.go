//go:build linux

package ec2sim_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func TestDescribeInstanceTypes(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	out := must[*ec2.DescribeInstanceTypesOutput](t)(c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{
		InstanceTypes: []types.InstanceType{types.InstanceTypeT3Micro, types.InstanceTypeM7gLarge},
	}))
	if len(out.InstanceTypes) != 2 {
		t.Fatalf("%d types", len(out.InstanceTypes))
	}
	t3, m7g := out.InstanceTypes[0], out.InstanceTypes[1]
	if t3.InstanceType != types.InstanceTypeT3Micro || !slices.Equal(t3.ProcessorInfo.SupportedArchitectures, []types.ArchitectureType{types.ArchitectureTypeX8664}) ||
		*t3.VCpuInfo.DefaultVCpus != 2 || *t3.MemoryInfo.SizeInMiB != 1024 || !*t3.BurstablePerformanceSupported || !*t3.FreeTierEligible ||
		t3.Hypervisor != types.InstanceTypeHypervisorNitro || !*t3.CurrentGeneration || t3.NetworkInfo == nil || *t3.NetworkInfo.MaximumNetworkInterfaces != 2 {
		t.Errorf("t3.micro: %+v", t3)
	}
	if !slices.Equal(m7g.ProcessorInfo.SupportedArchitectures, []types.ArchitectureType{types.ArchitectureTypeArm64}) ||
		*m7g.VCpuInfo.DefaultVCpus != 2 || *m7g.MemoryInfo.SizeInMiB != 8192 || *m7g.BurstablePerformanceSupported ||
		!slices.Contains(m7g.SupportedBootModes, types.BootModeTypeUefi) {
		t.Errorf("m7g.large: %+v", m7g)
	}

	// Every family the issue names is there, each type with its
	// architecture.
	all := map[string]types.InstanceTypeInfo{}
	p := ec2.NewDescribeInstanceTypesPaginator(c, &ec2.DescribeInstanceTypesInput{MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page := must[*ec2.DescribeInstanceTypesOutput](t)(p.NextPage(ctx))
		for _, it := range page.InstanceTypes {
			all[string(it.InstanceType)] = it
		}
	}
	for _, family := range []string{"t3", "t3a", "t4g", "m5", "m6g", "m7g", "c5", "c6g", "c7g"} {
		n := 0
		for name, it := range all {
			if strings.HasPrefix(name, family+".") {
				n++
				arm := strings.Contains(family, "g")
				if got := it.ProcessorInfo.SupportedArchitectures; arm != slices.Contains(got, types.ArchitectureTypeArm64) {
					t.Errorf("%s: architectures %v", name, got)
				}
			}
		}
		if n < 5 {
			t.Errorf("family %s has %d types", family, n)
		}
	}

	// Filters: by architecture, by size, several values.
	arm := must[*ec2.DescribeInstanceTypesOutput](t)(c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{Filters: []types.Filter{
		filter("processor-info.supported-architecture", "arm64"), filter("instance-type", "t*"),
	}}))
	var names []string
	for _, it := range arm.InstanceTypes {
		names = append(names, string(it.InstanceType))
	}
	if len(names) != 7 || !slices.Contains(names, "t4g.nano") || !slices.Contains(names, "t4g.2xlarge") {
		t.Errorf("arm64 t types: %v", names)
	}
	small := must[*ec2.DescribeInstanceTypesOutput](t)(c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{Filters: []types.Filter{
		filter("vcpu-info.default-vcpus", "2"), filter("memory-info.size-in-mib", "4096"), filter("current-generation", "true"),
		filter("processor-info.supported-architecture", "x86_64"),
	}}))
	names = nil
	for _, it := range small.InstanceTypes {
		names = append(names, string(it.InstanceType))
	}
	if want := []string{"c5.large", "c6a.large", "c6i.large", "c7i.large", "t2.medium", "t3.medium", "t3a.medium"}; !slices.Equal(names, want) {
		t.Errorf("2 vCPUs and 4 GiB: %v; want %v", names, want)
	}
	free := must[*ec2.DescribeInstanceTypesOutput](t)(c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{Filters: []types.Filter{filter("free-tier-eligible", "true")}}))
	if len(free.InstanceTypes) != 2 {
		t.Errorf("%d free tier types", len(free.InstanceTypes))
	}

	_, err := c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{"t3.bogus", "t3.micro"}})
	if wantCode(t, err, "InvalidInstanceType"); errorMessage(err) != "The following supplied instance types do not exist: [t3.bogus]" {
		t.Errorf("message %q", errorMessage(err))
	}
	_, err = c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{Filters: []types.Filter{filter("flavour", "x")}})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{MaxResults: aws.Int32(101)})
	wantCode(t, err, "InvalidParameterValue")
}

func TestInstanceTypesAgainstImages(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	armImage, err := w.sim.RegisterImage(home, ec2sim.BaseImage{
		Name: "al2023-ami-2023.6.20261101.0-kernel-6.1-arm64", Owner: "amazon", Architecture: "arm64", RootFS: busyboxRootfs(t),
		Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func(image string, it types.InstanceType) error {
		_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(image), InstanceType: it, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		return err
	}
	err = run(w.base, "t3.bogus")
	if wantCode(t, err, "InvalidParameterValue"); errorMessage(err) != "Invalid value 't3.bogus' for InstanceType." {
		t.Errorf("an unknown type: %q", errorMessage(err))
	}
	err = run(w.base, types.InstanceTypeC7gLarge)
	if wantCode(t, err, "InvalidParameterValue"); !strings.HasPrefix(errorMessage(err),
		"The architecture 'arm64' of the specified instance type does not match the architecture 'x86_64' of the specified AMI.") {
		t.Errorf("an arm64 type for an x86_64 image: %q", errorMessage(err))
	}
	wantCode(t, run(armImage, types.InstanceTypeM5Large), "InvalidParameterValue")
	if err := run(armImage, types.InstanceTypeT4gSmall); err != nil {
		t.Errorf("t4g.small of an arm64 image: %v", err)
	}
	if err := run(w.base, types.InstanceTypeT3aMedium); err != nil {
		t.Errorf("t3a.medium of an x86_64 image: %v", err)
	}
}
