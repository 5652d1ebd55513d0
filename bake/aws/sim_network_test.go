package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/rules"
)

// Two bakes reach their instances without the public address: one in the
// subnet subnet_filter picks by its tags, over the private address and
// with no public one; its child through a Session Manager session, with no
// inbound port open at all. A third bake, over the usual public address,
// finds what both wrote in their images.
func TestSimBakePrivateSubnetAndSessionManager(t *testing.T) {
	w := newSimWorld(t, Options{})
	run := newRunID()
	ctx := context.Background()
	client, err := w.baker.ec2In(home)
	if err != nil {
		t.Fatal(err)
	}
	subnets, err := client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil || len(subnets.Subnets) == 0 {
		t.Fatalf("DescribeSubnets: %v", err)
	}
	private := awssdk.ToString(subnets.Subnets[0].SubnetId)
	if _, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{private},
		Tags: []types.Tag{{Key: awssdk.String("Tier"), Value: awssdk.String("private")}}}); err != nil {
		t.Fatal(err)
	}

	im := w.image("private", inlineShell("mkdir -p /etc/net", "echo private > /etc/net/private"))
	no := false
	im.AWS.Network = rules.AWSNetwork{
		SSHInterface: rules.SSHInterfacePrivateIP, AssociatePublicIP: &no,
		SubnetFilter: map[string]string{"tag:Tier": "private"},
	}
	privateJob := w.job(im, run, "")
	privateJob.onPhase = func(p string) {
		if p != "connect" {
			return
		}
		for _, in := range w.sim.State().Regions[home].Instances {
			if in.Tags[bake.TagRun] != run || in.State != "running" {
				continue
			}
			desc, err := describeInstance(ctx, client, in.ID)
			if err != nil || desc == nil {
				t.Fatalf("describing %s: %v", in.ID, err)
			}
			if desc.PublicIpAddress != nil || awssdk.ToString(desc.SubnetId) != private {
				t.Errorf("instance %s: public address %v in %s; want none, in %s", in.ID, awssdk.ToString(desc.PublicIpAddress), awssdk.ToString(desc.SubnetId), private)
			}
		}
	}
	privateID, err := w.baker.Bake(ctx, privateJob.Job)
	if err != nil {
		t.Fatalf("bake in the private subnet: %v\nlog:\n%s", err, privateJob.log)
	}
	if log := privateJob.log.String(); !strings.Contains(log, "subnet_filter picked "+private) {
		t.Errorf("log does not say which subnet was picked:\n%s", log)
	}

	im = w.image("session", inlineShell("test \"$(cat /etc/net/private)\" = private", "echo session > /etc/net/session"))
	im.AWS.Network.SSHInterface = rules.SSHInterfaceSessionManager
	sessionJob := w.job(im, run, privateID)
	sawSession := false
	sessionJob.onPhase = func(p string) {
		if p != "connect" {
			return
		}
		for _, g := range w.sim.State().Regions[home].SecurityGroups {
			if g.Tags[bake.TagRun] == run && len(g.Ingress) != 0 {
				t.Errorf("the temporary group %s of a session bake has ingress rules: %+v", g.ID, g.Ingress)
			}
		}
		for _, status := range w.sim.Sessions() {
			sawSession = sawSession || status == "Connected"
		}
	}
	sessionID, err := w.baker.Bake(ctx, sessionJob.Job)
	if err != nil {
		t.Fatalf("bake over Session Manager: %v\nlog:\n%s", err, sessionJob.log)
	}
	if log := sessionJob.log.String(); !strings.Contains(log, "through session ") {
		t.Errorf("the session bake did not connect through its session:\n%s", log)
	}
	if !sawSession {
		t.Error("no session was connected while the bake connected")
	}
	for id, status := range w.sim.Sessions() {
		if status != "Terminated" {
			t.Errorf("session %s is %s after the bake", id, status)
		}
	}
	if want := "prepare security group launch session connect"; !strings.HasPrefix(strings.Join(sessionJob.Phases(), " "), want) {
		t.Errorf("phases = %v, want them to start %s", sessionJob.Phases(), want)
	}

	check := w.job(w.image("check", inlineShell(
		"test \"$(cat /etc/net/private)\" = private", "test \"$(cat /etc/net/session)\" = session")), run, sessionID)
	if _, err := w.baker.Bake(ctx, check.Job); err != nil {
		t.Fatalf("the images lack what their provisioners wrote: %v\nlog:\n%s", err, check.log)
	}
	w.noLeftovers(t, run)
}

