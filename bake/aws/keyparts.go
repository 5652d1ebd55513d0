package aws

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/rules"
)

// buildKeyParts are the key parts of the attributes added after the
// first keys were made. Each is there only when the image sets it, so an
// image that sets none keeps the key it had.
func buildKeyParts(a rules.AWSAttrs) []bake.KeyPart {
	var parts []bake.KeyPart
	if a.UserDataFile != nil {
		sum := sha256.Sum256([]byte(a.UserData))
		parts = append(parts, bake.KeyPart{Name: "user_data", Digest: hex.EncodeToString(sum[:]), Note: a.UserDataFile.Label.String()})
	}
	if a.BootMode != "" {
		parts = append(parts, bake.KeyPart{Name: "boot_mode", Value: a.BootMode})
	}
	if a.TPMSupport != "" {
		parts = append(parts, bake.KeyPart{Name: "tpm_support", Value: a.TPMSupport})
	}
	if a.ENASupport != nil {
		parts = append(parts, bake.KeyPart{Name: "ena_support", Value: strconv.FormatBool(*a.ENASupport)})
	}
	if a.IMDSv1Allowed {
		parts = append(parts, bake.KeyPart{Name: "imds_support", Value: "none"})
	}
	if r := a.RootVolume; r != nil {
		parts = append(parts, bake.KeyPart{Name: "root_volume", Parts: []bake.KeyPart{
			{Name: "type", Value: r.Type},
			{Name: "iops", Value: strconv.Itoa(r.Iops)},
			{Name: "throughput", Value: strconv.Itoa(r.Throughput)},
		}})
	}
	if len(a.Volumes) > 0 {
		vols := bake.KeyPart{Name: "volumes"}
		for _, v := range a.Volumes {
			vols.Parts = append(vols.Parts, bake.KeyPart{Name: v.Device, Parts: []bake.KeyPart{
				{Name: "size_gb", Value: strconv.Itoa(v.SizeGB)},
				{Name: "type", Value: v.Type},
				{Name: "iops", Value: strconv.Itoa(v.Iops)},
				{Name: "throughput", Value: strconv.Itoa(v.Throughput)},
				{Name: "encrypted", Value: strconv.FormatBool(v.Encrypted)},
				{Name: "kms_key", Value: v.KMSKey},
			}})
		}
		parts = append(parts, vols)
	}
	return parts
}
