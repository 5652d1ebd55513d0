//go:build linux

package ec2sim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

// documentedFilters are the filters the EC2 API reference (as
// aws-sdk-go-v2/service/ec2 v1.344 carries it) documents for each
// Describe call, tag:<key> aside.
var documentedFilters = map[string][]string{
	"DescribeImages": {
		"architecture", "block-device-mapping.delete-on-termination", "block-device-mapping.device-name",
		"block-device-mapping.snapshot-id", "block-device-mapping.volume-size", "block-device-mapping.volume-type",
		"block-device-mapping.encrypted", "boot-mode", "creation-date", "description", "ena-support", "free-tier-eligible",
		"hypervisor", "image-allowed", "image-id", "image-watermark.source-image-creation-time",
		"image-watermark.source-image-id", "image-watermark.source-image-region", "image-watermark.watermark-creation-time",
		"image-watermark.watermark-key", "image-type", "instance-type-specification.supported-instance-type",
		"instance-type-specification.unsupported-instance-type", "is-public", "kernel-id", "manifest-location", "name",
		"owner-alias", "owner-id", "platform", "product-code", "product-code.type", "public-ssm-parameter-name",
		"ramdisk-id", "root-device-name", "root-device-type", "scan-result.critical-fix-available-since",
		"scan-result.finding-scan-date", "scan-result.high-fix-available-since",
		"scan-result.highest-finding-severity-label", "scan-result.informational-fix-available-since",
		"scan-result.low-fix-available-since", "scan-result.medium-fix-available-since", "source-image-id",
		"source-image-region", "source-instance-id", "state", "state-reason-code", "state-reason-message",
		"sriov-net-support", "tag-key", "virtualization-type",
	},
	"DescribeInstances": {
		"affinity", "architecture", "availability-zone", "availability-zone-id", "block-device-mapping.attach-time",
		"block-device-mapping.delete-on-termination", "block-device-mapping.device-name", "block-device-mapping.status",
		"block-device-mapping.volume-id", "boot-mode", "capacity-reservation-id",
		"capacity-reservation-specification.capacity-reservation-preference", "client-token", "current-instance-boot-mode",
		"dns-name", "ebs-optimized", "ena-support", "enclave-options.enabled", "hibernation-options.configured", "host-id",
		"hypervisor", "iam-instance-profile.arn", "iam-instance-profile.id", "image-id", "instance-id", "instance-lifecycle",
		"instance-state-code", "instance-state-name", "instance-type", "instance.group-id", "instance.group-name",
		"ip-address", "ipv6-address", "kernel-id", "key-name", "launch-index", "launch-time",
		"maintenance-options.auto-recovery", "metadata-options.http-endpoint", "metadata-options.http-protocol-ipv4",
		"metadata-options.http-protocol-ipv6", "metadata-options.http-put-response-hop-limit",
		"metadata-options.http-tokens", "metadata-options.instance-metadata-tags", "metadata-options.state",
		"monitoring-state", "network-interface.addresses.association.allocation-id",
		"network-interface.addresses.association.association-id", "network-interface.addresses.association.carrier-ip",
		"network-interface.addresses.association.customer-owned-ip", "network-interface.addresses.association.ip-owner-id",
		"network-interface.addresses.association.public-dns-name", "network-interface.addresses.association.public-ip",
		"network-interface.addresses.primary", "network-interface.addresses.private-dns-name",
		"network-interface.addresses.private-ip-address", "network-interface.association.allocation-id",
		"network-interface.association.association-id", "network-interface.association.carrier-ip",
		"network-interface.association.customer-owned-ip", "network-interface.association.ip-owner-id",
		"network-interface.association.public-dns-name", "network-interface.association.public-ip",
		"network-interface.attachment.attach-time", "network-interface.attachment.attachment-id",
		"network-interface.attachment.delete-on-termination", "network-interface.attachment.device-index",
		"network-interface.attachment.instance-id", "network-interface.attachment.instance-owner-id",
		"network-interface.attachment.network-card-index", "network-interface.attachment.status",
		"network-interface.availability-zone", "network-interface.deny-all-igw-traffic", "network-interface.description",
		"network-interface.group-id", "network-interface.group-name", "network-interface.ipv4-prefixes.ipv4-prefix",
		"network-interface.ipv6-address", "network-interface.ipv6-addresses.ipv6-address",
		"network-interface.ipv6-addresses.is-primary-ipv6", "network-interface.ipv6-native",
		"network-interface.ipv6-prefixes.ipv6-prefix", "network-interface.mac-address",
		"network-interface.network-interface-id", "network-interface.operator.managed",
		"network-interface.operator.principal", "network-interface.outpost-arn", "network-interface.owner-id",
		"network-interface.private-dns-name", "network-interface.private-ip-address", "network-interface.public-dns-name",
		"network-interface.requester-id", "network-interface.requester-managed", "network-interface.status",
		"network-interface.source-dest-check", "network-interface.subnet-id", "network-interface.tag-key",
		"network-interface.tag-value", "network-interface.vpc-id", "network-performance-options.bandwidth-weighting",
		"operator.managed", "operator.principal", "outpost-arn", "owner-id", "placement-group-name",
		"placement-partition-number", "platform", "platform-details", "private-dns-name",
		"private-dns-name-options.enable-resource-name-dns-a-record",
		"private-dns-name-options.enable-resource-name-dns-aaaa-record", "private-dns-name-options.hostname-type",
		"private-ip-address", "product-code", "product-code.type", "ramdisk-id", "reason", "requester-id", "reservation-id",
		"root-device-name", "root-device-type", "source-dest-check", "spot-instance-request-id", "state-reason-code",
		"state-reason-message", "subnet-id", "tag-key", "tenancy", "tpm-support", "usage-operation",
		"usage-operation-update-time", "virtualization-type", "vpc-id",
	},
	"DescribeSecurityGroups": {
		"description", "egress.ip-permission.cidr", "egress.ip-permission.from-port", "egress.ip-permission.group-id",
		"egress.ip-permission.group-name", "egress.ip-permission.ipv6-cidr", "egress.ip-permission.prefix-list-id",
		"egress.ip-permission.protocol", "egress.ip-permission.to-port", "egress.ip-permission.user-id", "group-id",
		"group-name", "ip-permission.cidr", "ip-permission.from-port", "ip-permission.group-id", "ip-permission.group-name",
		"ip-permission.ipv6-cidr", "ip-permission.prefix-list-id", "ip-permission.protocol", "ip-permission.to-port",
		"ip-permission.user-id", "owner-id", "tag-key", "vpc-id",
	},
	"DescribeVolumes": {
		"attachment.attach-time", "attachment.delete-on-termination", "attachment.device", "attachment.instance-id",
		"attachment.status", "availability-zone", "availability-zone-id", "create-time", "encrypted", "fast-restored",
		"multi-attach-enabled", "operator.managed", "operator.principal", "size", "snapshot-id", "status", "tag-key",
		"volume-id", "volume-type",
	},
	"DescribeSnapshots": {
		"description", "encrypted", "owner-alias", "owner-id", "progress", "snapshot-id", "start-time", "status",
		"storage-tier", "transfer-type", "tag-key", "volume-id", "volume-size",
	},
}

