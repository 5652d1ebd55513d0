package rules

import (
	"fmt"
	"regexp"

	"go.starlark.net/starlark"
)

// IAMNameRE is what IAM accepts as an instance profile's name.
var IAMNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

// MaxUserData is EC2's limit on user data, before base64.
const MaxUserData = 16 * 1024

// checkBuildInstance checks, and completes im with, the aws attributes of
// the build instance that name something outside the call: its IAM
// instance profile and its user data file, read now so that its content
// is in the key.
func (p *imageProblems) checkBuildInstance(t *starlark.Thread, im *Image, a *awsImageArgs) {
	p.checkInstanceArch(im)
	if a.iamInstanceProfile.set && !IAMNameRE.MatchString(a.iamInstanceProfile.s) {
		p.attr("iam_instance_profile", "%q is not an instance profile name: 1 to 128 letters, digits and + = , . @ _ -", a.iamInstanceProfile.s)
	}
	if !a.userData.set {
		return
	}
	f, err := p.l.resolveFile(t, a.userData.s)
	if err != nil {
		p.attr("user_data", "%v", err)
		return
	}
	typ, exists := p.l.fileType(f.Path)
	switch {
	case !exists:
		p.attr("user_data", "%s does not exist", f.Label)
		p.st.errs[len(p.st.errs)-1].Hint = fmt.Sprintf("looked for %s", relToRoot(p.l, f.Path))
		return
	case !typ.IsRegular():
		p.attr("user_data", "%s is a %s, not a file", f.Label, kindOf(typ))
		return
	}
	b, err := ReadFile(f.Path)
	switch {
	case err != nil:
		p.attr("user_data", "%v", err)
	case len(b) > MaxUserData:
		p.attr("user_data", "%s is %d bytes; EC2 takes at most %d (16 KB) of user data", f.Label, len(b), MaxUserData)
	default:
		im.AWS.UserData, im.AWS.UserDataFile = string(b), f
	}
}

// checkInstanceArch picks the default instance type of the source's
// architecture when the source says it (ami_filter's architecture), and
// refuses a type of another architecture. Otherwise the bake does both,
// once it has described the image it starts from.
func (p *imageProblems) checkInstanceArch(im *Image) {
	if im.Source == nil || im.Source.Kind != SourceAMIFilter {
		return
	}
	arch := BuildArch(im.Source.Architecture)
	if arch == "" {
		return
	}
	p.checkSpotArch(im, arch)
	if im.AWS.InstanceTypeDefaulted {
		im.AWS.InstanceType = DefaultInstanceTypeFor(arch)
		return
	}
	if got := InstanceTypeArch(im.AWS.InstanceType); got != "" && got != arch {
		p.attr("instance_type", "%s runs %s, but the source is %s: use an %s type such as %s, or leave instance_type out to get it",
			im.AWS.InstanceType, got, im.Source.Architecture, arch, DefaultInstanceTypeFor(arch))
	}
}
