package ec2sim

import (
	"strings"
	"time"
)

// EC2 throttles each account's requests per region with token buckets
// (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html):
// every action has a request bucket of its own, sized by the action's
// category, and a request takes a token from it; RunInstances,
// StartInstances, StopInstances and TerminateInstances also take one token
// per instance from a resource bucket of their own. A request that finds
// a bucket short is answered RequestLimitExceeded (HTTP 503), which SDKs
// retry with backoff. The simulator keeps the same buckets, full at the
// start, on the wall clock.

// bucketSize is a bucket's maximum capacity and its refill rate (tokens a
// second).
type bucketSize struct {
	capacity float64
	refill   float64
}

// The request buckets of EC2's categories.
var (
	nonMutatingBucket       = bucketSize{100, 20} // Describe*, List*, Search*, Get*
	unfilteredBucket        = bucketSize{50, 10}  // some of them, without filter or pagination
	mutatingBucket          = bucketSize{50, 5}   // every other action
	resourceIntensiveBucket = bucketSize{50, 5}
)

// unfilteredActions are the non-mutating actions that take their tokens
// from the smaller unfiltered bucket when a request names neither a
// filter nor pagination (MaxResults or NextToken). Naming ids is neither:
// DescribeInstances with InstanceIds alone is unfiltered (the instance-id
// filter is not).
var unfilteredActions = map[string]bool{
	"DescribeInstances": true, "DescribeInstanceStatus": true, "DescribeNetworkInterfaces": true,
	"DescribeSecurityGroups": true, "DescribeSnapshots": true, "DescribeSpotInstanceRequests": true,
	"DescribeVolumes": true,
}

// resourceIntensiveActions are mutating actions throttled harder.
var resourceIntensiveActions = map[string]bool{
	"AcceptVpcPeeringConnection": true, "AuthorizeSecurityGroupIngress": true, "CancelSpotInstanceRequests": true,
	"CreateKeyPair": true, "CreateVpcPeeringConnection": true, "DeleteVpcPeeringConnection": true,
	"RejectVpcPeeringConnection": true, "RevokeSecurityGroupIngress": true, "RequestSpotInstances": true,
}

// uncategorizedBuckets are the actions EC2 gives buckets of their own: the
// ones the simulator serves, or that a client of it is likely to call.
var uncategorizedBuckets = map[string]bucketSize{
	"AssignIpv6Addresses":                {100, 5},
	"AssignPrivateIpAddresses":           {100, 5},
	"AssociateIamInstanceProfile":        {100, 5},
	"CopyImage":                          {100, 1},
	"CreateDefaultSubnet":                {1, 1},
	"CreateDefaultVpc":                   {1, 1},
	"CreateLaunchTemplateVersion":        {100, 5},
	"CreateNatGateway":                   {10, 1},
	"CreateNetworkInterface":             {100, 5},
	"CreateRestoreImageTask":             {50, 0.1},
	"CreateSnapshot":                     {100, 5},
	"CreateSnapshots":                    {100, 5},
	"CreateStoreImageTask":               {50, 0.1},
	"CreateTags":                         {100, 10},
	"CreateVolume":                       {100, 5},
	"CreateVpcEndpoint":                  {4, 0.3},
	"DeleteNatGateway":                   {10, 1},
	"DeleteNetworkInterface":             {100, 5},
	"DeleteSnapshot":                     {100, 5},
	"DeleteTags":                         {100, 10},
	"DeleteVolume":                       {100, 5},
	"DeleteVpcEndpoints":                 {4, 0.3},
	"DeregisterImage":                    {100, 5},
	"DescribeByoipCidrs":                 {1, 0.5},
	"DescribeIdFormat":                   {10, 10},
	"DescribeIdentityIdFormat":           {10, 10},
	"DescribeInstanceTopology":           {1, 1},
	"DescribeMovingAddresses":            {1, 1},
	"DescribeReservedInstancesOfferings": {10, 10},
	"DescribeSecurityGroupReferences":    {20, 5},
	"DescribeSpotDatafeedSubscription":   {100, 13},
	"DescribeSpotFleetInstances":         {100, 5},
	"DescribeSpotFleetRequestHistory":    {100, 5},
	"DescribeSpotFleetRequests":          {50, 3},
	"DescribeStaleSecurityGroups":        {20, 5},
	"DescribeStoreImageTasks":            {50, 0.5},
	"DisableFastLaunch":                  {5, 2},
	"DisableImageBlockPublicAccess":      {1, 0.1},
	"DisableSnapshotBlockPublicAccess":   {1, 0.1},
	"DisassociateIamInstanceProfile":     {100, 5},
	"EnableFastLaunch":                   {5, 2},
	"EnableImageBlockPublicAccess":       {1, 0.1},
	"EnableSnapshotBlockPublicAccess":    {1, 0.1},
	"ModifyImageAttribute":               {100, 5},
	"ModifyInstanceMetadataDefaults":     {2, 2},
	"ModifyInstanceMetadataOptions":      {100, 5},
	"ModifyLaunchTemplate":               {100, 5},
	"ModifyNetworkInterfaceAttribute":    {100, 5},
	"ModifySnapshotAttribute":            {100, 5},
	"ModifyVpcEndpoint":                  {4, 0.3},
	"RunInstances":                       {5, 2},
	"StartInstances":                     {5, 2},
	"TerminateInstances":                 {100, 5},
	"UnassignPrivateIpAddresses":         {100, 5},
}

