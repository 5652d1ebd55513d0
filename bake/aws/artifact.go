package aws

import (
	"context"
	"fmt"
	"io"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imgraph/imgraph/internal/awsconfig"
)

// S3Opener returns what imgraph's artifact fetcher calls for s3:// URLs,
// on every platform. The AWS configuration (the standard one, or profile)
// is loaded on the first s3:// artifact, so a build without one needs no
// AWS account.
func S3Opener(profile string, warn func(format string, args ...any)) func(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	var (
		once   sync.Once
		client *s3.Client
		err    error
	)
	return func(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
		once.Do(func() {
			cfg, lerr := awsconfig.Load(ctx, awsconfig.Options{Profile: profile, Warn: warn})
			if lerr != nil {
				err = fmt.Errorf("loading the AWS configuration for s3:// artifacts: %w", lerr)
				return
			}
			client = awsconfig.S3(cfg)
		})
		if err != nil {
			return nil, err
		}
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: awssdk.String(bucket), Key: awssdk.String(key)})
		if err != nil {
			return nil, err
		}
		return out.Body, nil
	}
}
