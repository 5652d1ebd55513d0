package rules

import (
	"slices"
	"strings"
	"time"
)

// AWS defaults, as Packer's amazon-ebs users expect them.
const (
	DefaultInstanceType = "t3.micro"
	DefaultSSHUser      = "ec2-user"
	DefaultSSHPort      = 22
	DefaultVolumeSizeGB = 8
)

// DefaultAWSAttrs are the aws attributes of an image that sets none.
func DefaultAWSAttrs() AWSAttrs {
	return AWSAttrs{
		InstanceType: DefaultInstanceType,
		// The bake picks the type of the image's architecture.
		InstanceTypeDefaulted: true,
		SSHUser:               DefaultSSHUser,
		SSHPort:               DefaultSSHPort,
		VolumeSizeGB:          DefaultVolumeSizeGB,
		Encrypted:             true,
	}
}

// WithDefaults is a with the defaults in place of the attributes left at
// their zero value. Encrypted stays as it is: false may be a choice.
func (a AWSAttrs) WithDefaults() AWSAttrs {
	def := DefaultAWSAttrs()
	if a.InstanceType == "" {
		a.InstanceType, a.InstanceTypeDefaulted = def.InstanceType, true
	}
	if a.SSHUser == "" {
		a.SSHUser = def.SSHUser
	}
	if a.SSHPort == 0 {
		a.SSHPort = def.SSHPort
	}
	if a.VolumeSizeGB == 0 {
		a.VolumeSizeGB = def.VolumeSizeGB
	}
	return a
}

// awsImageArgs are the arguments of image(...) that are the aws
// platform's attributes.
type awsImageArgs struct {
	instanceType, sshUser, kmsKey, subnet optString
	sshTimeout                            optString
	sshPort, volumeSize                   optInt
	encrypted                             optBool
	shareWith                             stringList
	publishSSM                            optString
	launchTemplates                       stringList
	deprecateAfter                        optString
	iamInstanceProfile, userData          optString
	spot                                  spotArg
	rootVolume                            volumeArg
	volumes                               volumeList
	bootMode, tpmSupport, imdsSupport     optString
	enaSupport                            optBool
	net                                   awsNetworkArgs
}

// params are the parameters for unpack, in the order image() lists them.
func (a *awsImageArgs) params() []any {
	return []any{
		"instance_type?", &a.instanceType, "ssh_user?", &a.sshUser, "ssh_port?", &a.sshPort, "ssh_timeout?", &a.sshTimeout,
		"volume_size_gb?", &a.volumeSize, "encrypted?", &a.encrypted, "kms_key?", &a.kmsKey,
		"subnet?", &a.subnet, "share_with?", &a.shareWith, "publish_ssm?", &a.publishSSM,
		"launch_templates?", &a.launchTemplates, "deprecate_after?", &a.deprecateAfter,
		"iam_instance_profile?", &a.iamInstanceProfile, "user_data?", &a.userData, "spot?", &a.spot,
		"root_volume?", &a.rootVolume, "volumes?", &a.volumes,
		"boot_mode?", &a.bootMode, "tpm_support?", &a.tpmSupport, "ena_support?", &a.enaSupport, "imds_support?", &a.imdsSupport,
		"ssh_interface?", &a.net.sshInterface, "associate_public_ip?", &a.net.associatePublicIP,
		"security_groups?", &a.net.securityGroups, "subnet_filter?", &a.net.subnetFilter,
	}
}

