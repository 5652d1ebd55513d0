package aws

import (
	"context"
	"fmt"
	"slices"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sync/errgroup"

	"github.com/imgraph/imgraph/bake"
)

// Find looks up images by the key they were tagged with when baked
// (imgraph:key), with one DescribeImages call per region per 200 keys, all
// regions at once, so a build whose cache was lost reuses what exists
// instead of baking it again. Only the caller's own available images
// count, and never a partial one still tagged temporary.
func (b *Baker) Find(ctx context.Context, regions []string, keys []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for _, region := range regions {
		g.Go(func() error {
			client, err := b.ec2In(region)
			if err != nil {
				return fmt.Errorf("aws: finding images by key: %w", err)
			}
			for chunk := range slices.Chunk(keys, existChunk) {
				images, err := describeAll(gctx, ec2.NewDescribeImagesPaginator(client, &ec2.DescribeImagesInput{
					Owners:  []string{"self"},
					Filters: []types.Filter{filter("tag:"+bake.TagKey, chunk...), filter("state", "available")},
				}), imagesOf)
				if err != nil {
					return fmt.Errorf("aws: finding %d images by key in %s: %w", len(chunk), region, err)
				}
				mu.Lock()
				for _, img := range images {
					key := tagValue(img.Tags, bake.TagKey)
					if key == "" || tagValue(img.Tags, bake.TagTemporary) != "" {
						continue
					}
					if out[key] == nil {
						out[key] = map[string]string{}
					}
					// Two images with one key are the same image; keep one.
					if _, seen := out[key][region]; !seen {
						out[key][region] = awssdk.ToString(img.ImageId)
					}
				}
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
