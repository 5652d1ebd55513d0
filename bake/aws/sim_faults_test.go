package aws

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/rules"
)

func errorFault(action string) ec2sim.Fault {
	return ec2sim.Fault{Kind: ec2sim.FaultError, Action: action, Code: "UnauthorizedOperation",
		Message: "You are not authorized to perform this operation."}
}

func once(f ec2sim.Fault) ec2sim.Fault {
	f.Times = 1
	return f
}

// A fault at each step fails the bake with an error naming the image and
// the step, and leaves nothing of the run behind.
func TestSimFaultAtEachStep(t *testing.T) {
	for _, tc := range []struct {
		name       string
		faults     []ec2sim.Fault
		opts       Options
		provision  []rules.Provisioner
		sshTimeout time.Duration // the image's ssh_timeout
		want       string        // in the error, after "aws: bake //t:faulty: "
		wantToo    string        // elsewhere in the error
	}{
		{name: "import key pair", faults: []ec2sim.Fault{errorFault("ImportKeyPair")}, want: "key pair: importing key pair"},
		{name: "default vpc", faults: []ec2sim.Fault{errorFault("DescribeVpcs")}, want: "network: looking up the default VPC"},
		{name: "create security group", faults: []ec2sim.Fault{errorFault("CreateSecurityGroup")}, want: "security group: creating security group"},
		{name: "describe base image", faults: []ec2sim.Fault{errorFault("DescribeImages")}, want: "launch: looking up image"},
		{name: "run instances", faults: []ec2sim.Fault{errorFault("RunInstances")}, want: "launch: launching a t3.micro instance"},
		{name: "instance never boots", faults: []ec2sim.Fault{{Kind: ec2sim.FaultInstanceNeverBoots}},
			opts: Options{WaitTimeout: time.Second}, want: "launch: waiting for instance"},
		{name: "describe instances", faults: []ec2sim.Fault{once(errorFault("DescribeInstances"))}, want: "launch: describing instance"},
		{name: "authorize ingress", faults: []ec2sim.Fault{errorFault("AuthorizeSecurityGroupIngress")}, want: "authorize ssh: opening port"},
		{name: "ssh refused", faults: []ec2sim.Fault{{Kind: ec2sim.FaultSSHRefuse, Attempts: 1000}},
			opts: Options{SSHTimeout: 2 * time.Second}, want: "connect: no SSH connection"},
		{name: "ssh hangs", faults: []ec2sim.Fault{{Kind: ec2sim.FaultSSHHang, Attempts: 1000}},
			opts: Options{SSHTimeout: 2 * time.Second}, want: "connect: no SSH connection"},
		{name: "ssh_timeout", faults: []ec2sim.Fault{{Kind: ec2sim.FaultSSHRefuse, Attempts: 1000}},
			sshTimeout: 1500 * time.Millisecond, want: "connect: no SSH connection to 127.0.0.", wantToo: "within 1.5s"},
		{name: "provisioner fails", provision: []rules.Provisioner{inlineShell("true"), inlineShell("echo oops >&2", "exit 3")},
			want: "provision [1] shell (inline) exited with status 3"},
		{name: "stop instances", faults: []ec2sim.Fault{errorFault("StopInstances")}, want: "stop: stopping instance"},
		{name: "create image", faults: []ec2sim.Fault{errorFault("CreateImage")}, want: "create image: creating image imgraph-t-faulty-"},
		{name: "image fails", faults: []ec2sim.Fault{{Kind: ec2sim.FaultImageFails}}, want: "create image: image ami-"},
		{name: "untag image", faults: []ec2sim.Fault{errorFault("DeleteTags")}, want: "keep image: untagging image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newSimWorld(t, tc.opts)
			for _, f := range tc.faults {
				if _, err := w.sim.AddFault(f); err != nil {
					t.Fatal(err)
				}
			}
			run := newRunID()
			im := w.image("faulty", tc.provision...)
			im.AWS.SSHTimeout = tc.sshTimeout
			job := w.job(im, run, "")
			id, err := w.baker.Bake(context.Background(), job.Job)
			if err == nil {
				t.Fatalf("Bake = %s, want an error", id)
			}
			if want := "aws: bake //t:faulty: " + tc.want; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.wantToo) {
				t.Errorf("error:\n%v\nwant it to start with\n%s", err, want)
			}
			var ce *bake.CleanupError
			if errors.As(err, &ce) {
				t.Errorf("cleanup failed: %v", ce)
			}
			w.noLeftovers(t, run)
		})
	}
}

