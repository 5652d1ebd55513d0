package aws

import (
	"context"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// clock is the time the rate limiter sees, so tests can move it by hand.
type clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed, and a
	// function that stops it.
	After(d time.Duration) (<-chan time.Time, func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) After(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// bucket is a token bucket: it holds up to burst tokens and gains rate
// tokens a second; each call takes one, waiting for it when none is left.
// Waiters reserve their token when they start waiting, so they are served
// in the order they came.
type bucket struct {
	clock clock
	rate  float64 // tokens a second
	burst float64

	mu     sync.Mutex
	tokens float64 // negative while callers wait for reserved tokens
	last   time.Time
}

func newBucket(c clock, rate float64, burst int) *bucket {
	return &bucket{clock: c, rate: rate, burst: float64(burst), tokens: float64(burst), last: c.Now()}
}

// refill adds the tokens earned since the last look. b.mu is held.
func (b *bucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// Wait takes a token, waiting until one is due; it returns ctx's error,
// and gives its reservation back, if ctx ends first.
func (b *bucket) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	b.refill(b.clock.Now())
	b.tokens--
	if b.tokens >= 0 {
		b.mu.Unlock()
		return nil
	}
	wait := time.Duration(-b.tokens / b.rate * float64(time.Second))
	b.mu.Unlock()
	due, stop := b.clock.After(wait)
	select {
	case <-due:
		return nil
	case <-ctx.Done():
		stop()
		b.mu.Lock()
		b.refill(b.clock.Now())
		b.tokens = min(b.burst, b.tokens+1)
		b.mu.Unlock()
		return ctx.Err()
	}
}

// limit is the request rate of one API action.
type limit struct {
	rate  float64 // a second
	burst int
}

// limitOf sizes an action's bucket from the published request rates:
// EC2's token buckets (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html)
// and SSM's default throughput. Bursts stay modest: the account's buckets
// are shared with every other client.
func limitOf(service, action string) limit {
	if service == "SSM" {
		switch {
		case action == "PutParameter":
			return limit{3, 3}
		case strings.HasPrefix(action, "Get") || strings.HasPrefix(action, "Describe"):
			return limit{20, 20}
		}
		return limit{5, 5}
	}
	switch {
	case action == "RunInstances":
		return limit{2, 4}
	case action == "CopyImage":
		return limit{1, 2}
	case unfilteredActions[action]:
		// EC2 gives these a bucket of 50, refilled at 10 a second, when
		// a call names neither a filter nor pagination, as a call by ids
		// does (DescribeInstances of one instance, say).
		return limit{10, 10}
	case strings.HasPrefix(action, "Describe") || strings.HasPrefix(action, "Get"):
		return limit{20, 40}
	}
	return limit{5, 10}
}

// unfilteredActions are the EC2 actions throttled harder when called
// without a filter or pagination.
var unfilteredActions = map[string]bool{
	"DescribeInstances": true, "DescribeInstanceStatus": true, "DescribeNetworkInterfaces": true,
	"DescribeSecurityGroups": true, "DescribeSnapshots": true, "DescribeSpotInstanceRequests": true,
	"DescribeVolumes": true,
}

// limiter holds a bucket per region, service and action.
type limiter struct {
	clock clock

	mu      sync.Mutex
	buckets map[string]*bucket
}

func newLimiter(c clock) *limiter {
	return &limiter{clock: c, buckets: map[string]*bucket{}}
}

func (l *limiter) bucket(region, service, action string) *bucket {
	key := region + "/" + service + "/" + action
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		lim := limitOf(service, action)
		b = newBucket(l.clock, lim.rate, lim.burst)
		l.buckets[key] = b
	}
	return b
}

// rateLimitID names the rate limit among a client's middleware.
const rateLimitID = "imgraph:RateLimit"

// middleware paces every attempt of every call a client of region makes,
// retries included: it sits after the SDK's retry loop.
func (l *limiter) middleware(region string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		mw := middleware.FinalizeMiddlewareFunc(rateLimitID, func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			b := l.bucket(region, awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx))
			if err := b.Wait(ctx); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			return next.HandleFinalize(ctx, in)
		})
		if _, ok := stack.Finalize.Get("Retry"); ok {
			return stack.Finalize.Insert(mw, "Retry", middleware.After)
		}
		return stack.Finalize.Add(mw, middleware.After)
	}
}
