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
