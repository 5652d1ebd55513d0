// Package aws is the aws platform: it bakes AMIs the way Packer's
// amazon-ebs builder does (a temporary key pair, security group and
// instance; SSH; the provisioners; stop; CreateImage), copies them between
// regions, shares and publishes them, and undoes every temporary resource
// on every path out, cancellation included.
//
// It talks to EC2 and SSM through aws-sdk-go-v2 configured the standard
// way (environment, shared config and profiles, SSO, IMDS and
// AWS_ENDPOINT_URL*), with every call held to EC2's published request
// rates and retried with the SDK's standard retryer.
//
// Every temporary resource carries the tags imgraph:run (the run's id),
// imgraph:temporary=true, imgraph:created and imgraph:label, so Cleanup can
// find what a killed run left behind.
package aws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/awsconfig"
)

// Defaults, as Packer's users know them.
const (
	defaultPollInterval = 2 * time.Second
	defaultSSHTimeout   = 5 * time.Minute
	// minAttempts is the least number of attempts the SDK makes of a call,
	// throttled ones included.
	minAttempts = 10
	// cleanupTimeout bounds each cleanup of a bake or copy, which runs
	// with its own context once the operation's may be cancelled.
	cleanupTimeout = 5 * time.Minute
	// credentialsTimeout bounds New's check that credentials can be had.
	credentialsTimeout = 30 * time.Second
)

// Options tune a Baker.
type Options struct {
	// Profile is the shared configuration profile (--aws-profile); ""
	// follows AWS_PROFILE and the SDK's defaults.
	Profile string
	// SSHCIDR is the only source the temporary security group admits on
	// the SSH port. "" is the caller's own address, as a /32; 0.0.0.0/0 is
	// used only when given here by name.
	SSHCIDR string
	// PollInterval is the wait between two looks at an instance or image
	// whose state is changing; 0 reads AWS_POLL_DELAY_SECONDS, as Packer
	// does, or else uses 2s.
	PollInterval time.Duration
	// SSHTimeout bounds how long the bake tries to reach the instance over
	// SSH; 0 is 5 minutes.
	SSHTimeout time.Duration
	// WaitTimeout bounds each wait for an instance or image to reach a
	// state; 0 reads AWS_TIMEOUT_SECONDS, as Packer does, or else uses a
	// bound that suits each wait (15 minutes for an instance, 2 hours for
	// an image or a copy).
	WaitTimeout time.Duration
	// AbortDir, when set, is --on-error=abort: a bake that fails once its
	// instance runs leaves the instance running, with its key pair and
	// group, writes the private key under AbortDir/RUN/, and says how to
	// reach and remove them.
	AbortDir string
	// Warn receives warnings, such as a cleanup that failed after a bake
	// succeeded; it may be nil.
	Warn func(format string, args ...any)

	// For tests: the rate limiter's (and the heartbeat's) clock, the
	// heartbeat's interval, and the retryer's backoff.
	clock        clock
	heartbeat    time.Duration
	retryBackoff retry.BackoffDelayer
}

// Baker bakes AMIs. It is safe for concurrent use.
type Baker struct {
	Platform
	cfg     awssdk.Config
	opts    Options
	warn    func(format string, args ...any)
	sshCIDR string // normalized Options.SSHCIDR, "" for the caller's address
	limits  *limiter
	heart   *heart

	mu      sync.Mutex
	regions map[string]*clients
}

var _ bake.Baker = (*Baker)(nil)

// clients are the API clients of one region.
type clients struct {
	ec2 *ec2.Client
	ssm *ssm.Client
}

