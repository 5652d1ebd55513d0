package rules

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/imgraph/imgraph/label"
)

// AWS defaults, as Packer's amazon-ebs users expect them.
const (
	DefaultInstanceType = "t3.micro"
	DefaultSSHUser      = "ec2-user"
	DefaultSSHPort      = 22
	DefaultVolumeSizeGB = 8
)

// imageBuiltin is image(...): it declares one image of the package being
// loaded. Problems an image has on its own (a missing file, a bad region)
// are collected, so one run reports them all.
func imageBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		name, description, salt                    optString
		parent, instanceType, sshUser, kms, subnet optString
		publishSSM                                 optString
		source                                     starlark.Value = starlark.None
		provision                                  provisionList
		artifacts                                  artifactDict
		regions, shareWith                         stringList
		tags                                       stringDict
		sshPort, volumeSize                        optInt
		encrypted                                  optBool
	)
	if len(args) > 0 {
		return nil, fmt.Errorf("image: takes only keyword arguments (name = ..., ...)")
	}
	if err := unpack(b, args, kwargs,
		"name", &name, "parent?", &parent, "source?", &source,
		"provision?", &provision, "artifacts?", &artifacts, "salt?", &salt,
		"regions?", &regions, "tags?", &tags, "description?", &description,
		"instance_type?", &instanceType, "ssh_user?", &sshUser, "ssh_port?", &sshPort,
		"volume_size_gb?", &volumeSize, "encrypted?", &encrypted, "kms_key?", &kms,
		"subnet?", &subnet, "share_with?", &shareWith, "publish_ssm?", &publishSSM,
	); err != nil {
		return nil, err
	}
	ts := stateOf(t)
	pos := callerPos(t)
	if ts.build == nil {
		return nil, l.at(pos, "image() may only be called while loading an IMAGES.star (a macro may call it when an IMAGES.star calls the macro)")
	}
	st := ts.build
	if msg := label.CheckName(name.s); msg != "" || strings.Contains(name.s, "/") {
		if msg == "" {
			msg = "image names may not contain '/'"
		}
		return nil, l.at(pos, "image: name %q: %s", name.s, msg)
	}
	if prev, dup := st.names[name.s]; dup {
		e := l.at(pos, "image %q is declared twice in //%s", name.s, st.pkg)
		e.Hint = fmt.Sprintf("the first is at %s; every target of a package needs its own name", prev)
		st.errs = append(st.errs, e)
		return starlark.None, nil
	}
	st.names[name.s] = pos

	im := &Image{
		Label:       label.Label{Pkg: st.pkg, Name: name.s},
		Pos:         pos,
		Provision:   provision,
		Artifacts:   artifacts,
		Salt:        salt.s,
		Tags:        tags,
		Description: description.s,
		PublishSSM:  publishSSM.s,
		AWS: AWSAttrs{
			InstanceType: or(instanceType.s, DefaultInstanceType),
			SSHUser:      or(sshUser.s, DefaultSSHUser),
			SSHPort:      DefaultSSHPort,
			VolumeSizeGB: DefaultVolumeSizeGB,
			Encrypted:    true,
			KMSKey:       kms.s,
			Subnet:       subnet.s,
		},
	}
	if sshPort.set {
		im.AWS.SSHPort = sshPort.n
	}
	if volumeSize.set {
		im.AWS.VolumeSizeGB = volumeSize.n
	}
	if encrypted.set {
		im.AWS.Encrypted = encrypted.b
	}
	bad := func(format string, args ...any) {
		st.errs = append(st.errs, l.at(pos, "image %q: "+format, append([]any{name.s}, args...)...))
	}

	switch {
	case parent.set && source != starlark.None:
		bad("give parent or source, not both")
	case !parent.set && source == starlark.None:
		bad("give parent = \"//pkg:image\" or source = ami(...) / ami_filter(...) / ssm_parameter(...) / rootfs(...)")
	case parent.set:
		p, err := label.ParseRelative(parent.s, st.pkg)
		if err != nil {
			bad("parent: %v", err)
		}
		im.Parent = p
	default:
		var sv sourceValue
		if err := sv.Unpack(source); err != nil {
			bad("source: %v", err)
		} else {
			im.Source = sv.src
		}
	}

	for i := range im.Provision {
		p := &im.Provision[i]
		for _, f := range []*File{p.Script, p.Src} {
			if f == nil {
				continue
			}
			what := "script"
			if p.Kind == ProvisionCopy {
				what = "copy src"
			}
			if !l.fileExists(f.Path) {
				e := l.at(p.Pos, "image %q: %s %s does not exist", name.s, what, f.Label)
				e.Hint = fmt.Sprintf("looked for %s", relToRoot(l, f.Path))
				st.errs = append(st.errs, e)
			}
		}
	}
	if im.Source != nil && im.Source.File != nil {
		if !l.fileExists(im.Source.File.Path) {
			e := l.at(im.Source.Pos, "image %q: rootfs %s does not exist", name.s, im.Source.File.Label)
			e.Hint = fmt.Sprintf("looked for %s", relToRoot(l, im.Source.File.Path))
			st.errs = append(st.errs, e)
		}
	}

	home := l.ws.HomeRegion
	im.Regions = []string{home}
	for _, r := range regions {
		if !regionRE.MatchString(r) {
			bad("regions: %q is not a region name such as \"eu-west-1\"", r)
			continue
		}
		if !contains(im.Regions, r) {
			im.Regions = append(im.Regions, r)
		}
	}
	sort.Strings(im.Regions[1:])
	for k := range tags {
		if k == "" || strings.HasPrefix(k, "imgraph:") {
			bad("tags: %q is reserved: imgraph writes the imgraph: tags itself", k)
		}
	}
	for _, a := range shareWith {
		if !AccountRE.MatchString(a) && !OrgARNRE.MatchString(a) && !OUARNRE.MatchString(a) {
			bad("share_with: %q is neither a 12-digit account id, an organization ARN "+
				"(arn:aws:organizations::123456789012:organization/o-…) nor an organizational unit ARN (…:ou/o-…/ou-…)", a)
		}
	}
	im.ShareWith = append([]string(nil), shareWith...)
	sort.Strings(im.ShareWith)
	if publishSSM.set && !strings.HasPrefix(publishSSM.s, "/") {
		bad("publish_ssm: %q is not a parameter path such as \"/images/api/latest\"", publishSSM.s)
	}
	if im.AWS.SSHPort < 1 || im.AWS.SSHPort > 65535 {
		bad("ssh_port: %d is not a port", im.AWS.SSHPort)
	}
	if im.AWS.VolumeSizeGB < 1 || im.AWS.VolumeSizeGB > 16384 {
		bad("volume_size_gb: %d is outside 1 to 16384", im.AWS.VolumeSizeGB)
	}
	if kms.set && !im.AWS.Encrypted {
		bad("kms_key is set but encrypted = False")
	}
	if kms.set && im.AWS.Encrypted {
		// Found now, not when the first copy fails after a bake.
		for _, r := range im.Regions {
			if _, err := im.AWS.KMSKeyIn(r); err != nil {
				bad("%v", err)
				break
			}
		}
	}
	st.images = append(st.images, im)
	return starlark.None, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func relToRoot(l *Loader, p string) string {
	if rel, ok := strings.CutPrefix(p, l.ws.Root+string(os.PathSeparator)); ok {
		return rel
	}
	return p
}
