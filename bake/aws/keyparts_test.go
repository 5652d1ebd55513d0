package aws

import (
	"testing"

	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// An image that sets none of the newer attributes keeps the key parts it
// had; user data enters by its content, the instance profile not at all.
func TestBuildKeyParts(t *testing.T) {
	im := &rules.Image{AWS: rules.DefaultAWSAttrs()}
	base := Platform{}.KeyParts(im)
	im.AWS.IAMInstanceProfile = "image-builder"
	if got := (Platform{}).KeyParts(im); len(got) != len(base) {
		t.Errorf("iam_instance_profile entered the key: %+v", got)
	}
	im.AWS.UserData, im.AWS.UserDataFile = "#!/bin/sh\n", &rules.File{Label: label.Label{Pkg: "p", Name: "init.sh"}}
	one := Platform{}.KeyParts(im)
	im.AWS.UserData = "#!/bin/sh\necho\n"
	two := Platform{}.KeyParts(im)
	if len(one) != len(base)+1 || one[len(one)-1].Name != "user_data" || one[len(one)-1].Digest == two[len(two)-1].Digest {
		t.Errorf("user data parts: %+v, then %+v", one[len(base):], two[len(base):])
	}
}
