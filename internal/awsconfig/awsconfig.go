// Package awsconfig is the one place imgraph builds AWS SDK configuration
// and clients: the aws platform, s3:// artifacts and the shared cache all
// load it here, so they agree on profiles, endpoints, logging and how a
// bucket is addressed.
package awsconfig

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Options say which configuration to load.
type Options struct {
	// Profile is the shared configuration profile (--aws-profile); ""
	// follows AWS_PROFILE and the SDK's defaults.
	Profile string
	// Region overrides the configured region when set.
	Region string
	// HTTPClient replaces the SDK's HTTP client when set.
	HTTPClient config.HTTPClient
	// Warn receives the SDK's warnings; nil drops them.
	Warn func(format string, args ...any)
}

// Load loads the standard AWS configuration (environment, shared files
// and profiles, SSO, instance roles, AWS_ENDPOINT_URL*), with the SDK's
// log going through Warn.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	fns := []func(*config.LoadOptions) error{config.WithLogger(Logger{Warn: opts.Warn})}
	if opts.Profile != "" {
		fns = append(fns, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.Region != "" {
		fns = append(fns, config.WithRegion(opts.Region))
	}
	if opts.HTTPClient != nil {
		fns = append(fns, config.WithHTTPClient(opts.HTTPClient))
	}
	return config.LoadDefaultConfig(ctx, fns...)
}

// S3 is an S3 client of cfg. Endpoints other than AWS's (S3 emulators,
// MinIO) serve buckets by path rather than by host name, and objects
// written without a checksum are read without the SDK logging a line
// for each (what imgraph stores is checked on its own).
func S3(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.DisableLogOutputChecksumValidationSkipped = true
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
	})
}
