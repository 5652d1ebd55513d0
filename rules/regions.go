package rules

import (
	"fmt"
	"slices"

	"github.com/imgraph/imgraph/label"
)

// Regions are the AWS regions imgraph knows, commercial, GovCloud and
// China, as of late 2026. A name outside the list is refused with the
// nearest one, so a typo (us-est-1) is caught when the file is loaded
// rather than when a copy fails; a region AWS opens later needs it added
// here.
var Regions = []string{
	"af-south-1",
	"ap-east-1", "ap-east-2",
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
	"ca-central-1", "ca-west-1",
	"cn-north-1", "cn-northwest-1",
	"eu-central-1", "eu-central-2",
	"eu-north-1",
	"eu-south-1", "eu-south-2",
	"eu-west-1", "eu-west-2", "eu-west-3",
	"il-central-1",
	"me-central-1", "me-south-1",
	"mx-central-1",
	"sa-east-1",
	"us-east-1", "us-east-2",
	"us-gov-east-1", "us-gov-west-1",
	"us-west-1", "us-west-2",
}

// checkRegion says what is wrong with a region name, and a hint: "" when
// it is a region.
func checkRegion(name string) (msg, hint string) {
	if slices.Contains(Regions, name) {
		return "", ""
	}
	msg = fmt.Sprintf("%q is not an AWS region", name)
	if near, ok := label.Nearest(name, Regions); ok {
		return msg, fmt.Sprintf("did you mean %q?", near)
	}
	return msg, "regions are named like \"eu-west-1\""
}
