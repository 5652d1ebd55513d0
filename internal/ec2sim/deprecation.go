package ec2sim

import (
	"time"
)

// EC2's bounds on an image's deprecation time: not in the past, at most
// ten years from now, and for a public image two years from its creation.
const (
	maxDeprecation       = 10 * 365 * 24 * time.Hour
	maxPublicDeprecation = 2 * 365 * 24 * time.Hour
)

// deprecated reports whether the image is deprecated at now.
func (im *image) deprecated(now time.Time) bool {
	return !im.deprecateAt.IsZero() && !now.Before(im.deprecateAt)
}

// deprecationTarget is the image an Enable or DisableImageDeprecation call
// names: only its owner may set its deprecation, as its attributes.
func (c *call) deprecationTarget() (*image, *apiError) {
	return c.attributeImage(c.params.get("ImageId"))
}

func enableImageDeprecation(c *call) (any, *apiError) {
	p := c.params
	im, err := c.deprecationTarget()
	if err != nil {
		return nil, err
	}
	raw := p.get("DeprecateAt")
	if raw == "" {
		return nil, missing("DeprecateAt")
	}
	at, perr := time.Parse(time.RFC3339Nano, raw)
	if perr != nil {
		return nil, invalidValue("DeprecateAt", raw)
	}
	// EC2 rounds seconds to the nearest minute.
	at = at.UTC().Round(time.Minute)
	switch {
	case at.Before(c.now):
		return nil, newError("InvalidParameterValue", "The deprecation time %s is in the past.", formatTime(at))
	case at.After(c.now.Add(maxDeprecation)):
		return nil, newError("InvalidParameterValue", "The deprecation time %s is more than 10 years from now.", formatTime(at))
	case im.public() && at.After(im.created.Add(maxPublicDeprecation)):
		return nil, newError("InvalidParameterValue", "The deprecation time %s of a public image is more than 2 years from its creation date.", formatTime(at))
	}
	im.deprecateAt = at
	return &returnResponse{Return: true}, nil
}

func disableImageDeprecation(c *call) (any, *apiError) {
	im, err := c.deprecationTarget()
	if err != nil {
		return nil, err
	}
	im.deprecateAt = time.Time{}
	return &returnResponse{Return: true}, nil
}
