package aws

import (
	"crypto/sha256"
	"encoding/hex"

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
	return parts
}
