package aws

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// errorCode is the EC2 or SSM error code of err ("InvalidGroup.NotFound"),
// "" when err is not an API error.
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// isNotFound reports whether err says the resource does not exist (any
// more), which for a cleanup is success.
func isNotFound(err error) bool {
	code := errorCode(err)
	return strings.HasSuffix(code, ".NotFound") || strings.HasSuffix(code, ".Unavailable") ||
		code == "InvalidAMIID.Unavailable" || code == "ParameterNotFound"
}
