package remote

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// BadInputError is a remote cache the user has to fix: a malformed URL, a
// bucket or table that does not exist, or missing permissions (exit code 2).
type BadInputError struct {
	Msg  string
	Hint string // what to do about it; may be empty

	missing bool // the bucket or table does not exist, which Init fixes
}

func (e *BadInputError) Error() string {
	if e.Hint == "" {
		return "cache: " + e.Msg
	}
	return "cache: " + e.Msg + "\n  hint: " + e.Hint
}

// BadInput marks the error as the user's to fix (exit code 2).
func (e *BadInputError) BadInput() bool { return true }

// errorCode is the AWS error code of err ("AccessDenied", "NoSuchKey", ...),
// or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus is the HTTP status of the response that failed, or 0. S3
// answers HEAD requests without a body, so the status is all there is.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isAccessDenied(err error) bool {
	return slices.Contains([]string{"AccessDenied", "AccessDeniedException", "Forbidden", "AllAccessDisabled"}, errorCode(err)) ||
		httpStatus(err) == http.StatusForbidden
}

// isRefusedCredentials is an account's refusal of the credentials
// themselves, rather than of one action.
func isRefusedCredentials(err error) bool {
	return slices.Contains([]string{
		"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSignatureException",
		"UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
	}, errorCode(err))
}

func isConditionFailed(err error) bool {
	var cf *ddbtypes.ConditionalCheckFailedException
	return errors.As(err, &cf) || errorCode(err) == "ConditionalCheckFailedException"
}

func isTableMissing(err error) bool {
	var nf *ddbtypes.ResourceNotFoundException
	return errors.As(err, &nf) || errorCode(err) == "ResourceNotFoundException"
}

// isObjectMissing is S3's answer for a key (or, from HEAD, for anything)
// that is not there.
func isObjectMissing(err error) bool {
	code := errorCode(err)
	return code == "NoSuchKey" || code == "NotFound" || httpStatus(err) == http.StatusNotFound
}

// credentialsHint is what to check when AWS refuses the credentials.
const credentialsHint = "check AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"

// denied is a *BadInputError for AWS's refusal of what, or nil if err is
// another failure.
func denied(what string, err error) error {
	switch {
	case isRefusedCredentials(err):
		return &BadInputError{Msg: fmt.Sprintf("%s: AWS refused the credentials: %v", what, err), Hint: credentialsHint}
	case isAccessDenied(err):
		return &BadInputError{Msg: fmt.Sprintf("%s: access denied: %v", what, err), Hint: permissionsHint}
	}
	return nil
}
