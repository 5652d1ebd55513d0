package aws

import (
	"regexp"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/label"
)

var amiNameRE = regexp.MustCompile(`^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$`)

func TestImageName(t *testing.T) {
	key := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		l    label.Label
		want string
	}{
		{label.Label{Pkg: "examples/apps/api", Name: "api"}, "imgraph-examples-apps-api-api-0123456789abcdef0123456789abcdef"},
		{label.Label{Pkg: "", Name: "root"}, "imgraph-root-0123456789abcdef0123456789abcdef"},
		{label.Label{Pkg: "a", Name: "we+ird:name"}, "imgraph-a-we-ird-name-0123456789abcdef0123456789abcdef"},
	} {
		got := imageName(tc.l, key)
		if got != tc.want {
			t.Errorf("imageName(%s) = %q, want %q", tc.l, got, tc.want)
		}
		if !amiNameRE.MatchString(got) {
			t.Errorf("%q is not a valid AMI name", got)
		}
	}
	long := label.Label{Pkg: strings.Repeat("deep/", 40), Name: "x"}
	got := imageName(long, key)
	if len(got) != 128 || !amiNameRE.MatchString(got) || !strings.HasSuffix(got, "-0123456789abcdef0123456789abcdef") {
		t.Errorf("long label: %q (%d chars)", got, len(got))
	}
	if imageName(long, key) == imageName(long, strings.Replace(key, "0", "f", 1)) {
		t.Error("two keys of one label got the same name")
	}
}

func TestResourceName(t *testing.T) {
	s := &bakeState{job: &bake.Job{RunID: "20260101t000000-ab12cd34"}, bakeID: "feedbeef"}
	if got, want := resourceName(s, "sg"), "imgraph-sg-20260101t000000-ab12cd34-feedbeef"; got != want {
		t.Fatalf("resourceName = %q, want %q", got, want)
	}
	s.job.RunID = "run with/odd:chars"
	if got := resourceName(s, "key"); strings.ContainsAny(got, " /:") {
		t.Fatalf("resourceName = %q", got)
	}
}