// resourceBuckets are the resource token buckets: a request takes one
// token per instance it launches, starts, stops or terminates.
var resourceBuckets = map[string]bucketSize{
	"RunInstances":       {1000, 2},
	"TerminateInstances": {1000, 20},
	"StartInstances":     {1000, 2},
	"StopInstances":      {1000, 20},
}

// requestBucket is the request bucket a request of action takes its token
// from, and the name it is kept under ("DescribeInstances (unfiltered)"
// for the smaller bucket).
func requestBucket(action string, p params) (string, bucketSize) {
	if size, ok := uncategorizedBuckets[action]; ok {
		return action, size
	}
	if resourceIntensiveActions[action] {
		return action, resourceIntensiveBucket
	}
	for _, prefix := range []string{"Describe", "List", "Search", "Get"} {
		if strings.HasPrefix(action, prefix) {
			if unfilteredActions[action] && !p.has("MaxResults") && !p.has("NextToken") && len(p.indices("Filter")) == 0 {
				return action + " (unfiltered)", unfilteredBucket
			}
			return action, nonMutatingBucket
		}
	}
	return action, mutatingBucket
}

// resourceCost is how many resource tokens a request takes.
func resourceCost(action string, p params) float64 {
	switch action {
	case "RunInstances":
		n, set, err := p.integer("MaxCount")
		if err != nil || !set || n < 1 {
			return 1
		}
		return float64(n)
	case "TerminateInstances", "StartInstances", "StopInstances":
		return float64(max(1, len(p.list("InstanceId"))))
	}
	return 0
}

// tokenBucket is one bucket, refilled continuously.
type tokenBucket struct {
	size   bucketSize
	tokens float64
	last   time.Time
}

// take takes n tokens if the bucket holds them.
func (b *tokenBucket) take(now time.Time, n float64) bool {
	if now.After(b.last) {
		b.tokens = min(b.size.capacity, b.tokens+now.Sub(b.last).Seconds()*b.size.refill)
		b.last = now
	}
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}

// limiter holds the buckets of every region. The simulator's lock guards
// it.
type limiter struct {
	scale   float64                 // 0: no limits
	buckets map[string]*tokenBucket // region + " " + name
}

func (l *limiter) bucket(key string, size bucketSize, now time.Time) *tokenBucket {
	b := l.buckets[key]
	if b == nil {
		size = bucketSize{size.capacity * l.scale, size.refill * l.scale}
		b = &tokenBucket{size: size, tokens: size.capacity, last: now}
		l.buckets[key] = b
	}
	return b
}

// allow takes what a request of action, which arrived at now, costs from
// its buckets; false: it is throttled.
func (l *limiter) allow(region, action string, p params, now time.Time) bool {
	if l.scale == 0 {
		return true
	}
	name, size := requestBucket(action, p)
	if !l.bucket(region+" "+name, size, now).take(now, 1) {
		return false
	}
	if size, ok := resourceBuckets[action]; ok {
		// The request's token stays taken, as EC2 counts the request.
		return l.bucket(region+" "+action+" (resources)", size, now).take(now, resourceCost(action, p))
	}
	return true
}

// rateLimit answers RequestLimitExceeded to a request its buckets cannot
// serve, and counts it. A request is measured when it arrived, as EC2
// throttles at its door, not when the simulator's lock let it in: requests
// that queued behind a slow one are not a burst. s.mu is held.
func (s *Sim) rateLimit(region, action string, p params, arrived time.Time) *apiError {
	if _, known := ec2Actions[action]; !known || s.limits.allow(region, action, p, arrived) {
		return nil
	}
	if s.throttled[region] == nil {
		s.throttled[region] = map[string]int{}
	}
	s.throttled[region][action]++
	return newError("RequestLimitExceeded", "Request limit exceeded.")
}

// Throttled counts the requests answered RequestLimitExceeded because a
// rate limit's bucket was short, per region and action (GET
// /_sim/throttled). Throttle faults are not counted here; their own
// count is Fault.Fired.
func (s *Sim) Throttled() map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyCounts(s.throttled)
}

// ResetThrottled forgets the throttled requests counted so far (DELETE
// /_sim/throttled).
func (s *Sim) ResetThrottled() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttled = map[string]map[string]int{}
}

func copyCounts(in map[string]map[string]int) map[string]map[string]int {
	out := make(map[string]map[string]int, len(in))
	for region, actions := range in {
		out[region] = make(map[string]int, len(actions))
		for a, n := range actions {
			out[region][a] = n
		}
	}
	return out
}
