package aws

import (
	"context"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
)

// keepPublished undoes the deprecation imgraph gave img when another key
// of its label superseded it: img is published again, so it is current.
// A deprecation someone else set is left alone.
func keepPublished(ctx context.Context, client *ec2.Client, img *types.Image) error {
	if tagValue(img.Tags, bake.TagSupersededBy) == "" {
		return nil
	}
	id := awssdk.ToString(img.ImageId)
	if img.DeprecationTime != nil {
		if _, err := client.DisableImageDeprecation(ctx, &ec2.DisableImageDeprecationInput{ImageId: awssdk.String(id)}); err != nil {
			return fmt.Errorf("undoing the deprecation of %s: %w", id, err)
		}
	}
	_, err := client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: awssdk.String(bake.TagSupersededBy)}}})
	if err != nil {
		return fmt.Errorf("untagging %s: %w", id, err)
	}
	return nil
}

// deprecateSuperseded deprecates, after, the images of label in this
// region that another key made and that are finished: those the image of
// key being published supersedes. An image whose deprecation comes
// sooner keeps it.
func deprecateSuperseded(ctx context.Context, client *ec2.Client, now time.Time, label, key string, after time.Duration) error {
	images, err := findImages(ctx, client, []types.Filter{filter("tag:"+bake.TagLabel, label)})
	if err != nil {
		return err
	}
	// EC2 rounds a deprecation time to the minute.
	at := now.Add(after).UTC().Round(time.Minute)
	for _, img := range images {
		other := tagValue(img.Tags, bake.TagKey)
		if other == key || other == "" || tagValue(img.Tags, bake.TagTemporary) != "" || img.State != types.ImageStateAvailable {
			continue
		}
		if have, err := time.Parse(time.RFC3339, awssdk.ToString(img.DeprecationTime)); err == nil && !have.After(at) {
			continue
		}
		id := awssdk.ToString(img.ImageId)
		_, err := client.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: awssdk.String(id), DeprecateAt: awssdk.Time(at)})
		if err != nil {
			return fmt.Errorf("deprecating %s, which %s supersedes: %w", id, bake.ShortKey(key), err)
		}
		_, err = client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: toTags(map[string]string{bake.TagSupersededBy: key})})
		if err != nil {
			return fmt.Errorf("tagging %s as superseded: %w", id, err)
		}
	}
	return nil
}
