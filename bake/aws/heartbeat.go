package aws

import (
	"context"
	"slices"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
)

// A live run's temporary resources carry imgraph:heartbeat, the time the
// run last said it was alive: set when each is made, and renewed every
// HeartbeatInterval while the run lives. `imgraph cleanup`, from any
// machine and with any cache, leaves a run alone while one of its
// resources beat less than HeartbeatStale ago.
const (
	TagHeartbeat      = "imgraph:heartbeat"
	HeartbeatInterval = time.Minute
	HeartbeatStale    = 5 * HeartbeatInterval
)

// heart renews the heartbeat of the Baker's live temporary resources.
type heart struct {
	b        *Baker
	interval time.Duration
	ticks    func(d time.Duration) (<-chan time.Time, func()) // the clock's

	mu      sync.Mutex
	live    map[string][]string // region -> resource ids
	beating bool
	// inFlight is what the beat being sent renews, and cancel stops it.
	inFlight map[string]bool
	cancel   context.CancelFunc
	renewing sync.Mutex // held while beats are sent: done waits for them
}

// alive registers resources made in region until done is called; while
// any is registered, their heartbeats are renewed.
func (h *heart) alive(region string, ids ...string) (done func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.live == nil {
		h.live = map[string][]string{}
	}
	h.live[region] = append(h.live[region], ids...)
	if !h.beating {
		h.beating = true
		go h.beat()
	}
	return func() {
		// Once done returns, no beat reaches these resources any more:
		// no later beat has them, and one in flight that has them is
		// stopped (it may be slow: EC2 unreachable, say) and waited for.
		h.mu.Lock()
		h.forgetLocked(region, ids)
		if h.cancel != nil && slices.ContainsFunc(ids, func(id string) bool { return h.inFlight[id] }) {
			h.cancel()
		}
		h.mu.Unlock()
		h.renewing.Lock()
		h.renewing.Unlock()
	}
}

func (h *heart) forgetLocked(region string, ids []string) {
	h.live[region] = slices.DeleteFunc(h.live[region], func(id string) bool { return slices.Contains(ids, id) })
	if len(h.live[region]) == 0 {
		delete(h.live, region)
	}
}

// beat renews the heartbeats every interval until nothing is registered.
func (h *heart) beat() {
	for {
		tick, stop := h.ticks(h.interval)
		now := <-tick
		stop()
		h.renewing.Lock()
		h.mu.Lock()
		if len(h.live) == 0 {
			h.beating = false
			h.mu.Unlock()
			h.renewing.Unlock()
			return
		}
		live := map[string][]string{}
		h.inFlight = map[string]bool{}
		for r, ids := range h.live {
			live[r] = slices.Clone(ids)
			for _, id := range ids {
				h.inFlight[id] = true
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.interval)
		h.cancel = cancel
		h.mu.Unlock()
		for region, ids := range live {
			h.renew(ctx, region, ids, now)
		}
		h.mu.Lock()
		h.inFlight, h.cancel = nil, nil
		h.mu.Unlock()
		cancel()
		h.renewing.Unlock()
	}
}

// renew tags the resources with the time. One that is gone (deleted by
// its cleanup, which has yet to say it is done) would fail the call for
// all: they are then tagged one by one, and those gone forgotten. A
// failure is worth a warning: cleanup may take the run for dead once
// HeartbeatStale passes.
func (h *heart) renew(ctx context.Context, region string, ids []string, now time.Time) {
	client, err := h.b.ec2In(region)
	if err == nil {
		err = tagHeartbeat(ctx, client, ids, now)
	}
	if err != nil && isNotFound(err) && len(ids) > 1 {
		err = nil
		var gone []string
		for _, id := range ids {
			switch e := tagHeartbeat(ctx, client, []string{id}, now); {
			case isNotFound(e):
				gone = append(gone, id)
			case e != nil && err == nil:
				err = e
			}
		}
		h.mu.Lock()
		h.forgetLocked(region, gone)
		h.mu.Unlock()
	}
	if err != nil && !isNotFound(err) && ctx.Err() == nil {
		h.b.warn("aws: renewing the heartbeat of %d temporary resources in %s: %v", len(ids), region, err)
	}
}

func tagHeartbeat(ctx context.Context, client *ec2.Client, ids []string, now time.Time) error {
	_, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: []types.Tag{heartbeatTag(now)}})
	return err
}

func heartbeatTag(now time.Time) types.Tag {
	return types.Tag{Key: awssdk.String(TagHeartbeat), Value: awssdk.String(now.UTC().Format(time.RFC3339))}
}

// lastBeat is when a resource with tags last said its run was alive:
// its heartbeat, or when it was made.
func lastBeat(tags []types.Tag) time.Time {
	var last time.Time
	for _, k := range []string{TagHeartbeat, bake.TagCreated} {
		if t, err := time.Parse(time.RFC3339, tagValue(tags, k)); err == nil && t.After(last) {
			last = t
		}
	}
	return last
}
