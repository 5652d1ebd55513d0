package ec2sim_test

import (
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"golang.org/x/crypto/ssh"

	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/internal/ssmsession"
)

// A port-forwarding session reaches the instance's SSH server through the
// data channel, several connections at once, until it is terminated.
func TestSessionManagerPortForwarding(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	key := w.newKey(home, "bake-key")
	id := w.run(home, w.base, "bake-key")
	w.instance(home, id)
	client := w.ssm(home)

	port := aws.String(strconv.Itoa(w.opts.SSHPort))
	start := func(target, doc string) (*ssm.StartSessionOutput, error) {
		return client.StartSession(ctx, &ssm.StartSessionInput{
			Target: aws.String(target), DocumentName: aws.String(doc),
			Parameters: map[string][]string{"portNumber": {*port}, "localPortNumber": {"0"}},
		})
	}
	_, err := start("i-0123456789abcdef0", "AWS-StartPortForwardingSession")
	wantCode(t, err, "TargetNotConnected")
	_, err = start(id, "AWS-StartNoSuchSession")
	wantCode(t, err, "InvalidDocument")
	_, err = client.StartSession(ctx, &ssm.StartSessionInput{Target: aws.String(id), DocumentName: aws.String("AWS-StartPortForwardingSession"),
		Parameters: map[string][]string{"portNumber": {"http"}}})
	wantCode(t, err, "ValidationException")

	out, err := start(id, "AWS-StartPortForwardingSession")
	if err != nil {
		t.Fatalf("StartSession: %v", err)
	}
	if _, err := ssmsession.Open(ctx, *out.StreamUrl, "not the token"); err == nil {
		t.Fatal("the data channel opened with a wrong token")
	}
	// A data channel opens once, and a wrong token spent it: a new session.
	out, err = start(id, "AWS-StartPortForwardingSession")
	if err != nil {
		t.Fatalf("StartSession: %v", err)
	}
	ses, err := ssmsession.Open(ctx, *out.StreamUrl, *out.TokenValue)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer ses.Close()
	var clients []*ssh.Client
	for i := range 2 {
		conn, err := ses.Dial(ctx)
		if err != nil {
			t.Fatalf("Dial %d: %v", i, err)
		}
		sc, chans, reqs, err := ssh.NewClientConn(conn, "instance", &ssh.ClientConfig{
			User: "ec2-user", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		})
		if err != nil {
			t.Fatalf("SSH over the session, connection %d: %v", i, err)
		}
		clients = append(clients, ssh.NewClient(sc, chans, reqs))
	}
	big := make([]byte, 200_000)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	for i, cl := range clients {
		stdout, _, status := runSSH(t, cl, "wc -c; echo $0", string(big))
		if status != 0 || stdout != "200000\n/bin/sh\n" {
			t.Errorf("connection %d: stdout %q, status %d", i, stdout, status)
		}
	}
	if st := w.sim.SessionStatus(*out.SessionId); st != "Connected" {
		t.Errorf("status %q before TerminateSession", st)
	}
	if _, err := client.TerminateSession(ctx, &ssm.TerminateSessionInput{SessionId: out.SessionId}); err != nil {
		t.Fatalf("TerminateSession: %v", err)
	}
	<-ses.Done()
	if st := w.sim.SessionStatus(*out.SessionId); st != "Terminated" {
		t.Errorf("status %q after TerminateSession", st)
	}
	if _, err := clients[0].NewSession(); err == nil {
		t.Error("an SSH connection outlived its session")
	}
	// Terminating again, or a session SSM never had, answers as a success.
	if _, err := client.TerminateSession(ctx, &ssm.TerminateSessionInput{SessionId: out.SessionId}); err != nil {
		t.Errorf("TerminateSession again: %v", err)
	}

	// The instance's end ends its sessions, as its agent goes with it.
	out, err = start(id, "AWS-StartPortForwardingSession")
	if err != nil {
		t.Fatalf("StartSession: %v", err)
	}
	if _, err := w.ec2(home).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if st := w.sim.SessionStatus(*out.SessionId); st != "Terminated" {
		t.Errorf("status %q once the instance is terminated", st)
	}
	_, err = start(id, "AWS-StartPortForwardingSession")
	wantCode(t, err, "TargetNotConnected")
}
