package ec2sim

import (
	"encoding/base64"
)

// maxUserData is EC2's limit on user data, decoded.
const maxUserData = 16384

// launchUserData reads UserData of RunInstances: base64, as EC2 requires,
// of at most 16 KB once decoded. It is kept as given.
func (c *call) launchUserData() (string, *apiError) {
	data := c.params.get("UserData")
	if data == "" {
		return "", nil
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return "", newError("InvalidParameterValue", "Invalid BASE64 encoding of user data")
	}
	if len(raw) > maxUserData {
		return "", newError("InvalidParameterValue", "User data is limited to %d bytes", maxUserData)
	}
	return data, nil
}

// userDataXML has no value for an instance without user data, as EC2
// answers for one.
type userDataXML struct {
	Value string `xml:"value,omitempty"`
}

type instanceAttributeResponse struct {
	InstanceID   string       `xml:"instanceId"`
	UserData     *userDataXML `xml:"userData,omitempty"`
	InstanceType *valueXML    `xml:"instanceType,omitempty"`
}

// describeInstanceAttribute answers for userData and instanceType; the
// other attributes EC2 has are refused (see the README).
func describeInstanceAttribute(c *call) (any, *apiError) {
	attr := c.params.get("Attribute")
	if attr == "" {
		return nil, missing("Attribute")
	}
	id := c.params.get("InstanceId")
	if id == "" {
		return nil, missing("InstanceId")
	}
	ins, err := c.instancesNamed([]string{id})
	if err != nil {
		return nil, err
	}
	in := ins[0]
	out := &instanceAttributeResponse{InstanceID: in.id}
	switch attr {
	case "userData":
		out.UserData = &userDataXML{Value: in.userData}
	case "instanceType":
		out.InstanceType = &valueXML{Value: in.instanceType}
	default:
		return nil, newError("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	return out, nil
}
