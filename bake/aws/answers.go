package aws

import (
	"context"
	"errors"
	"sync/atomic"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go/middleware"
)

// A create call that fails may have made what it asked for all the same:
// the SDK retries an attempt whose answer was lost (the connection cut,
// the request timed out) or that failed inside EC2 (a 5xx), and the last
// attempt's error, throttling say, hides that an earlier one may have
// been carried out. So every attempt is watched, not just the last.

type answersKey struct{}

// watchAnswers returns the context to make a create call with, and
// unknown, which says once the call failed whether what it asked for may
// exist all the same: an attempt of it went unanswered or failed inside
// EC2, or the call was cancelled.
func watchAnswers(ctx context.Context) (context.Context, func(err error) (unknown bool)) {
	var doubt atomic.Bool
	return context.WithValue(ctx, answersKey{}, &doubt), func(err error) bool {
		return err != nil && (unanswered(err) || doubt.Load())
	}
}

// unanswered reports whether err carries no answer of EC2's (cancelled,
// or the connection lost): what was asked for may exist.
func unanswered(err error) bool { return err != nil && errorCode(err) == "" }

// doubtful reports whether an attempt that ended with err may have been
// carried out.
func doubtful(err error) bool {
	var re *awshttp.ResponseError
	return unanswered(err) || errors.As(err, &re) && re.HTTPStatusCode() >= 500
}

// watchAttempts is the client middleware that marks a watched call (see
// watchAnswers) doubtful when one of its attempts is. It sits inside the
// retries and the rate limit: an attempt the limit held back was never
// sent.
func watchAttempts(stack *middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc("imgraph:WatchAnswers", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleFinalize(ctx, in)
		if doubt, ok := ctx.Value(answersKey{}).(*atomic.Bool); ok && err != nil && doubtful(err) {
			doubt.Store(true)
		}
		return out, md, err
	})
	for _, after := range []string{rateLimitID, "Retry"} {
		if _, ok := stack.Finalize.Get(after); ok {
			return stack.Finalize.Insert(mw, after, middleware.After)
		}
	}
	return stack.Finalize.Add(mw, middleware.After)
}
