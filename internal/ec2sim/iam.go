package ec2sim

import (
	"slices"
	"strings"
)

// DefaultInstanceProfile is the IAM instance profile every simulator has,
// besides Options.InstanceProfiles.
const DefaultInstanceProfile = "imgraph-sim-default"

// instanceProfile is an IAM instance profile an instance runs with.
type instanceProfile struct {
	name string
}

func (p instanceProfile) arn() string {
	return "arn:aws:iam::" + Account + ":instance-profile/" + p.name
}

// id is the profile's unique id, as IAM gives one (AIPA…).
func (p instanceProfile) id() string {
	return "AIPA" + strings.ToUpper(stableID("", "instance-profile/"+p.name))
}

// instanceProfileExists says whether IAM has a profile of that name:
// the default one or one of Options.InstanceProfiles.
func (s *Sim) instanceProfileExists(name string) bool {
	return name == DefaultInstanceProfile || slices.Contains(s.opts.InstanceProfiles, name)
}

// launchProfile reads IamInstanceProfile.Name or .Arn of RunInstances; a
// profile IAM does not have is refused as EC2 refuses it. nil: none asked.
func (c *call) launchProfile() (*instanceProfile, *apiError) {
	p := c.params.sub("IamInstanceProfile")
	name, arn := p.get("Name"), p.get("Arn")
	switch {
	case name != "" && arn != "":
		return nil, newError("InvalidParameterCombination", "The parameter iamInstanceProfile.name may not be used in combination with iamInstanceProfile.arn")
	case name != "":
		if !c.sim.instanceProfileExists(name) {
			return nil, newError("InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name", name)
		}
		return &instanceProfile{name: name}, nil
	case arn != "":
		prefix := "arn:aws:iam::" + Account + ":instance-profile/"
		rest, ok := strings.CutPrefix(arn, prefix)
		// A profile's path comes before its name: …:instance-profile/path/name.
		name := rest[strings.LastIndex(rest, "/")+1:]
		if !ok || !c.sim.instanceProfileExists(name) {
			return nil, newError("InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN", arn)
		}
		return &instanceProfile{name: name}, nil
	}
	return nil, nil
}

// instanceProfileXML is an instance's iamInstanceProfile.
type instanceProfileXML struct {
	Arn string `xml:"arn"`
	ID  string `xml:"id"`
}

func (p *instanceProfile) xml() *instanceProfileXML {
	if p == nil {
		return nil
	}
	return &instanceProfileXML{Arn: p.arn(), ID: p.id()}
}
