//go:build linux

package ec2sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func TestThrottlingIsRetried(t *testing.T) {
	w := newWorld(t, ec2sim.Options{Faults: []ec2sim.Fault{{Kind: ec2sim.FaultThrottle, Every: 2}}})
	c := w.ec2(home)
	for i := 0; i < 10; i++ {
		if _, err := c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{}); err != nil {
			t.Fatalf("a throttled call was not retried to success: %v", err)
		}
	}
	if _, err := w.ssm(home).GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/x"}}); err != nil {
		t.Fatalf("a throttled SSM call was not retried to success: %v", err)
	}
	calls := w.sim.Calls()[home]
	if calls["DescribeRegions"] < 15 {
		t.Errorf("%d DescribeRegions requests for 10 calls with every second one throttled", calls["DescribeRegions"])
	}
	if f := w.sim.Faults()[0]; f.Fired < 8 {
		t.Errorf("the throttle fired %d times", f.Fired)
	}

	// Without retries, the throttling shows, as EC2 sends it.
	one := ec2.NewFromConfig(w.awsConfig(home), func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
	var codes []string
	for i := 0; i < 4; i++ {
		_, err := one.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
		codes = append(codes, errorCode(err))
	}
	if strings.Count(strings.Join(codes, ","), "RequestLimitExceeded") != 2 {
		t.Errorf("codes without retries: %v", codes)
	}
}

func TestErrorFaults(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	add := func(f ec2sim.Fault) ec2sim.Fault {
		t.Helper()
		f, err := w.sim.AddFault(f)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	describe := func(region string) error {
		_, err := w.ec2(region).DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{})
		return err
	}

	// Once, in one region, for one action.
	add(ec2sim.Fault{Kind: ec2sim.FaultError, Region: home, Action: "DescribeKeyPairs", Code: "UnauthorizedOperation", Times: 1})
	if err := describe(away); err != nil {
		t.Errorf("a fault of %s fired in %s: %v", home, away, err)
	}
	if _, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		t.Errorf("a DescribeKeyPairs fault fired on DescribeVpcs: %v", err)
	}
	wantCode(t, describe(home), "UnauthorizedOperation")
	if err := describe(home); err != nil {
		t.Errorf("a fault for once fired twice: %v", err)
	}
	w.sim.ClearFaults()

	// N times, after letting some through.
	add(ec2sim.Fault{Kind: ec2sim.FaultError, Action: "CreateTags", Code: "InternalError", Skip: 1, Times: 2})
	tagIt := func() error {
		_, err := w.ec2(home).CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{w.base}, Tags: []types.Tag{tag("a", "b")}})
		return err
	}
	if err := tagIt(); err != nil {
		t.Errorf("the skipped request failed: %v", err)
	}
	// InternalError is a 500 the SDK retries: two faults, then success.
	if err := tagIt(); err != nil {
		t.Errorf("an InternalError fault was not retried: %v", err)
	}
	if f := w.sim.Faults()[0]; f.Fired != 2 {
		t.Errorf("fired %d times; want 2", f.Fired)
	}
	w.sim.ClearFaults()

	// Always.
	add(ec2sim.Fault{Kind: ec2sim.FaultError, Action: "DescribeKeyPairs", Code: "InvalidKeyPair.NotFound", Message: "gone"})
	for i := 0; i < 3; i++ {
		wantCode(t, describe(home), "InvalidKeyPair.NotFound")
	}
	w.sim.ClearFaults()
	if err := describe(home); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
	if _, err := w.sim.AddFault(ec2sim.Fault{Kind: "meteor"}); err == nil {
		t.Errorf("an unknown kind of fault was accepted")
	}
	if _, err := w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultImageFails, Action: "RunInstances"}); err == nil {
		t.Errorf("an image-fails fault about RunInstances was accepted")
	}
}

func TestInstanceNeverBoots(t *testing.T) {
	w := newWorld(t, ec2sim.Options{Faults: []ec2sim.Fault{{Kind: ec2sim.FaultInstanceNeverBoots, Times: 1}}})
	stuck := w.run(home, w.base, "")
	fine := w.run(home, w.base, "")
	for i := 0; i < 3; i++ {
		if in := w.instance(home, stuck); in.State.Name != types.InstanceStateNamePending {
			t.Fatalf("an instance that never boots is %s", in.State.Name)
		}
	}
	if in := w.instance(home, fine); in.State.Name != types.InstanceStateNameRunning {
		t.Errorf("the second instance is %s", in.State.Name)
	}
	// It can still be terminated.
	w.ec2(home).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{stuck}})
	if in := w.instance(home, stuck); in.State.Name != types.InstanceStateNameTerminated {
		t.Errorf("a terminated stuck instance is %s", in.State.Name)
	}
}

