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

// existChunk is the most image ids one DescribeImages filter is given.
const existChunk = 200

// Exist reports which images exist, are available and, where they carry
// an imgraph:key tag, carry their key's, with one DescribeImages call per
// region (per 200 images), all regions at once. The ids go in an image-id
// filter rather than ImageIds, so that one unknown id does not fail the
// whole call.
func (b *Baker) Exist(ctx context.Context, images []bake.ImageRef) (map[bake.ImageRef]bool, error) {
	out := make(map[bake.ImageRef]bool, len(images))
	byRegion := map[string][]bake.ImageRef{}
	for _, ref := range images {
		out[ref] = false
		byRegion[ref.Region] = append(byRegion[ref.Region], ref)
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for region, refs := range byRegion {
		g.Go(func() error {
			client, err := b.ec2In(region)
			if err != nil {
				return fmt.Errorf("aws: checking images: %w", err)
			}
			for chunk := range slices.Chunk(refs, existChunk) {
				ids := make([]string, len(chunk))
				for i, ref := range chunk {
					ids[i] = ref.ID
				}
				found, err := describeAll(gctx, ec2.NewDescribeImagesPaginator(client, &ec2.DescribeImagesInput{
					Filters:           []types.Filter{filter("image-id", ids...)},
					IncludeDeprecated: awssdk.Bool(true),
				}), imagesOf)
				if err != nil {
					return fmt.Errorf("aws: checking %d images in %s: %w", len(chunk), region, err)
				}
				byID := map[string]*types.Image{}
				for i := range found {
					byID[awssdk.ToString(found[i].ImageId)] = &found[i]
				}
				mu.Lock()
				for _, ref := range chunk {
					img := byID[ref.ID]
					key := ""
					if img != nil {
						key = tagValue(img.Tags, bake.TagKey)
					}
					out[ref] = img != nil && img.State == types.ImageStateAvailable && (key == "" || key == ref.Key)
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
