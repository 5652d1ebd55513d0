package rules_test

import (
	"strings"
	"testing"

	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// user_data is read at load, from a file of the package or a label; the
// profile is kept by name. More than EC2's 16 KB is refused at the
// attribute.
func TestBuildInstanceAttrs(t *testing.T) {
	root := writeWorkspace(t, map[string]string{
		"IMAGES.star": `workspace(name = "acme", home_region = "us-east-1", platform = "aws")` + "\n",
		"base/IMAGES.star": `image(name = "a", source = ami("ami-0123456789abcdef0"), iam_instance_profile = "image-builder", user_data = "init.sh")
image(name = "b", source = ami("ami-0123456789abcdef0"), user_data = "//common:init.sh")
`,
		"base/init.sh":        "#!/bin/sh\necho a\n",
		"common/IMAGES.star":  "",
		"common/init.sh":      "#!/bin/sh\necho common\n",
		"big/IMAGES.star":     `image(name = "big", source = ami("ami-0123456789abcdef0"), user_data = "big.txt")` + "\n",
		"big/big.txt":         strings.Repeat("x", rules.MaxUserData+1),
		"fits/IMAGES.star":    `image(name = "fits", source = ami("ami-0123456789abcdef0"), user_data = "fits.txt")` + "\n",
		"fits/fits.txt":       strings.Repeat("x", rules.MaxUserData),
		"nothing/IMAGES.star": "",
	})
	_, err := load(t, root, rules.Config{})
	if err == nil || !strings.Contains(err.Error(), `big/IMAGES.star:1:60: image "big": user_data: //big:big.txt is 16385 bytes; EC2 takes at most 16384`) {
		t.Fatalf("load: %v, want big.txt refused at its attribute", err)
	}
	res := mustLoad(t, writeWorkspace(t, map[string]string{
		"IMAGES.star":      `workspace(name = "acme", home_region = "us-east-1", platform = "aws")` + "\n",
		"base/IMAGES.star": `image(name = "a", source = ami("ami-0123456789abcdef0"), iam_instance_profile = "image-builder", user_data = "init.sh")` + "\n",
		"base/init.sh":     "#!/bin/sh\necho a\n",
	}), rules.Config{})
	a := res.Images[label.Label{Pkg: "base", Name: "a"}]
	if a.AWS.IAMInstanceProfile != "image-builder" || a.AWS.UserData != "#!/bin/sh\necho a\n" ||
		a.AWS.UserDataFile == nil || a.AWS.UserDataFile.Label.String() != "//base:init.sh" {
		t.Errorf("attrs = %+v", a.AWS)
	}
	if at := a.Attrs(); at["iam_instance_profile"] != "image-builder" || at["user_data"] != "//base:init.sh" || at["imds_support"] != "v2.0" || at["volumes"] != "[]" {
		t.Errorf("attr() sees %v", at)
	}
	if fs := a.Files(); len(fs) != 1 || fs[0] != a.AWS.UserDataFile {
		t.Errorf("files of the image = %v, want its user data (query's universe holds it)", fs)
	}
}

// A source whose architecture is known at load gives a defaulted
// instance_type its architecture's default; other sources keep t3.micro
// until the bake sees the image.
func TestDefaultInstanceTypeByArchitecture(t *testing.T) {
	res := mustLoad(t, writeWorkspace(t, map[string]string{
		"IMAGES.star": `workspace(name = "acme", home_region = "us-east-1", platform = "aws")` + "\n",
		"base/IMAGES.star": `image(name = "arm", source = ami_filter(owners = ["amazon"], name = "al2023-*", architecture = "arm64"))
image(name = "x86", source = ami_filter(owners = ["amazon"], name = "al2023-*", architecture = "x86_64"))
image(name = "any", source = ami("ami-0123456789abcdef0"))
image(name = "given", source = ami_filter(owners = ["amazon"], name = "al2023-*", architecture = "arm64"), instance_type = "m7g.large")
`,
	}), rules.Config{})
	for name, want := range map[string]struct {
		typ       string
		defaulted bool
	}{
		"arm": {"t4g.micro", true}, "x86": {"t3.micro", true}, "any": {"t3.micro", true}, "given": {"m7g.large", false},
	} {
		a := res.Images[label.Label{Pkg: "base", Name: name}].AWS
		if a.InstanceType != want.typ || a.InstanceTypeDefaulted != want.defaulted {
			t.Errorf("%s: instance type %s (defaulted %v), want %s (%v)", name, a.InstanceType, a.InstanceTypeDefaulted, want.typ, want.defaulted)
		}
	}
	for typ, arch := range map[string]string{
		"t3.micro": "x86_64", "t4g.micro": "arm64", "m7g.large": "arm64", "c6gn.xlarge": "arm64", "a1.medium": "arm64",
		"m5.large": "x86_64", "c7a.large": "x86_64", "mac2.metal": "", "huge": "",
	} {
		if got := rules.InstanceTypeArch(typ); got != arch {
			t.Errorf("InstanceTypeArch(%s) = %q, want %q", typ, got, arch)
		}
	}
}
