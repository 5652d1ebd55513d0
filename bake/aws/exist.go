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
)

// existChunk is the most image ids one DescribeImages filter is given.
const existChunk = 200

// Exist reports which images exist and are available, with one
// DescribeImages call per region (per 200 images), all regions at once.
// The ids go in an image-id filter rather than ImageIds, so that one
// unknown id does not fail the whole call.
func (b *Baker) Exist(ctx context.Context, images map[string][]string) (map[string]map[string]bool, error) {
	out := make(map[string]map[string]bool, len(images))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for region, ids := range images {
		found := make(map[string]bool, len(ids))
		for _, id := range ids {
			found[id] = false
		}
		out[region] = found
		if len(ids) == 0 {
			continue
		}
		g.Go(func() error {
			client, err := b.ec2In(region)
			if err != nil {
				return fmt.Errorf("aws: checking images: %w", err)
			}
			for chunk := range slices.Chunk(ids, existChunk) {
				images, err := describeAll(gctx, ec2.NewDescribeImagesPaginator(client, &ec2.DescribeImagesInput{
					Filters:           []types.Filter{filter("image-id", chunk...)},
					IncludeDeprecated: awssdk.Bool(true),
				}), imagesOf)
				if err != nil {
					return fmt.Errorf("aws: checking %d images in %s: %w", len(chunk), region, err)
				}
				mu.Lock()
				for _, img := range images {
					id := awssdk.ToString(img.ImageId)
					if _, asked := found[id]; asked && img.State == types.ImageStateAvailable {
						found[id] = true
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
