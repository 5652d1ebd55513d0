package rules

import "strings"

// The default instance type of each architecture a build instance may
// have: the smallest burstable type of its current generation.
const (
	DefaultInstanceTypeX86   = DefaultInstanceType // t3.micro
	DefaultInstanceTypeARM64 = "t4g.micro"
)

// armFamilies are the instance type families of Graviton (arm64); every
// other family of a Linux type runs x86_64. New families are added here
// as EC2 adds them.
var armFamilies = map[string]bool{
	"a1": true, "t4g": true,
	"m6g": true, "m6gd": true, "m7g": true, "m7gd": true, "m8g": true, "m8gd": true,
	"c6g": true, "c6gd": true, "c6gn": true, "c7g": true, "c7gd": true, "c7gn": true, "c8g": true, "c8gd": true,
	"r6g": true, "r6gd": true, "r7g": true, "r7gd": true, "r8g": true, "r8gd": true,
	"x2gd": true, "x8g": true, "im4gn": true, "is4gen": true, "i4g": true, "i8g": true,
	"g5g": true, "hpc7g": true,
}

// InstanceTypeArch is the architecture an instance type runs: arm64 or
// x86_64, or "" for one it cannot say (a Mac, or no family at all).
func InstanceTypeArch(t string) string {
	family, _, ok := strings.Cut(t, ".")
	switch {
	case !ok || family == "":
		return ""
	case strings.HasPrefix(family, "mac"):
		return ""
	case armFamilies[family]:
		return "arm64"
	}
	return "x86_64"
}

// BuildArch is the architecture an image's architecture runs on for the
// purpose of choosing a type: i386 images run on x86_64 types. "" when it
// is not one a default type is known for.
func BuildArch(imageArch string) string {
	switch imageArch {
	case "x86_64", "i386":
		return "x86_64"
	case "arm64":
		return "arm64"
	}
	return ""
}

// DefaultInstanceTypeFor is the default build instance type for images of
// that architecture; t3.micro when it is not known.
func DefaultInstanceTypeFor(imageArch string) string {
	if BuildArch(imageArch) == "arm64" {
		return DefaultInstanceTypeARM64
	}
	return DefaultInstanceTypeX86
}