// attrs are the attributes the arguments give, defaults where they give
// none. An empty instance_type or ssh_user is none; ssh_port = 0 is a port
// that checkAWSAttrs rejects.
func (a *awsImageArgs) attrs() AWSAttrs {
	attrs := DefaultAWSAttrs()
	if a.instanceType.s != "" {
		attrs.InstanceType, attrs.InstanceTypeDefaulted = a.instanceType.s, false
	}
	if a.sshUser.s != "" {
		attrs.SSHUser = a.sshUser.s
	}
	if a.sshPort.set {
		attrs.SSHPort = a.sshPort.n
	}
	if a.volumeSize.set {
		attrs.VolumeSizeGB = a.volumeSize.n
	}
	if a.encrypted.set {
		attrs.Encrypted = a.encrypted.b
	}
	attrs.KMSKey = a.kmsKey.s
	attrs.Subnet = a.subnet.s
	attrs.IAMInstanceProfile = a.iamInstanceProfile.s
	attrs.Spot = a.spot.s
	attrs.SSHTimeout, _ = time.ParseDuration(a.sshTimeout.s) // checked by checkAWSAttrs
	attrs.Network = a.net.network()
	return attrs
}

func (a *awsImageArgs) sortedShareWith() []string {
	s := append([]string(nil), a.shareWith...)
	slices.Sort(s)
	return s
}

// sortedLaunchTemplates are the launch templates' names, sorted, each
// once (checkAWSAttrs reports a name given twice).
func (a *awsImageArgs) sortedLaunchTemplates() []string {
	s := slices.Clone([]string(a.launchTemplates))
	slices.Sort(s)
	return slices.Compact(s)
}

// deprecateAfterOf is the deprecate_after the arguments give, 0 for none
// (or for one checkAWSAttrs rejects).
func (a *awsImageArgs) deprecateAfterOf() time.Duration {
	d, _ := ParseLifetime(a.deprecateAfter.s)
	return d
}

// checkAWSAttrs checks the aws platform's attributes of im, as built from a.
func (p *imageProblems) checkAWSAttrs(im *Image, a *awsImageArgs) {
	for _, s := range a.shareWith {
		if !AccountRE.MatchString(s) && !OrgARNRE.MatchString(s) && !OUARNRE.MatchString(s) {
			p.attr("share_with", "%q is neither a 12-digit account id, an organization ARN "+
				"(arn:aws:organizations::123456789012:organization/o-…) nor an organizational unit ARN (…:ou/o-…/ou-…)", s)
		}
	}
	seen := map[string]bool{}
	for _, name := range a.launchTemplates {
		switch {
		case !LaunchTemplateNameRE.MatchString(name):
			p.attr("launch_templates", "%q is not a launch template name: 3 to 128 letters, digits and ( ) . - / _", name)
		case seen[name]:
			p.attr("launch_templates", "%q is named twice", name)
		}
		seen[name] = true
	}
	if a.deprecateAfter.set {
		if _, err := ParseLifetime(a.deprecateAfter.s); err != nil {
			p.attr("deprecate_after", "%v", err)
		}
	}
	if a.publishSSM.set && !strings.HasPrefix(a.publishSSM.s, "/") {
		p.attr("publish_ssm", "%q is not a parameter path such as \"/images/api/latest\"", a.publishSSM.s)
	}
	if im.AWS.SSHPort < 1 || im.AWS.SSHPort > 65535 {
		p.attr("ssh_port", "%d is not a port", im.AWS.SSHPort)
	}
	if a.sshTimeout.set {
		if d, err := time.ParseDuration(a.sshTimeout.s); err != nil || d < time.Second || d > 24*time.Hour {
			p.attr("ssh_timeout", "%q is not a duration from 1s to 24h, such as \"10m\"", a.sshTimeout.s)
		}
	}
	if im.AWS.VolumeSizeGB < 1 || im.AWS.VolumeSizeGB > 16384 {
		p.attr("volume_size_gb", "%d is outside 1 to 16384", im.AWS.VolumeSizeGB)
	}
	p.checkAWSNetwork(a)
	if a.kmsKey.set && !im.AWS.Encrypted {
		p.attr("kms_key", "set, but encrypted = False")
	}
	if a.kmsKey.set && im.AWS.Encrypted {
		// Found now, not when the first copy fails after a bake.
		for _, r := range im.Regions {
			if _, err := im.AWS.KMSKeyIn(r); err != nil {
				p.add("%v", err)
				break
			}
		}
	}
}