// Every documented filter is known: a request naming it is answered,
// never refused as an unknown filter is.
func TestEveryDocumentedFilterIsKnown(t *testing.T) {
	w := newWorld(t, ec2sim.Options{RateLimitScale: 10})
	c := w.ec2(home)
	id := w.run(home, w.base, "")
	w.instance(home, id)
	describe := map[string]func([]types.Filter) (int, error){
		"DescribeImages": func(f []types.Filter) (int, error) {
			out, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: f})
			if err != nil {
				return 0, err
			}
			return len(out.Images), nil
		},
		"DescribeInstances": func(f []types.Filter) (int, error) {
			out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: f})
			if err != nil {
				return 0, err
			}
			return len(out.Reservations), nil
		},
		"DescribeSecurityGroups": func(f []types.Filter) (int, error) {
			out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: f})
			if err != nil {
				return 0, err
			}
			return len(out.SecurityGroups), nil
		},
		"DescribeVolumes": func(f []types.Filter) (int, error) {
			out, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: f})
			if err != nil {
				return 0, err
			}
			return len(out.Volumes), nil
		},
		"DescribeSnapshots": func(f []types.Filter) (int, error) {
			out, err := c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{Filters: f, OwnerIds: []string{"self"}})
			if err != nil {
				return 0, err
			}
			return len(out.Snapshots), nil
		},
	}
	vol := *w.instance(home, id).BlockDeviceMappings[0].Ebs.VolumeId
	must[*ec2.CreateSnapshotOutput](t)(c.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(vol)}))
	for action, names := range documentedFilters {
		for _, name := range append(names, "tag:Name", "tag-value") {
			if _, err := describe[action]([]types.Filter{filter(name, "*")}); err != nil {
				t.Errorf("%s with the filter %s: %v", action, name, err)
			}
		}
		_, err := describe[action]([]types.Filter{filter("no-such-filter", "*")})
		if wantCode(t, err, "InvalidParameterValue"); errorMessage(err) != "The filter 'no-such-filter' is invalid" {
			t.Errorf("%s with an unknown filter: %q", action, errorMessage(err))
		}
	}

	// A few of them at work.
	sgDefault := must[*ec2.DescribeSecurityGroupsOutput](t)(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"default"}}))
	in := w.instance(home, id)
	for _, tc := range []struct {
		action string
		f      []types.Filter
		want   int
	}{
		{"DescribeInstances", []types.Filter{filter("availability-zone-id", "use1-az1")}, 1},
		{"DescribeInstances", []types.Filter{filter("dns-name", *in.PublicDnsName), filter("private-dns-name", *in.PrivateDnsName)}, 1},
		{"DescribeInstances", []types.Filter{filter("launch-index", "0"), filter("tenancy", "default"), filter("hypervisor", "xen")}, 1},
		{"DescribeInstances", []types.Filter{filter("network-interface.mac-address", *in.NetworkInterfaces[0].MacAddress)}, 1},
		{"DescribeInstances", []types.Filter{filter("network-interface.subnet-id", *in.SubnetId), filter("network-interface.status", "in-use")}, 1},
		{"DescribeInstances", []types.Filter{filter("block-device-mapping.status", "attached"), filter("metadata-options.state", "applied")}, 1},
		{"DescribeInstances", []types.Filter{filter("instance-lifecycle", "spot")}, 0},
		{"DescribeInstances", []types.Filter{filter("platform", "windows")}, 0},
		{"DescribeImages", []types.Filter{filter("manifest-location", "amazon/al2023-*"), filter("sriov-net-support", "simple")}, 1},
		{"DescribeImages", []types.Filter{filter("free-tier-eligible", "true"), filter("boot-mode", "legacy-bios")}, 1},
		{"DescribeImages", []types.Filter{filter("kernel-id", "*")}, 0},
		{"DescribeSecurityGroups", []types.Filter{filter("egress.ip-permission.cidr", "0.0.0.0/0"), filter("ip-permission.group-name", "default")}, 1},
		{"DescribeSecurityGroups", []types.Filter{filter("ip-permission.user-id", ec2sim.Account), filter("egress.ip-permission.protocol", "-1")}, 1},
		{"DescribeSecurityGroups", []types.Filter{filter("egress.ip-permission.group-id", *sgDefault.SecurityGroups[0].GroupId)}, 0},
		{"DescribeVolumes", []types.Filter{filter("availability-zone-id", "use1-az1"), filter("multi-attach-enabled", "false")}, 1},
		{"DescribeVolumes", []types.Filter{filter("attachment.attach-time", "20*")}, 1},
		{"DescribeSnapshots", []types.Filter{filter("transfer-type", "standard"), filter("volume-id", vol)}, 1},
	} {
		n, err := describe[tc.action](tc.f)
		if err != nil || n != tc.want {
			t.Errorf("%s with %s=%v: %d, %v; want %d", tc.action, *tc.f[0].Name, tc.f[0].Values, n, err, tc.want)
		}
	}
}
