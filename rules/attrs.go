package rules

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Attrs renders the image's attributes the way Bazel's attr() query sees
// them: lists as [a, b], dicts as {k: v}, booleans as True and False.
func (im *Image) Attrs() map[string]string {
	attrs := map[string]string{
		"name":             im.Label.Name,
		"description":      im.Description,
		"salt":             im.Salt,
		"regions":          "[" + strings.Join(im.Regions, ", ") + "]",
		"tags":             renderDict(im.Tags),
		"share_with":       "[" + strings.Join(im.ShareWith, ", ") + "]",
		"publish_ssm":      im.PublishSSM,
		"launch_templates": "[" + strings.Join(im.LaunchTemplates, ", ") + "]",
		"deprecate_after":  FormatLifetime(im.DeprecateAfter),
		"instance_type":    im.AWS.InstanceType,
		"ssh_user":         im.AWS.SSHUser,
		"ssh_port":         strconv.Itoa(im.AWS.SSHPort),
		"ssh_timeout":      durationAttr(im.AWS.SSHTimeout),
		"volume_size_gb":   strconv.Itoa(im.AWS.VolumeSizeGB),
		"encrypted":        starlarkBool(im.AWS.Encrypted),
		"kms_key":          im.AWS.KMSKey,
		"subnet":           im.AWS.Subnet,
		"ssh_interface":    im.AWS.Network.SSHInterface,
		"security_groups":  "[" + strings.Join(im.AWS.Network.SecurityGroups, ", ") + "]",
		"subnet_filter":    renderDict(im.AWS.Network.SubnetFilter),
	}
	if !im.Parent.IsZero() {
		attrs["parent"] = im.Parent.String()
	}
	if im.Source != nil {
		attrs["source"] = im.Source.Describe()
	}
	var arts []string
	for _, a := range im.Artifacts {
		arts = append(arts, fmt.Sprintf("%s: %s", a.Name, a.URL))
	}
	attrs["artifacts"] = "{" + strings.Join(arts, ", ") + "}"
	maps.Copy(attrs, im.AWS.awsBuildAttrs())
	return attrs
}

func renderDict(m map[string]string) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kv = append(kv, k+": "+m[k])
	}
	return "{" + strings.Join(kv, ", ") + "}"
}

// starlarkBool renders a bool as an IMAGES.star file writes it.
func starlarkBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// durationAttr renders a duration as image() takes it, "" for none.
func durationAttr(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}
