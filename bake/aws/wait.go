package aws

import (
	"context"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
)

// Bounds of the waits, unless Options.WaitTimeout says otherwise.
const (
	instanceWaitTimeout = 15 * time.Minute
	imageWaitTimeout    = 2 * time.Hour
)

// waitFor calls check every poll until it reports done, fails, ctx ends
// or timeout passes; what names the awaited state in the timeout's error.
func waitFor(ctx context.Context, poll, timeout time.Duration, what string, check func(ctx context.Context) (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := check(ctx)
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: still waiting after %s", what, timeout)
		}
		if err := sleep(ctx, poll); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
}

// sleep waits for d, ctx's end, or (in a cleanup) the user's hurry.
func sleep(ctx context.Context, d time.Duration) error { return bake.Wait(ctx, d) }

// because is ": " and why EC2 says a resource is in the state it is, or
// "" when it does not say.
func because(r *types.StateReason) string {
	if r == nil {
		return ""
	}
	return ": " + awssdk.ToString(r.Message)
}
