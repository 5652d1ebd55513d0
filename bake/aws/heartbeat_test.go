package aws

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/bake"
)

// While a resource is registered alive, its heartbeat tag is renewed
// every interval; once it is done, it is left as it is, and the heart
// stops when nothing is registered.
func TestHeartbeatRenewsLiveResources(t *testing.T) {
	w := newSimWorld(t, Options{})
	id := liveGroups(t, w, []types.Tag{heartbeatTag(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}, "beating")[0]
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
	stopHeart(t, h, clock, done)
	if beat() != want {
		t.Errorf("heartbeat %q after done, want it left at %q", beat(), want)
	}
}

// A resource that is gone (its cleanup deleted it and has yet to say it
// is done) stops no other resource's heartbeat: the others are renewed,
// and the gone one is forgotten.
func TestHeartbeatOutlivesAGoneResource(t *testing.T) {
	w := newSimWorld(t, Options{})
	ids := liveGroups(t, w, nil, "deleted", "live")
	client, err := w.baker.ec2In(home)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteSecurityGroup(context.Background(), &ec2.DeleteSecurityGroupInput{GroupId: &ids[0]}); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	h := &heart{b: w.baker, interval: time.Minute, ticks: clock.After}
	done := h.alive(home, ids...)
	defer stopHeart(t, h, clock, done)
	clock.waitTimers(t, 1)
	clock.Advance(time.Minute)
	clock.waitTimers(t, 1) // the beat is over: the next is waited for
	var beat string
	for _, g := range w.sim.State().Regions[home].SecurityGroups {
		if g.ID == ids[1] {
			beat = g.Tags[TagHeartbeat]
		}
	}
	if want := clock.Now().Format(time.RFC3339); beat != want {
		t.Errorf("the live group's heartbeat is %q, want %q", beat, want)
	}
	h.mu.Lock()
	live := slices.Clone(h.live[home])
	h.mu.Unlock()
	if !slices.Equal(live, ids[1:]) {
		t.Errorf("alive after the beat: %v, want only %v", live, ids[1:])
	}
}

// done does not wait on a beat that hangs (EC2 unreachable): it stops the
// beat, which has its resources, and returns.
func TestHeartbeatDoneStopsAHangingBeat(t *testing.T) {
	w := newSimWorld(t, Options{})
	id := liveGroups(t, w, nil, "beating")[0]
	sent, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	w.hook(func(action string) answer {
		if action == "CreateTags" {
			once.Do(func() { close(sent) })
			<-release // the answer never comes while the test runs
		}
		return lose
	})
	defer w.hook(nil)
	defer close(release)
	clock := newFakeClock()
	h := &heart{b: w.baker, interval: time.Hour, ticks: clock.After}
	done := h.alive(home, id)
	clock.waitTimers(t, 1)
	clock.Advance(time.Hour)
	<-sent
	returned := make(chan struct{})
	go func() {
		done()
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(30 * time.Second): // a hang detector, not a measure
		t.Fatal("done waits on the beat in flight")
	}
	stopHeart(t, h, clock, func() {})
}

// stopHeart says the last resources are done and lets the heart see it.
func stopHeart(t *testing.T, h *heart, clock *fakeClock, done func()) {
	done()
	clock.waitTimers(t, 1)
	clock.Advance(h.interval)
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		h.mu.Lock()
		beating := h.beating
		h.mu.Unlock()
		if !beating {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the heart beats on with nothing alive")
		}
	}
}

// An image beats from its making, not from the first beat after: until
// then another run would take a long bake's image for a dead run's.
func TestHeartbeatOfANewImage(t *testing.T) {
	w := newSimWorld(t, Options{})
	run := newRunID()
	var beat string
	w.hook(func(action string) answer {
		if action == "CreateImage" {
			for _, img := range w.sim.State().Regions[home].Images {
				if img.Tags[bake.TagRun] == run {
					beat = img.Tags[TagHeartbeat]
				}
			}
		}
		return deliver
	})
	defer w.hook(nil)
	job := w.job(w.image("beating", inlineShell("true")), run, "")
	if _, err := w.baker.Bake(context.Background(), job.Job); err != nil {
		t.Fatal(err)
	}
	if _, err := time.Parse(time.RFC3339, beat); err != nil {
		t.Errorf("the new image's heartbeat is %q: %v", beat, err)
	}
}

// liveGroups creates a security group of each name in the home region,
// tagged with tags, as a live run's, and returns their ids.
func liveGroups(t *testing.T, w *simWorld, tags []types.Tag, names ...string) []string {
	t.Helper()
	client, err := w.baker.ec2In(home)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, name := range names {
		in := &ec2.CreateSecurityGroupInput{GroupName: awssdk.String(name), Description: awssdk.String("a live run's")}
		if tags != nil {
			in.TagSpecifications = tagSpecs(tags, types.ResourceTypeSecurityGroup)
		}
		out, err := client.CreateSecurityGroup(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, awssdk.ToString(out.GroupId))
	}
	return ids
}