func TestImageAndCopyFail(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultImageFails, Times: 1})
	bad, _ := w.bakeImage("fails")
	im := w.image(home, bad)
	if im.State != types.ImageStateFailed || im.StateReason == nil || *im.StateReason.Code == "" {
		t.Fatalf("a failing image is %s (%+v)", im.State, im.StateReason)
	}
	snap := *im.BlockDeviceMappings[0].Ebs.SnapshotId
	snaps := must[*ec2.DescribeSnapshotsOutput](t)(w.ec2(home).DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snap}}))
	if snaps.Snapshots[0].State != types.SnapshotStateError {
		t.Errorf("the failed image's snapshot is %s", snaps.Snapshots[0].State)
	}
	_, err := w.ec2(home).CopyImage(ctx, &ec2.CopyImageInput{SourceRegion: aws.String(home), SourceImageId: aws.String(bad), Name: aws.String("copy")})
	wantCode(t, err, "IncorrectState")

	good, _ := w.bakeImage("works")
	if im := w.image(home, good); im.State != types.ImageStateAvailable {
		t.Fatalf("the next image is %s", im.State)
	}
	w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultCopyFails, Region: away})
	cp := must[*ec2.CopyImageOutput](t)(w.ec2(away).CopyImage(ctx, &ec2.CopyImageInput{SourceRegion: aws.String(home), SourceImageId: aws.String(good), Name: aws.String("works")}))
	if im := w.image(away, *cp.ImageId); im.State != types.ImageStateFailed {
		t.Errorf("a failing copy is %s", im.State)
	}
	same := must[*ec2.CopyImageOutput](t)(w.ec2(home).CopyImage(ctx, &ec2.CopyImageInput{SourceRegion: aws.String(home), SourceImageId: aws.String(good), Name: aws.String("works-here")}))
	if im := w.image(home, *same.ImageId); im.State != types.ImageStateAvailable {
		t.Errorf("a copy in a region without the fault is %s", im.State)
	}
}

func TestSSHRefusesAttempts(t *testing.T) {
	w := newWorld(t, ec2sim.Options{Faults: []ec2sim.Fault{{Kind: ec2sim.FaultSSHRefuse, Attempts: 2}}})
	key := w.newKey(home, "k")
	addr := w.sshAddr(w.instance(home, w.run(home, w.base, "k")))
	for i := 0; i < 2; i++ {
		if cl, err := dial(addr, key, nil); err == nil {
			cl.Close()
			t.Fatalf("attempt %d was not refused", i+1)
		}
	}
	cl, err := dial(addr, key, nil)
	if err != nil {
		t.Fatalf("the third attempt: %v", err)
	}
	cl.Close()
	// The fault was for every instance: the next one refuses too.
	other := w.sshAddr(w.instance(home, w.run(home, w.base, "k")))
	if cl, err := dial(other, key, nil); err == nil {
		cl.Close()
		t.Errorf("the second instance's first attempt was not refused")
	}
}

// clock is a clock the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestSSHRefusesForAWhile(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	w := newWorld(t, ec2sim.Options{Now: clk.Now, Faults: []ec2sim.Fault{{Kind: ec2sim.FaultSSHRefuse, For: ec2sim.Duration(time.Minute)}}})
	key := w.newKey(home, "k")
	addr := w.sshAddr(w.instance(home, w.run(home, w.base, "k")))
	for i := 0; i < 3; i++ {
		if cl, err := dial(addr, key, nil); err == nil {
			cl.Close()
			t.Fatalf("attempt %d within the minute was not refused", i+1)
		}
	}
	clk.Add(time.Minute)
	cl, err := dial(addr, key, nil)
	if err != nil {
		t.Fatalf("after the minute: %v", err)
	}
	cl.Close()
}

func TestSSHHangs(t *testing.T) {
	w := newWorld(t, ec2sim.Options{Faults: []ec2sim.Fault{{Kind: ec2sim.FaultSSHHang, Attempts: 1}}})
	key := w.newKey(home, "k")
	addr := w.sshAddr(w.instance(home, w.run(home, w.base, "k")))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// A hung server accepts and never sends its banner: only a deadline
	// ends the wait, as a client's handshake timeout does.
	conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 1)
	_, err = conn.Read(buf)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("reading from a hung server: %v; want a timeout", err)
	}
	conn.Close()
	cl, err := dial(addr, key, nil)
	if err != nil {
		t.Fatalf("the next attempt: %v", err)
	}
	cl.Close()
}

