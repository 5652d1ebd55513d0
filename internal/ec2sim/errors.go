package ec2sim

import (
	"fmt"
	"net/http"
	"strings"
)

// apiError is an error as EC2 (or SSM) reports it: a code the SDK decodes
// into a smithy.APIError, a message, and an HTTP status.
type apiError struct {
	Code    string
	Message string
	Status  int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// newError is a client error (HTTP 400, as EC2 sends for nearly all).
func newError(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: statusOf(code)}
}

// statusOf is the HTTP status EC2 sends with an error code.
func statusOf(code string) int {
	switch code {
	case "RequestLimitExceeded", "Unavailable", "ServiceUnavailable", "InsufficientInstanceCapacity":
		return http.StatusServiceUnavailable
	case "InternalError", "InternalFailure", "ServerInternal", "InternalServerError":
		return http.StatusInternalServerError
	case "UnauthorizedOperation", "AccessDeniedException":
		return http.StatusForbidden
	case "AuthFailure", "MissingAuthenticationToken", "OptInRequired":
		return http.StatusUnauthorized
	case "DryRunOperation":
		return http.StatusPreconditionFailed
	}
	return http.StatusBadRequest
}

func missing(param string) *apiError {
	return newError("MissingParameter", "The request must contain the parameter %s", param)
}

func invalidValue(param, value string) *apiError {
	return newError("InvalidParameterValue", "Invalid value '%s' for %s", value, param)
}

func internalError(err error) *apiError {
	return newError("InternalError", "An internal error has occurred (%v)", err)
}

func unauthorized() *apiError {
	return newError("UnauthorizedOperation", "You are not authorized to perform this operation.")
}

// quoteIDs lists ids as EC2 messages do: 'i-1, i-2'.
func quoteIDs(ids []string) string { return strings.Join(ids, ", ") }

// notFound is the error for the ids of one kind that do not exist, worded
// as EC2 words it.
func notFound(kind string, ids []string) *apiError {
	plural := len(ids) > 1
	list := quoteIDs(ids)
	switch kind {
	case "instance":
		if plural {
			return newError("InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", list)
		}
		return newError("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", list)
	case "image":
		if plural {
			return newError("InvalidAMIID.NotFound", "The image ids '[%s]' do not exist", list)
		}
		return newError("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", list)
	case "snapshot":
		return newError("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", list)
	case "volume":
		return newError("InvalidVolume.NotFound", "The volume '%s' does not exist.", list)
	case "group":
		return newError("InvalidGroup.NotFound", "The security group '%s' does not exist", list)
	case "key pair":
		return newError("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", list)
	case "vpc":
		return newError("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", list)
	case "subnet":
		return newError("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", list)
	case "network interface":
		return newError("InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist", list)
	}
	return newError("InvalidID", "The ID '%s' is not valid", list)
}
