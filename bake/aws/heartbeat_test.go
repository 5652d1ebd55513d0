package aws

import (
	"context"
	"runtime"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// While a resource is registered alive, its heartbeat tag is renewed
// every interval; once it is done, it is left as it is, and the heart
// stops when nothing is registered.
func TestHeartbeatRenewsLiveResources(t *testing.T) {
	w := newSimWorld(t, Options{})
	client, err := w.baker.ec2In(home)
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.CreateSecurityGroup(context.Background(), &ec2.CreateSecurityGroupInput{
		GroupName: awssdk.String("beating"), Description: awssdk.String("a live run's"),
		TagSpecifications: tagSpecs([]types.Tag{heartbeatTag(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}, types.ResourceTypeSecurityGroup),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := awssdk.ToString(out.GroupId)
	beat := func() string {
		for _, g := range w.sim.State().Regions[home].SecurityGroups {
			if g.ID == id {
				return g.Tags[TagHeartbeat]
			}
		}
		return ""
	}
	clock := newFakeClock()
	h := &heart{b: w.baker, interval: time.Minute, ticks: clock.After}
	done := h.alive(home, id)
	clock.waitTimers(t, 1)
	clock.Advance(time.Minute)
	want := clock.Now().Format(time.RFC3339)
	for deadline := time.Now().Add(10 * time.Second); beat() != want; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("heartbeat %q, want %q", beat(), want)
		}
	}
	done()
	clock.waitTimers(t, 1)
	clock.Advance(time.Minute)
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		h.mu.Lock()
		beating := h.beating
		h.mu.Unlock()
		if !beating {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the heart beats on with nothing alive")
		}
	}
	if beat() != want {
		t.Errorf("heartbeat %q after done, want it left at %q", beat(), want)
	}
}