func TestFaultsOverHTTP(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	post := func(body string) (int, string) {
		resp, err := http.Post(w.endpoint+"/_sim/faults", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	status, body := post(`{"kind":"error","action":"RunInstances","code":"InsufficientInstanceCapacity","times":1}`)
	if status != http.StatusOK {
		t.Fatalf("POST /_sim/faults: %d %s", status, body)
	}
	var added []ec2sim.Fault
	if err := json.Unmarshal([]byte(body), &added); err != nil || len(added) != 1 || added[0].ID == "" || added[0].Status != 503 {
		t.Fatalf("POST answered %s (%v)", body, err)
	}
	status, body = post(`[{"kind":"throttle","every":5,"region":"eu-west-1"},{"kind":"ssh-refuse","for":"30s"}]`)
	if status != http.StatusOK {
		t.Fatalf("POST of two faults: %d %s", status, body)
	}
	if status, body = post(`{"kind":"error"}`); status != http.StatusBadRequest || !strings.Contains(body, "code") {
		t.Errorf("a fault without a code: %d %s", status, body)
	}
	if status, body = post(`{"kind":"throttle","evry":5}`); status != http.StatusBadRequest {
		t.Errorf("a misspelt fault: %d %s", status, body)
	}

	_, err := w.ec2(home).RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Errorf("InsufficientInstanceCapacity (a 503) once was not retried: %v", err)
	}
	resp, err := http.Get(w.endpoint + "/_sim/faults")
	if err != nil {
		t.Fatal(err)
	}
	var faults []ec2sim.Fault
	json.NewDecoder(resp.Body).Decode(&faults)
	resp.Body.Close()
	if len(faults) != 3 || faults[0].Fired != 1 || faults[2].For != ec2sim.Duration(30*time.Second) {
		t.Errorf("GET /_sim/faults: %+v", faults)
	}
	req, _ := http.NewRequest(http.MethodDelete, w.endpoint+"/_sim/faults/"+faults[0].ID, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE one fault: %v %v", resp.Status, err)
	}
	if n := len(w.sim.Faults()); n != 2 {
		t.Errorf("%d faults after deleting one", n)
	}
	req, _ = http.NewRequest(http.MethodDelete, w.endpoint+"/_sim/faults", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE all faults: %v %v", resp.Status, err)
	}
	if n := len(w.sim.Faults()); n != 0 {
		t.Errorf("%d faults after deleting all", n)
	}
}

// An answer-lost fault lets the call take effect and holds its answer
// until the caller gives up: the instance runs, and its id never came.
func TestAnswerLost(t *testing.T) {
	w := newWorld(t, ec2sim.Options{Faults: []ec2sim.Fault{{Kind: ec2sim.FaultAnswerLost, Action: "RunInstances", Times: 1}}})
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := w.ec2(home).RunInstances(cctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ClientToken: aws.String("lost")})
		done <- err
	}()
	if action := <-w.sim.HeldAnswers(); action != "RunInstances" {
		t.Fatalf("held the answer of %s, want RunInstances", action)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunInstances = %v, want the caller's cancellation", err)
	}
	out, err := w.ec2(home).DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("client-token"), Values: []string{"lost"}}}})
	if err != nil || len(out.Reservations) != 1 {
		t.Fatalf("DescribeInstances: %v, %d reservations; want the instance launched all the same", err, len(out.Reservations))
	}
	// The same token again answers with it, as EC2 answers a retry.
	again, err := w.ec2(home).RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ClientToken: aws.String("lost")})
	if err != nil || *again.Instances[0].InstanceId != *out.Reservations[0].Instances[0].InstanceId {
		t.Fatalf("RunInstances with the same token: %v; want the instance launched before", err)
	}
}

// A late-visibility fault keeps what a call made out of the next describe
// calls, by id and by filter, then shows it.
func TestLateVisibility(t *testing.T) {
	w := newWorld(t, ec2sim.Options{Faults: []ec2sim.Fault{{Kind: ec2sim.FaultLateVisibility, Action: "RunInstances", Describes: 2}}})
	c := w.ec2(home)
	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := *out.Instances[0].InstanceId
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	all, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil || len(all.Reservations) != 0 {
		t.Fatalf("the second describe: %v, %d reservations; want none yet", err, len(all.Reservations))
	}
	if got := w.instance(home, id); *got.InstanceId != id {
		t.Fatalf("the third describe does not see %s", id)
	}
}