// The image's own security groups, by name or id, are used as they are:
// no temporary group is made, and none of them is changed.
func TestSimBakeOwnSecurityGroups(t *testing.T) {
	w := newSimWorld(t, Options{})
	run := newRunID()
	ctx := context.Background()
	client, err := w.baker.ec2In(home)
	if err != nil {
		t.Fatal(err)
	}
	vpc, err := vpcOf(ctx, client, "", home)
	if err != nil {
		t.Fatal(err)
	}
	g, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: awssdk.String("builders"), Description: awssdk.String("SSH from the builders"), VpcId: awssdk.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId,
		IpPermissions: []types.IpPermission{{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(int32(w.port)), ToPort: awssdk.Int32(int32(w.port)),
			IpRanges: []types.IpRange{{CidrIp: awssdk.String("127.0.0.0/8")}}}}}); err != nil {
		t.Fatal(err)
	}
	rulesOf := func() string {
		for _, sg := range w.sim.State().Regions[home].SecurityGroups {
			if sg.ID == awssdk.ToString(g.GroupId) {
				return fmt.Sprintf("%+v", sg.Ingress)
			}
		}
		return "gone"
	}
	before := rulesOf()

	im := w.image("own", inlineShell("echo own > /etc/own"))
	im.AWS.Network.SecurityGroups = []string{"builders"}
	job := w.job(im, run, "")
	job.onPhase = func(p string) {
		if p != "connect" {
			return
		}
		for _, in := range w.sim.State().Regions[home].Instances {
			if in.Tags[bake.TagRun] == run && in.State == "running" &&
				(len(in.SecurityGroups) != 1 || in.SecurityGroups[0] != awssdk.ToString(g.GroupId)) {
				t.Errorf("instance %s is in %v, want [%s]", in.ID, in.SecurityGroups, awssdk.ToString(g.GroupId))
			}
		}
	}
	if _, err := w.baker.Bake(ctx, job.Job); err != nil {
		t.Fatalf("%v\nlog:\n%s", err, job.log)
	}
	if strings.Contains(strings.Join(job.Phases(), " "), "security group") || strings.Contains(strings.Join(job.Phases(), " "), "authorize ssh") {
		t.Errorf("phases %v: a temporary group was made or a group changed", job.Phases())
	}
	if after := rulesOf(); after != before {
		t.Errorf("the group's rules changed: %s, then %s", before, after)
	}
	w.noLeftovers(t, run)

	// A group that does not exist, or a subnet_filter that matches none,
	// fails the bake before anything is made.
	for _, tc := range []struct {
		net  rules.AWSNetwork
		want string
	}{
		{rules.AWSNetwork{SecurityGroups: []string{"nobody"}}, `no security group "nobody"`},
		{rules.AWSNetwork{SecurityGroups: []string{"sg-0123456789abcdef0"}}, "InvalidGroup.NotFound"},
		{rules.AWSNetwork{SubnetFilter: map[string]string{"tag:Tier": "nowhere"}}, `no subnet in ` + home + ` matches subnet_filter {"tag:Tier": "nowhere"}`},
	} {
		im := w.image("bad")
		im.AWS.Network = tc.net
		job := w.job(im, run, "")
		_, err := w.baker.Bake(ctx, job.Job)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error saying %s", tc.net, err, tc.want)
		}
		if strings.Contains(strings.Join(job.Phases(), " "), "launch") {
			t.Errorf("%+v: phases %v", tc.net, job.Phases())
		}
	}
	w.noLeftovers(t, run)
}

