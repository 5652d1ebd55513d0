package rules

import (
	"strconv"
	"strings"
)

// awsBuildAttrs are the attributes of the build instance, its volumes
// and the AMI, as attr() sees them; "" where the image gives none.
func (a AWSAttrs) awsBuildAttrs() map[string]string {
	attrs := map[string]string{
		"iam_instance_profile": a.IAMInstanceProfile,
		"user_data":            "",
		"spot":                 "",
		"boot_mode":            a.BootMode,
		"tpm_support":          a.TPMSupport,
		"ena_support":          "",
		"imds_support":         IMDSv2,
		"root_volume":          "",
	}
	if a.UserDataFile != nil {
		attrs["user_data"] = a.UserDataFile.Label.String()
	}
	if a.Spot != nil {
		attrs["spot"] = (&spotValue{value{"spot"}, a.Spot}).String()
	}
	if a.ENASupport != nil {
		attrs["ena_support"] = starlarkBool(*a.ENASupport)
	}
	if a.IMDSv1Allowed {
		attrs["imds_support"] = ""
	}
	if r := a.RootVolume; r != nil {
		attrs["root_volume"] = volumeAttr(*r)
	}
	var vols []string
	for _, v := range a.Volumes {
		vols = append(vols, volumeAttr(v))
	}
	attrs["volumes"] = "[" + strings.Join(vols, ", ") + "]"
	return attrs
}

func volumeAttr(v Volume) string {
	return describe("volume", "device", quoteIf(v.Device), "size_gb", strconv.Itoa(v.SizeGB), "type", strconv.Quote(v.Type),
		"iops", nonZero(v.Iops), "throughput", nonZero(v.Throughput), "encrypted", starlarkBool(v.Encrypted), "kms_key", quoteIf(v.KMSKey))
}

func nonZero(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}
