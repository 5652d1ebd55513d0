package aws

import (
	"slices"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestParseShareWith(t *testing.T) {
	perms, err := parseShareWith([]string{
		"123456789012",
		"arn:aws:organizations::123456789012:organization/o-abc123def4",
		"arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cdef3456",
		"arn:aws-us-gov:organizations::123456789012:organization/o-abc123def4",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(perms))
	for i, p := range perms {
		got[i] = permissionKey(p)
	}
	want := []string{
		"user:123456789012",
		"org:arn:aws:organizations::123456789012:organization/o-abc123def4",
		"ou:arn:aws:organizations::123456789012:ou/o-abc123def4/ou-ab12-cdef3456",
		"org:arn:aws-us-gov:organizations::123456789012:organization/o-abc123def4",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for _, bad := range []string{
		"12345678901",   // 11 digits
		"1234567890123", // 13
		"all",
		"arn:aws:iam::123456789012:root",
		"arn:aws:organizations::123456789012:account/o-abc/123456789012",
		" 123456789012",
	} {
		if _, err := parseShareWith([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("parseShareWith(%q) = %v, want an error naming it", bad, err)
		}
	}
}

func TestLaunchPermissionChanges(t *testing.T) {
	have := []types.LaunchPermission{
		{UserId: awssdk.String("111111111111")},
		{UserId: awssdk.String("222222222222")},
		{OrganizationArn: awssdk.String("arn:aws:organizations::111111111111:organization/o-old")},
		{Group: types.PermissionGroupAll},
	}
	want, err := parseShareWith([]string{"222222222222", "333333333333", "arn:aws:organizations::111111111111:organization/o-new"})
	if err != nil {
		t.Fatal(err)
	}
	add, remove := launchPermissionChanges(have, want)
	keys := func(ps []types.LaunchPermission) []string {
		var out []string
		for _, p := range ps {
			out = append(out, permissionKey(p))
		}
		return out
	}
	if got := keys(add); !slices.Equal(got, []string{"user:333333333333", "org:arn:aws:organizations::111111111111:organization/o-new"}) {
		t.Errorf("add = %q", got)
	}
	if got := keys(remove); !slices.Equal(got, []string{"user:111111111111", "org:arn:aws:organizations::111111111111:organization/o-old"}) {
		t.Errorf("remove = %q", got)
	}
	if add, remove := launchPermissionChanges(have[:2], want[:1]); len(add) != 0 || len(remove) != 1 {
		t.Errorf("add %v, remove %v", add, remove)
	}
}