// Transient errors in the cleanups are retried by the SDK: the bake
// succeeds and leaves nothing.
func TestSimTransientCleanupErrors(t *testing.T) {
	w := newSimWorld(t, Options{})
	for _, action := range []string{"TerminateInstances", "DeleteSecurityGroup", "DeleteKeyPair"} {
		w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultError, Action: action, Code: "InternalError", Times: 3})
	}
	run := newRunID()
	job := w.job(w.image("transient"), run, "")
	if _, err := w.baker.Bake(context.Background(), job.Job); err != nil {
		t.Fatalf("%v\nlog:\n%s", err, job.log)
	}
	w.noLeftovers(t, run)
}

// One request in five is throttled: the bake, the copy and the publish
// still succeed.
func TestSimThrottling(t *testing.T) {
	w := newSimWorld(t, Options{})
	if _, err := w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultThrottle, Every: 5}); err != nil {
		t.Fatal(err)
	}
	run := newRunID()
	im := w.image("throttled", inlineShell("echo hi > /etc/hi"))
	im.PublishSSM = "/imgraph/t/throttled"
	job := w.job(im, run, "")
	ctx := context.Background()
	id, err := w.baker.Bake(ctx, job.Job)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, job.log)
	}
	copyID, err := w.baker.Copy(ctx, copyJob(job, id))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.baker.Publish(ctx, publishJob(job, copyID, away)); err != nil {
		t.Fatal(err)
	}
	fired := 0
	for _, f := range w.sim.Faults() {
		fired += f.Fired
	}
	if fired < 5 {
		t.Errorf("only %d requests were throttled", fired)
	}
	w.noLeftovers(t, run)
}

// The answer to a call that makes something is lost on the way and the
// SDK sends the call again: the bake (and the copy) still makes one of
// each, and leaves nothing behind.
func TestSimRetriedCallsMakeOneOfEach(t *testing.T) {
	w := newSimWorld(t, Options{})
	dropped := map[string]bool{}
	var mu sync.Mutex
	w.hook(func(action string) answer {
		mu.Lock()
		defer mu.Unlock()
		switch action {
		case "ImportKeyPair", "CreateSecurityGroup", "RunInstances", "AuthorizeSecurityGroupIngress", "CreateImage", "CopyImage":
			if !dropped[action] {
				dropped[action] = true
				return drop
			}
		}
		return deliver
	})
	run := newRunID()
	job, id := w.bakeOne(t, run)
	copyID, err := w.baker.Copy(context.Background(), copyJob(job, id))
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 6 {
		t.Errorf("dropped answers: %v", dropped)
	}
	st := w.sim.State()
	var instances, images int
	for _, r := range st.Regions {
		for _, in := range r.Instances {
			if in.Tags[bake.TagRun] == run {
				instances++
			}
		}
		for _, img := range r.Images {
			if img.Tags[bake.TagRun] == run {
				images++
			}
		}
	}
	if instances != 1 || images != 2 {
		t.Errorf("%d instances and %d images for one bake and one copy", instances, images)
	}
	if w.imageState(away, copyID) == nil {
		t.Errorf("copy %s is not there", copyID)
	}
	w.noLeftovers(t, run)
}

// A create call whose first attempt's answer is lost, and whose retries
// are all refused, ends with EC2's refusal; but the first attempt made
// the resource, and the bake's cleanup undoes it all the same.
func TestSimDoubtfulCallsAreUndone(t *testing.T) {
	for _, action := range []string{"CreateSecurityGroup", "RunInstances", "CreateImage"} {
		t.Run(action, func(t *testing.T) {
			w := newSimWorld(t, Options{})
			// The first attempt goes through; the other nine are throttled.
			if _, err := w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultError, Action: action, Code: "RequestLimitExceeded",
				Message: "Request limit exceeded.", Skip: 1, Times: minAttempts - 1}); err != nil {
				t.Fatal(err)
			}
			var once sync.Once
			w.hook(func(a string) answer {
				answer := deliver
				if a == action {
					once.Do(func() { answer = drop })
				}
				return answer
			})
			defer w.hook(nil)
			run := newRunID()
			job := w.job(w.image("doubtful", inlineShell("true")), run, "")
			_, err := w.baker.Bake(context.Background(), job.Job)
			if err == nil || !strings.Contains(err.Error(), "RequestLimitExceeded") {
				t.Fatalf("Bake = %v, want the refusal", err)
			}
			var ce *bake.CleanupError
			if errors.As(err, &ce) {
				t.Errorf("cleanup failed: %v", ce)
			}
			w.noLeftovers(t, run)
		})
	}
}
