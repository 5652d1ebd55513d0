package aws

import (
	"maps"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// tagSpecs tags each of the resource types with tags.
func tagSpecs(tags []types.Tag, kinds ...types.ResourceType) []types.TagSpecification {
	specs := make([]types.TagSpecification, len(kinds))
	for i, k := range kinds {
		specs[i] = types.TagSpecification{ResourceType: k, Tags: tags}
	}
	return specs
}

// toTags turns a map into EC2 tags, sorted by key.
func toTags(m map[string]string) []types.Tag {
	tags := make([]types.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		tags = append(tags, types.Tag{Key: awssdk.String(k), Value: awssdk.String(m[k])})
	}
	return tags
}

// tagValue is the value of tag key among tags, "" when absent.
func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if awssdk.ToString(t.Key) == key {
			return awssdk.ToString(t.Value)
		}
	}
	return ""
}

// filter matches the resources whose name (a field or "tag:key") has
// any of values.
func filter(name string, values ...string) types.Filter {
	return types.Filter{Name: awssdk.String(name), Values: values}
}

// tagFilters match the resources that carry every one of tags.
func tagFilters(tags map[string]string) []types.Filter {
	filters := make([]types.Filter, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		filters = append(filters, filter("tag:"+k, tags[k]))
	}
	return filters
}
