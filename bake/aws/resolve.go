package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/rules"
)

// Resolve resolves a source in region: an ami_filter to the newest
// available image that matches it, an ssm_parameter to the image its
// value names, an ami to itself.
func (b *Baker) Resolve(ctx context.Context, region string, src *rules.Source) (bake.Resolved, error) {
	if src == nil {
		return bake.Resolved{}, fmt.Errorf("aws: resolve in %s: no source", region)
	}
	c, err := b.clientsFor(region)
	if err != nil {
		return bake.Resolved{}, fmt.Errorf("aws: resolving a %s source: %w", src.Kind, err)
	}
	switch src.Kind {
	case rules.SourceAMIFilter:
		return resolveFilter(ctx, c.ec2, region, src)
	case rules.SourceSSM:
		out, err := c.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: awssdk.String(src.Parameter)})
		if err != nil {
			if isNotFound(err) {
				return bake.Resolved{}, fmt.Errorf("aws: ssm_parameter(%q): no such parameter in %s", src.Parameter, region)
			}
			return bake.Resolved{}, fmt.Errorf("aws: ssm_parameter(%q) in %s: %w", src.Parameter, region, err)
		}
		id := ""
		if out.Parameter != nil {
			id = strings.TrimSpace(awssdk.ToString(out.Parameter.Value))
		}
		if !strings.HasPrefix(id, "ami-") {
			return bake.Resolved{}, fmt.Errorf("aws: ssm_parameter(%q) in %s holds %q, not an image id", src.Parameter, region, id)
		}
		return resolveID(ctx, c.ec2, region, id, fmt.Sprintf("ssm_parameter(%q)", src.Parameter))
	case rules.SourceAMI:
		return resolveID(ctx, c.ec2, region, src.ID, fmt.Sprintf("ami(%q)", src.ID))
	}
	return bake.Resolved{}, fmt.Errorf("aws: a %s source cannot be resolved on the aws platform", src.Kind)
}

// resolveID describes one image for its name and date.
func resolveID(ctx context.Context, client *ec2.Client, region, id, what string) (bake.Resolved, error) {
	img, err := describeImage(ctx, client, id)
	if err != nil {
		return bake.Resolved{}, fmt.Errorf("aws: %s in %s: %w", what, region, err)
	}
	if img == nil {
		return bake.Resolved{}, fmt.Errorf("aws: %s in %s: image %s does not exist", what, region, id)
	}
	return bake.Resolved{ID: id, Name: awssdk.ToString(img.Name), Created: awssdk.ToString(img.CreationDate)}, nil
}

// resolveFilter finds the newest available image matching an ami_filter.
func resolveFilter(ctx context.Context, client *ec2.Client, region string, src *rules.Source) (bake.Resolved, error) {
	filters := []types.Filter{filter("state", "available")}
	if src.NamePattern != "" {
		filters = append(filters, filter("name", src.NamePattern))
	}
	if src.Architecture != "" {
		filters = append(filters, filter("architecture", src.Architecture))
	}
	for _, k := range slices.Sorted(maps.Keys(src.Filters)) {
		filters = append(filters, filter(k, src.Filters[k]...))
	}
	images, err := describeAll(ctx, ec2.NewDescribeImagesPaginator(client, &ec2.DescribeImagesInput{Owners: src.Owners, Filters: filters}), imagesOf)
	if err != nil {
		return bake.Resolved{}, fmt.Errorf("aws: %s in %s: %w", describeFilter(src), region, err)
	}
	if len(images) == 0 {
		return bake.Resolved{}, fmt.Errorf("aws: %s matched no available image in %s", describeFilter(src), region)
	}
	sort.SliceStable(images, func(i, j int) bool {
		return creationTime(images[i]).After(creationTime(images[j]))
	})
	img := images[0]
	return bake.Resolved{ID: awssdk.ToString(img.ImageId), Name: awssdk.ToString(img.Name), Created: awssdk.ToString(img.CreationDate)}, nil
}

// describeFilter prints an ami_filter as the user wrote it.
func describeFilter(src *rules.Source) string {
	var args []string
	if len(src.Owners) > 0 {
		q := make([]string, len(src.Owners))
		for i, o := range src.Owners {
			q[i] = strconv.Quote(o)
		}
		args = append(args, "owners = ["+strings.Join(q, ", ")+"]")
	}
	if src.NamePattern != "" {
		args = append(args, "name = "+strconv.Quote(src.NamePattern))
	}
	if src.Architecture != "" {
		args = append(args, "architecture = "+strconv.Quote(src.Architecture))
	}
	if len(src.Filters) > 0 {
		var fs []string
		for _, k := range slices.Sorted(maps.Keys(src.Filters)) {
			q := make([]string, len(src.Filters[k]))
			for i, v := range src.Filters[k] {
				q[i] = strconv.Quote(v)
			}
			fs = append(fs, strconv.Quote(k)+": ["+strings.Join(q, ", ")+"]")
		}
		args = append(args, "filters = {"+strings.Join(fs, ", ")+"}")
	}
	return "ami_filter(" + strings.Join(args, ", ") + ")"
}