// A session bake that fails or is cancelled at each of its own steps, or
// whose StartSession is refused, leaves no session connected and nothing
// else behind.
func TestSimSessionEndsOnEveryPathOut(t *testing.T) {
	w := newSimWorld(t, Options{})
	sessionImage := func() *rules.Image {
		im := w.image("session", inlineShell("echo one > /etc/one"))
		im.AWS.Network.SSHInterface = rules.SSHInterfaceSessionManager
		return im
	}
	allEnded := func(t *testing.T) {
		t.Helper()
		for id, status := range w.sim.Sessions() {
			if status != "Terminated" {
				t.Errorf("session %s is %s after the bake", id, status)
			}
		}
	}
	for _, phase := range []string{"session", "connect", "provision [0] shell"} {
		t.Run("cancel at "+phase, func(t *testing.T) {
			run := newRunID()
			job := w.job(sessionImage(), run, "")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			job.onPhase = func(p string) {
				if p == phase {
					cancel()
				}
			}
			if _, err := w.baker.Bake(ctx, job.Job); !errors.Is(err, context.Canceled) {
				t.Fatalf("Bake: %v, want it cancelled", err)
			}
			allEnded(t)
			w.noLeftovers(t, run)
		})
	}
	// StartSession made the session and the bake never heard back: the
	// instance's termination ends it.
	t.Run("cancel while StartSession is in flight", func(t *testing.T) {
		run := newRunID()
		job := w.job(sessionImage(), run, "")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		hit := false
		w.hook(func(a string) answer {
			if a == "StartSession" && !hit {
				hit = true
				cancel()
				return lose
			}
			return deliver
		})
		defer w.hook(nil)
		before := len(w.sim.Sessions())
		if _, err := w.baker.Bake(ctx, job.Job); !hit || !errors.Is(err, context.Canceled) {
			t.Fatalf("Bake: %v (StartSession called: %v), want it cancelled", err, hit)
		}
		if len(w.sim.Sessions()) != before+1 {
			t.Error("the lost StartSession made no session")
		}
		allEnded(t)
		w.noLeftovers(t, run)
	})
	t.Run("StartSession refused", func(t *testing.T) {
		f, err := w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultError, Action: "StartSession", Code: "AccessDeniedException",
			Message: "User is not authorized to perform: ssm:StartSession"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.sim.RemoveFault(f.ID)
		run := newRunID()
		job := w.job(sessionImage(), run, "")
		_, err = w.baker.Bake(context.Background(), job.Job)
		if err == nil || !strings.Contains(err.Error(), "session: starting a Session Manager session to i-") || !strings.Contains(err.Error(), "AccessDeniedException") {
			t.Fatalf("Bake: %v", err)
		}
		allEnded(t)
		w.noLeftovers(t, run)
	})
	// The data channel's own TerminateSession flag ends the session even
	// when the API call cannot; the image is made, and the call's failure
	// is a warning.
	t.Run("TerminateSession refused", func(t *testing.T) {
		f, err := w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultError, Action: "TerminateSession", Code: "AccessDeniedException",
			Message: "User is not authorized to perform: ssm:TerminateSession"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.sim.RemoveFault(f.ID)
		run := newRunID()
		job := w.job(sessionImage(), run, "")
		if _, err := w.baker.Bake(context.Background(), job.Job); err != nil {
			t.Fatalf("Bake: %v\nlog:\n%s", err, job.log)
		}
		allEnded(t)
		w.noLeftovers(t, run)
	})
}

// A session that ends under the bake is replaced when SSH dials again,
// and every session the bake started is terminated in its cleanup.
func TestSimSessionReplacedWhenItEnds(t *testing.T) {
	w := newSimWorld(t, Options{})
	ctx := context.Background()
	client, err := w.baker.ec2In(home)
	if err != nil {
		t.Fatal(err)
	}
	run, err := client.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: awssdk.String(w.base), InstanceType: types.InstanceTypeT3Micro,
		MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	im := w.image("session")
	im.AWS.Network.SSHInterface = rules.SSHInterfaceSessionManager
	s, err := w.baker.newBakeState(w.job(im, newRunID(), "").Job)
	if err != nil {
		t.Fatal(err)
	}
	s.instanceID = awssdk.ToString(run.Instances[0].InstanceId)
	err = waitFor(ctx, time.Millisecond, 30*time.Second, "the instance to run", func(ctx context.Context) (bool, error) {
		in, err := describeInstance(ctx, client, s.instanceID)
		return in != nil && in.State.Name == types.InstanceStateNameRunning, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.startSession(ctx); err != nil {
		t.Fatal(err)
	}
	first := s.net.sessionIDs[0]
	ssmClient, err := w.baker.clientsFor(home)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ssmClient.ssm.TerminateSession(ctx, &ssm.TerminateSessionInput{SessionId: awssdk.String(first)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.net.session.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the session's channel did not end with TerminateSession")
	}
	conn, err := s.dialSession(ctx)
	if err != nil {
		t.Fatalf("dialing after the session ended: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	banner := make([]byte, 8)
	if _, err := io.ReadFull(conn, banner); err != nil || string(banner) != "SSH-2.0-" {
		t.Errorf("the new session's stream reads %q, %v; want an SSH banner", banner, err)
	}
	conn.Close()
	if len(s.net.sessionIDs) != 2 || w.sim.SessionStatus(s.net.sessionIDs[1]) != "Connected" {
		t.Fatalf("sessions %v: want a second, connected", s.net.sessionIDs)
	}
	if err := (&stepSession{}).Cleanup(ctx, s); err != nil {
		t.Fatal(err)
	}
	for _, id := range s.net.sessionIDs {
		if st := w.sim.SessionStatus(id); st != "Terminated" {
			t.Errorf("session %s is %s after the cleanup", id, st)
		}
	}
}
