package aws

import (
	"context"
	"fmt"
	"io"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imgraph/imgraph/internal/awslog"
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
			opts := []func(*config.LoadOptions) error{config.WithLogger(awslog.Logger{Warn: warn})}
			if profile != "" {
				opts = append(opts, config.WithSharedConfigProfile(profile))
			}
			var cfg awssdk.Config
			if cfg, err = config.LoadDefaultConfig(ctx, opts...); err != nil {
				err = fmt.Errorf("loading the AWS configuration for s3:// artifacts: %w", err)
				return
			}
			client = s3.NewFromConfig(cfg, func(o *s3.Options) {
				// Endpoints other than AWS's serve buckets by path.
				o.UsePathStyle = o.BaseEndpoint != nil
			})
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
