package ec2sim

import (
	"net/url"
	"strings"
	"testing"
)

func TestWildcard(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"al2023-ami-2023.*-x86_64", "al2023-ami-2023.6.20261101.0-kernel-6.1-x86_64", true},
		{"al2023-ami-2023.*-x86_64", "al2023-ami-2023.6.20261101.0-kernel-6.1-arm64", false},
		{"api-2026-11-2?", "api-2026-11-22", true},
		{"api-2026-11-2?", "api-2026-11-222", false},
		{"*", "", true},
		{"", "", true},
		{"", "x", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{`literal\*`, "literal*", true},
		{`literal\*`, "literalX", false},
		{`what\?`, "what?", true},
		{"*-*-*", "a-b-c-d", true},
	} {
		if got := wildcard(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcard(%q, %q) = %v; want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestParams(t *testing.T) {
	form, _ := url.ParseQuery("Filter.10.Name=b&Filter.10.Value.1=z&Filter.2.Name=a&Filter.2.Value.3=y&Filter.2.Value.1=x" +
		"&InstanceId.2=i-2&InstanceId.1=i-1&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=k&TagSpecification.1.Tag.1.Value=v")
	p := params{form: form}
	if got := strings.Join(p.list("InstanceId"), ","); got != "i-1,i-2" {
		t.Errorf("list: %s", got)
	}
	fs, err := p.filters()
	if err != nil || len(fs) != 2 || fs[0].name != "a" || strings.Join(fs[0].values, ",") != "x,y" || fs[1].name != "b" {
		t.Errorf("filters: %+v, %v", fs, err)
	}
	specs, err := p.tagSpecs("instance")
	if err != nil || specs["instance"]["k"] != "v" {
		t.Errorf("tag specs: %v, %v", specs, err)
	}
	if _, err := p.tagSpecs("volume"); err == nil || err.Code != "InvalidParameterValue" {
		t.Errorf("a tag spec of a type not allowed: %v", err)
	}
}

func TestZoneID(t *testing.T) {
	for region, want := range map[string]string{"us-east-1": "use1-az1", "eu-central-1": "euc1-az1", "ap-southeast-2": "apse2-az1", "ap-northeast-1": "apne1-az1"} {
		if got := zoneIDPrefix(region) + "-az1"; got != want {
			t.Errorf("zoneIDPrefix(%s) = %s; want %s", region, got, want)
		}
	}
}
