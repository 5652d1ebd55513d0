package aws

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/rules"
)

// Platform is the aws platform as plan and explain know it, with no
// account: its key parts and the distribution it applies.
type Platform struct{}

var _ bake.Platform = Platform{}

// Name is "aws".
func (Platform) Name() string { return rules.PlatformAWS }

// Accepts the sources that name an AMI: ami, ami_filter, ssm_parameter.
func (Platform) Accepts(src *rules.Source) bool {
	switch src.Kind {
	case rules.SourceAMI, rules.SourceAMIFilter, rules.SourceSSM:
		return true
	}
	return false
}

// amiIDRE is the form of an AMI's id: eight or seventeen hex digits.
var amiIDRE = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)

// CheckImageID accepts AMI ids.
func (Platform) CheckImageID(id string) error {
	if !amiIDRE.MatchString(id) {
		return fmt.Errorf("%q is not an AMI id (ami- and 8 or 17 hex digits)", id)
	}
	return nil
}

// KeyParts are the attributes that decide what an AMI holds and how its
// volume is made. How the build instance is reached (ssh_port, subnet) is
// not content, and is left out.
func (Platform) KeyParts(im *rules.Image) []bake.KeyPart {
	a := im.AWS
	parts := []bake.KeyPart{
		{Name: "instance_type", Value: a.InstanceType},
		{Name: "ssh_user", Value: a.SSHUser},
		{Name: "volume_size_gb", Value: strconv.Itoa(a.VolumeSizeGB)},
		{Name: "encrypted", Value: strconv.FormatBool(a.Encrypted)},
		{Name: "kms_key", Value: a.KMSKey},
	}
	return append(parts, buildKeyParts(a)...)
}

// Distribution is all of d: AMIs carry tags, launch permissions and SSM
// parameters.
func (Platform) Distribution(d bake.Distribution) bake.Distribution { return d }
