package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/middleware"
)

func TestBucketBurstThenRate(t *testing.T) {
	clock := newFakeClock()
	b := newBucket(clock, 2, 3) // 2 a second, 3 at once
	ctx := context.Background()
	for i := range 3 {
		if err := b.Wait(ctx); err != nil {
			t.Fatalf("Wait %d: %v", i, err)
		}
	}
	done := make(chan error)
	go func() { done <- b.Wait(ctx) }()
	clock.waitTimers(t, 1)
	clock.Advance(499 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v before its token was due", err)
	default:
	}
	clock.Advance(time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBucketServesWaitersInOrder(t *testing.T) {
	clock := newFakeClock()
	b := newBucket(clock, 1, 1)
	ctx := context.Background()
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// Two waiters reserve the next two tokens: due at 1s and at 2s.
	first, second := make(chan error), make(chan error)
	go func() { first <- b.Wait(ctx) }()
	clock.waitTimers(t, 1)
	go func() { second <- b.Wait(ctx) }()
	clock.waitTimers(t, 2)
	clock.Advance(time.Second)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	select {
	case <-second:
		t.Fatal("the second waiter got a token at 1s, want 2s")
	default:
	}
	clock.Advance(time.Second)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}

func TestBucketRefillsUpToBurst(t *testing.T) {
	clock := newFakeClock()
	b := newBucket(clock, 5, 2)
	ctx := context.Background()
	b.Wait(ctx)
	b.Wait(ctx)
	clock.Advance(time.Hour) // earns far more than the burst
	for range 2 {
		if err := b.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- b.Wait(wctx) }()
	clock.waitTimers(t, 1) // the third waits: the bucket held 2, not 18000
	cancel()
	<-done
}

func TestBucketWaitIsCancellable(t *testing.T) {
	clock := newFakeClock()
	b := newBucket(clock, 1, 1)
	b.Wait(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Wait(ctx) }()
	clock.waitTimers(t, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	clock.waitTimers(t, 0)
	// The cancelled reservation was given back: one second later a token
	// is there at once.
	clock.Advance(time.Second)
	next := make(chan error, 1)
	go func() { next <- b.Wait(context.Background()) }()
	if err := <-next; err != nil {
		t.Fatal(err)
	}
	// And a context that is already done never takes a token.
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a done context = %v", err)
	}
}

func TestLimitOf(t *testing.T) {
	for _, tc := range []struct {
		service, action string
		want            float64
	}{
		{"EC2", "RunInstances", 2},
		{"EC2", "CopyImage", 1},
		{"EC2", "CreateImage", 5},
		{"EC2", "TerminateInstances", 5},
		{"EC2", "DescribeImages", 20},
		{"EC2", "DescribeInstances", 10},
		{"EC2", "DescribeSnapshots", 10},
		{"SSM", "PutParameter", 3},
		{"SSM", "GetParameter", 20},
	} {
		if got := limitOf(tc.service, tc.action); got.rate != tc.want || got.burst < 1 {
			t.Errorf("limitOf(%s, %s) = %+v, want rate %v", tc.service, tc.action, got, tc.want)
		}
	}
}

// The middleware paces real SDK calls, per action: the burst passes, the
// next call waits for the clock, and another action is not held up.
func TestLimiterMiddlewarePacesSDKCalls(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		calls.Add(1)
		action := r.Form.Get("Action")
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<%sResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId></%sResponse>`, action, action)
	}))
	defer srv.Close()
	clock := newFakeClock()
	l := newLimiter(clock)
	client := ec2.New(ec2.Options{
		Region:       "us-east-1",
		BaseEndpoint: awssdk.String(srv.URL),
		Credentials:  awssdk.AnonymousCredentials{},
		APIOptions:   []func(*middleware.Stack) error{l.middleware("us-east-1")},
	})
	ctx := context.Background()
	burst := limitOf("EC2", "RunInstances").burst
	for i := range burst {
		if _, err := client.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1)}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	done := make(chan error)
	go func() {
		_, err := client.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1)})
		done <- err
	}()
	clock.waitTimers(t, 1)
	if got := calls.Load(); got != int32(burst) {
		t.Fatalf("%d calls reached the server, want %d", got, burst)
	}
	// Another action has its own bucket.
	if _, err := client.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(500 * time.Millisecond) // RunInstances: 2 a second
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != int32(burst)+2 {
		t.Fatalf("%d calls reached the server, want %d", got, burst+2)
	}
	// Buckets are per region too.
	if l.bucket("us-east-1", "EC2", "RunInstances") == l.bucket("eu-west-1", "EC2", "RunInstances") {
		t.Fatal("two regions share a bucket")
	}
}
