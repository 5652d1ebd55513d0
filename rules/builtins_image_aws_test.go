package rules_test

import (
	"reflect"
	"testing"

	"github.com/imgraph/imgraph/rules"
)

// TestAWSAttrsWithDefaults shows that a baker given attributes that did not
// come from image() fills in the same defaults, and keeps encrypted = False.
func TestAWSAttrsWithDefaults(t *testing.T) {
	def := rules.DefaultAWSAttrs()
	for _, tc := range []struct {
		name     string
		in, want rules.AWSAttrs
	}{
		{"zero", rules.AWSAttrs{}, rules.AWSAttrs{InstanceType: def.InstanceType, SSHUser: def.SSHUser, SSHPort: def.SSHPort, VolumeSizeGB: def.VolumeSizeGB}},
		{"defaults", def, def},
		{"set", rules.AWSAttrs{InstanceType: "m5.large", SSHUser: "root", SSHPort: 2222, VolumeSizeGB: 30, Encrypted: true, KMSKey: "alias/k", Subnet: "subnet-1"},
			rules.AWSAttrs{InstanceType: "m5.large", SSHUser: "root", SSHPort: 2222, VolumeSizeGB: 30, Encrypted: true, KMSKey: "alias/k", Subnet: "subnet-1"}},
	} {
		if got := tc.in.WithDefaults(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: WithDefaults() = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
