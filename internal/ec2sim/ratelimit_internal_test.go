package ec2sim

import (
	"net/url"
	"testing"
	"time"
)

func form(kv ...string) params {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return params{form: v}
}

func TestRequestBuckets(t *testing.T) {
	for _, tc := range []struct {
		action string
		p      params
		name   string
		size   bucketSize
	}{
		{"DescribeImages", form(), "DescribeImages", bucketSize{100, 20}},
		{"GetConsoleOutput", form("InstanceId", "i-1"), "GetConsoleOutput", bucketSize{100, 20}},
		{"DescribeInstances", form(), "DescribeInstances (unfiltered)", bucketSize{50, 10}},
		{"DescribeInstances", form("InstanceId.1", "i-1"), "DescribeInstances (unfiltered)", bucketSize{50, 10}},
		{"DescribeInstances", form("Filter.1.Name", "instance-id", "Filter.1.Value.1", "i-1"), "DescribeInstances", bucketSize{100, 20}},
		{"DescribeVolumes", form("MaxResults", "10"), "DescribeVolumes", bucketSize{100, 20}},
		{"DescribeSnapshots", form("NextToken", "x"), "DescribeSnapshots", bucketSize{100, 20}},
		{"CreateImage", form(), "CreateImage", bucketSize{50, 5}},
		{"AuthorizeSecurityGroupIngress", form(), "AuthorizeSecurityGroupIngress", bucketSize{50, 5}},
		{"RunInstances", form(), "RunInstances", bucketSize{5, 2}},
		{"CopyImage", form(), "CopyImage", bucketSize{100, 1}},
		{"CreateTags", form(), "CreateTags", bucketSize{100, 10}},
		{"TerminateInstances", form(), "TerminateInstances", bucketSize{100, 5}},
	} {
		if name, size := requestBucket(tc.action, tc.p); name != tc.name || size != tc.size {
			t.Errorf("%s %v: %s %v; want %s %v", tc.action, tc.p.form, name, size, tc.name, tc.size)
		}
	}
}

func TestBucketsRefillAndResources(t *testing.T) {
	l := &limiter{scale: 1, buckets: map[string]*tokenBucket{}}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	launch := func(at time.Duration, n string) bool {
		return l.allow("us-east-1", "RunInstances", form("MaxCount", n), t0.Add(at))
	}
	// The resource bucket: 1000 instances, then 2 a second.
	if !launch(0, "20") {
		t.Fatal("a launch of 20 was throttled")
	}
	l.buckets["us-east-1 RunInstances (resources)"].tokens = 5
	if launch(time.Second, "20") {
		t.Error("a launch of 20 went through a resource bucket of 7")
	}
	if !launch(8*time.Second, "20") {
		t.Error("a launch of 20 was throttled after the bucket refilled to 21")
	}
	// The request bucket: 5, then 2 a second; a request that arrived
	// before the last one measured gains nothing.
	l = &limiter{scale: 1, buckets: map[string]*tokenBucket{}}
	for i := range 5 {
		if !launch(0, "1") {
			t.Fatalf("launch %d throttled", i)
		}
	}
	if launch(0, "1") || launch(-time.Second, "1") {
		t.Error("a sixth launch at once went through")
	}
	if !launch(500*time.Millisecond, "1") || launch(600*time.Millisecond, "1") {
		t.Error("half a second did not give exactly one token")
	}
	// Regions have buckets of their own; off, nothing is throttled.
	if !l.allow("eu-west-1", "RunInstances", form(), t0) {
		t.Error("eu-west-1 shares us-east-1's bucket")
	}
	off := &limiter{buckets: map[string]*tokenBucket{}}
	for range 10 {
		if !off.allow("us-east-1", "RunInstances", form(), t0) {
			t.Fatal("throttled with the limits off")
		}
	}
}