// New loads the AWS configuration the standard way and checks that it
// yields credentials.
func New(ctx context.Context, opts Options) (*Baker, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = defaultPollInterval
		if s := os.Getenv("AWS_POLL_DELAY_SECONDS"); s != "" {
			n, err := strconv.ParseFloat(s, 64)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("aws: AWS_POLL_DELAY_SECONDS=%q is not a positive number of seconds", s)
			}
			opts.PollInterval = time.Duration(n * float64(time.Second))
		}
	}
	if opts.WaitTimeout <= 0 {
		if s := os.Getenv("AWS_TIMEOUT_SECONDS"); s != "" {
			n, err := strconv.ParseFloat(s, 64)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("aws: AWS_TIMEOUT_SECONDS=%q is not a positive number of seconds", s)
			}
			opts.WaitTimeout = time.Duration(n * float64(time.Second))
		}
	}
	if opts.SSHTimeout <= 0 {
		opts.SSHTimeout = defaultSSHTimeout
	}
	if opts.clock == nil {
		opts.clock = realClock{}
	}
	b := &Baker{opts: opts, warn: opts.Warn, regions: map[string]*clients{}}
	if b.warn == nil {
		b.warn = func(string, ...any) {}
	}
	b.limits = newLimiter(opts.clock)
	b.heart = &heart{b: b, interval: cmp.Or(opts.heartbeat, HeartbeatInterval), ticks: opts.clock.After}
	if opts.SSHCIDR != "" {
		cidr, err := normalizeCIDR(opts.SSHCIDR)
		if err != nil {
			return nil, fmt.Errorf("aws: --ssh-cidr: %w", err)
		}
		b.sshCIDR = cidr
		if ones, _ := mustMask(cidr); ones == 0 {
			b.warn("aws: the SSH port of build instances will be open to the whole Internet (%s)", cidr)
		}
	}

	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Profile: opts.Profile, Warn: b.warn})
	if err != nil {
		if opts.Profile != "" {
			return nil, fmt.Errorf("aws: loading the AWS configuration of profile %q: %w", opts.Profile, err)
		}
		return nil, fmt.Errorf("aws: loading the AWS configuration: %w", err)
	}
	// At least minAttempts attempts, whatever AWS_MAX_ATTEMPTS says: the
	// client wraps any retryer in the configured count, so both must agree.
	attempts := max(minAttempts, cfg.RetryMaxAttempts)
	cfg.RetryMaxAttempts = attempts
	cfg.Retryer = func() awssdk.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			// Our own buckets pace the calls; the SDK's retry quota would
			// otherwise give up on a throttled burst of parallel bakes.
			o.RateLimiter = ratelimit.None
			if opts.retryBackoff != nil {
				o.Backoff = opts.retryBackoff
			}
		})
	}
	if cfg.Credentials == nil {
		return nil, errors.New("aws: no AWS credentials are configured\n  hint: " + credentialsHint)
	}
	cctx, cancel := context.WithTimeout(ctx, credentialsTimeout)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(cctx); err != nil {
		what := "the default credential chain"
		if opts.Profile != "" {
			what = fmt.Sprintf("profile %q", opts.Profile)
		} else if p := os.Getenv("AWS_PROFILE"); p != "" {
			what = fmt.Sprintf("profile %q (AWS_PROFILE)", p)
		}
		return nil, fmt.Errorf("aws: no usable AWS credentials from %s: %w\n  hint: %s", what, err, credentialsHint)
	}
	b.cfg = cfg
	return b, nil
}

const credentialsHint = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile of ~/.aws/config " +
	"with --aws-profile or AWS_PROFILE (for SSO, run `aws sso login --profile NAME` first)"

// clientsFor returns the clients of a region, made on first use.
func (b *Baker) clientsFor(region string) (*clients, error) {
	if region == "" {
		return nil, errors.New("no region: set the workspace's home_region")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.regions[region]; c != nil {
		return c, nil
	}
	rate := b.limits.middleware(region)
	c := &clients{
		ec2: ec2.NewFromConfig(b.cfg, func(o *ec2.Options) {
			o.Region = region
			o.APIOptions = append(o.APIOptions, rate, watchAttempts)
		}),
		ssm: ssm.NewFromConfig(b.cfg, func(o *ssm.Options) {
			o.Region = region
			o.APIOptions = append(o.APIOptions, rate)
		}),
	}
	b.regions[region] = c
	return c, nil
}

func (b *Baker) ec2In(region string) (*ec2.Client, error) {
	c, err := b.clientsFor(region)
	if err != nil {
		return nil, err
	}
	return c.ec2, nil
}

// waitTimeout is the bound of one wait, def unless configured.
func (b *Baker) waitTimeout(def time.Duration) time.Duration {
	if b.opts.WaitTimeout > 0 {
		return b.opts.WaitTimeout
	}
	return def
}

// mustMask is the prefix length of a CIDR normalizeCIDR accepted.
func mustMask(cidr string) (int, int) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return -1, -1
	}
	return n.Mask.Size()
}

// normalizeCIDR accepts a CIDR or a bare address (taken as a /32 or /128).
func normalizeCIDR(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		ip := net.ParseIP(s)
		if ip == nil {
			return "", fmt.Errorf("%q is neither a CIDR nor an IP address", s)
		}
		if ip4 := ip.To4(); ip4 != nil {
			return ip4.String() + "/32", nil
		}
		return ip.String() + "/128", nil
	}
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a CIDR", s)
	}
	return n.String(), nil
}
