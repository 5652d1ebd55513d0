//go:build linux

package ec2sim_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

// once is a client that never retries: it sees every RequestLimitExceeded.
// (The standard retryer allowed one attempt: with aws.NopRetryer, some
// answers here failed to be read, "use of closed network connection".)
func (w *world) once(region string) *ec2.Client {
	return ec2.NewFromConfig(w.awsConfig(region), func(o *ec2.Options) {
		o.Retryer = retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 1 })
	})
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestRateLimitsAreEC2s(t *testing.T) {
	// The buckets refill on the simulator's clock, which only the test
	// moves: what goes through does not depend on the machine's speed.
	clk := &clock{now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	w := newWorld(t, ec2sim.Options{Now: clk.Now})
	c := w.once(home)
	// RunInstances: a bucket of 5, refilled at 2 a second. Dry runs take
	// their tokens too, and take no time.
	launch := func() error {
		_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), InstanceType: types.InstanceTypeT3Micro,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), DryRun: aws.Bool(true)})
		return err
	}
	for i := range 5 {
		if err := launch(); errorCode(err) != "DryRunOperation" {
			t.Fatalf("launch %d: %v", i, err)
		}
	}
	err := launch()
	wantCode(t, err, "RequestLimitExceeded")
	if httpStatus(err) != http.StatusServiceUnavailable || errorMessage(err) != "Request limit exceeded." {
		t.Errorf("throttled with HTTP %d, %q", httpStatus(err), errorMessage(err))
	}
	clk.Add(600 * time.Millisecond) // a token and more
	if err := launch(); errorCode(err) != "DryRunOperation" {
		t.Errorf("a launch after the bucket refilled: %v", err)
	}
	if n := w.sim.Throttled()[home]["RunInstances"]; n != 1 {
		t.Errorf("%d RunInstances throttled; want 1", n)
	}
	// Other actions have buckets of their own.
	if _, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{}); err != nil {
		t.Errorf("DescribeImages beside a throttled RunInstances: %v", err)
	}

	// DescribeInstances without a filter or pagination takes from the
	// smaller bucket (50); with one, from the larger (100).
	unfiltered, filtered := 0, 0
	for range 60 {
		if _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err == nil {
			unfiltered++
		} else if errorCode(err) != "RequestLimitExceeded" {
			t.Fatal(err)
		}
	}
	for range 110 {
		if _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{filter("instance-state-name", "running")}}); err == nil {
			filtered++
		} else if errorCode(err) != "RequestLimitExceeded" {
			t.Fatal(err)
		}
	}
	if unfiltered != 50 || filtered != 100 {
		t.Errorf("%d of 60 unfiltered and %d of 110 filtered DescribeInstances went through; want 50 and 100", unfiltered, filtered)
	}
	counts := w.sim.Throttled()[home]
	if counts["DescribeInstances"] != 170-unfiltered-filtered {
		t.Errorf("throttled counts %v", counts)
	}

	// GET and DELETE /_sim/throttled.
	resp, err := http.Get(w.endpoint + "/_sim/throttled")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]int
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got[home]["RunInstances"] != 1 || got[home]["DescribeInstances"] != counts["DescribeInstances"] {
		t.Errorf("GET /_sim/throttled: %v", got)
	}
	req, _ := http.NewRequest(http.MethodDelete, w.endpoint+"/_sim/throttled", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /_sim/throttled: %v %v", resp, err)
	}
	if n := len(w.sim.Throttled()); n != 0 {
		t.Errorf("%d regions of counts after a reset", n)
	}
	// Throttled requests are calls too.
	if n := w.sim.Calls()[home]["DescribeInstances"]; n != 170 {
		t.Errorf("%d DescribeInstances calls counted; want 170", n)
	}
}

// The SDK retries a throttled call, as a client of EC2 does.
func TestThrottledCallsAreRetried(t *testing.T) {
	w := newWorld(t, ec2sim.Options{RateLimitScale: 0.1}) // DescribeImages: 10, then 2 a second
	c := w.ec2(home)                                      // the standard retryer, waiting 50ms and more when throttled
	for i := range 12 {
		if _, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{}); err != nil {
			t.Fatalf("describe %d: %v", i, err)
		}
	}
	if n := w.sim.Throttled()[home]["DescribeImages"]; n == 0 {
		t.Error("twelve calls at once were never throttled")
	}
	if n := w.sim.Calls()[home]["DescribeImages"]; n <= 12 {
		t.Errorf("%d calls; want the retries too", n)
	}
}

func TestRateLimitsOffOrScaled(t *testing.T) {
	burst := func(c *ec2.Client, n int) (throttled int) {
		for range n {
			if _, err := c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{}); errorCode(err) == "RequestLimitExceeded" {
				throttled++
			} else if err != nil {
				t.Fatal(err)
			}
		}
		return throttled
	}
	off := newWorld(t, ec2sim.Options{NoRateLimits: true})
	if n := burst(off.once(home), 150); n != 0 {
		t.Errorf("%d calls throttled with the limits off", n)
	}
	// A tenth of EC2's: a bucket of 10, refilled at 2 a second.
	tenth := newWorld(t, ec2sim.Options{RateLimitScale: 0.1})
	if n := burst(tenth.once(home), 20); n < 9 || n > 10 {
		t.Errorf("%d of 20 calls throttled at a tenth of EC2's limits; want about 10", n)
	}
	if _, err := ec2sim.New(ec2sim.Options{RateLimitScale: -1}); err == nil {
		t.Error("a negative scale was accepted")
	}
}

func TestDescribeInstancesIdsWithMaxResults(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	id := w.run(home, w.base, "")
	_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}, MaxResults: aws.Int32(5)})
	if wantCode(t, err, "InvalidParameterCombination"); errorMessage(err) != "The parameter instancesSet cannot be used with the parameter maxResults" {
		t.Errorf("message %q", errorMessage(err))
	}
	_, err = c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}, MaxResults: aws.Int32(5)})
	wantCode(t, err, "InvalidParameterCombination")
	if out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{filter("instance-id", id)}, MaxResults: aws.Int32(5)}); err != nil || len(out.Reservations) != 1 {
		t.Errorf("the instance-id filter with MaxResults: %v", err)
	}
}
