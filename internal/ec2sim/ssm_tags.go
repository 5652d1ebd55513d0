package ec2sim

import (
	"maps"
	"slices"
)

// maxParameterTags is how many tags a parameter may carry.
const maxParameterTags = 50

type ssmTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type tagResourceInput struct {
	ResourceType string   `json:"ResourceType"`
	ResourceID   string   `json:"ResourceId"`
	Tags         []ssmTag `json:"Tags"`
	TagKeys      []string `json:"TagKeys"`
}

// taggedParameter decodes a tagging call and finds the parameter it
// names. The simulator tags parameters only; another resource type SSM
// knows is refused as one it does not serve.
func (c *call) taggedParameter() (*tagResourceInput, *parameter, *apiError) {
	var in tagResourceInput
	if err := c.decode(&in); err != nil {
		return nil, nil, err
	}
	if in.ResourceType == "" || in.ResourceID == "" {
		return nil, nil, validation("1 validation error detected: ResourceType and ResourceId must not be null")
	}
	if in.ResourceType != "Parameter" {
		return nil, nil, newError("InvalidResourceType", "The resource type %s is not valid here (the simulator tags parameters only).", in.ResourceType)
	}
	pm := c.region.params[in.ResourceID]
	if pm == nil || pm.public {
		return nil, nil, newError("InvalidResourceId", "The resource ID \"%s\" is not valid. Verify the ID and try again.", in.ResourceID)
	}
	return &in, pm, nil
}

// checkParameterTags checks the tags a parameter would carry: keys of 1 to
// 128 characters, values of at most 256, at most 50 in all.
func checkParameterTags(old, tags map[string]string) *apiError {
	merged := maps.Clone(old)
	if merged == nil {
		merged = map[string]string{}
	}
	for k, v := range tags {
		if len(k) < 1 || len(k) > 128 || len(v) > 256 {
			return validation("1 validation error detected: tag %q=%q: keys are 1 to 128 characters, values at most 256", k, v)
		}
		merged[k] = v
	}
	if len(merged) > maxParameterTags {
		return newError("TooManyTagsError", "The Targets parameter includes too many tags. Remove one or more tags and try the command again.")
	}
	return nil
}

func addTagsToResource(c *call) (any, *apiError) {
	in, pm, err := c.taggedParameter()
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[t.Key] = t.Value
	}
	if err := checkParameterTags(pm.tags, tags); err != nil {
		return nil, err
	}
	if pm.tags == nil {
		pm.tags = map[string]string{}
	}
	maps.Copy(pm.tags, tags)
	return map[string]any{}, nil
}

func listTagsForResource(c *call) (any, *apiError) {
	_, pm, err := c.taggedParameter()
	if err != nil {
		return nil, err
	}
	out := []ssmTag{}
	for _, k := range slices.Sorted(maps.Keys(pm.tags)) {
		out = append(out, ssmTag{Key: k, Value: pm.tags[k]})
	}
	return map[string]any{"TagList": out}, nil
}

func removeTagsFromResource(c *call) (any, *apiError) {
	in, pm, err := c.taggedParameter()
	if err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, validation("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
	}
	for _, k := range in.TagKeys {
		delete(pm.tags, k)
	}
	return map[string]any{}, nil
}
