package aws

import (
	"context"
	"fmt"
	"strconv"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/imgraph/imgraph/internal/ssmsession"
	"github.com/imgraph/imgraph/rules"
)

// portForwardingDocument is the Session Manager document that forwards a
// port of the instance, as Packer's session_manager interface uses it.
const portForwardingDocument = "AWS-StartPortForwardingSession"

// sessionOpenTimeout bounds the opening of a session's data channel.
const sessionOpenTimeout = 30 * time.Second

// stepSession, for ssh_interface = "session_manager", reaches the
// instance's SSH port through a Session Manager port-forwarding session:
// no inbound port is open, and stepConnect's SSH runs over the session's
// data channel. The agent registers a while after the instance runs:
// until then SSM answers TargetNotConnected, and the step waits, bounded
// by ssh_timeout.
type stepSession struct{}

func (*stepSession) Name() string { return "session" }

func (*stepSession) Run(ctx context.Context, s *bakeState) error {
	if s.sshInterface() != rules.SSHInterfaceSessionManager {
		return nil
	}
	s.phase("session")
	c, err := s.b.clientsFor(s.region)
	if err != nil {
		return err
	}
	in := &ssm.StartSessionInput{
		Target:       awssdk.String(s.instanceID),
		DocumentName: awssdk.String(portForwardingDocument),
		Parameters: map[string][]string{
			"portNumber":      {strconv.Itoa(s.attrs.SSHPort)},
			"localPortNumber": {"0"}, // no local port: the SSH client runs over the channel in process
		},
		Reason: awssdk.String("imgraph: SSH to the build instance of " + s.label),
	}
	var out *ssm.StartSessionOutput
	timeout := s.attrs.SSHTimeout
	if timeout == 0 {
		timeout = s.b.opts.SSHTimeout
	}
	what := fmt.Sprintf("waiting for the SSM agent of %s to take a session (is an instance profile with SSM's managed instance policy attached?)", s.instanceID)
	err = waitFor(ctx, s.b.opts.PollInterval, timeout, what, func(ctx context.Context) (bool, error) {
		var err error
		out, err = c.ssm.StartSession(ctx, in)
		if errorCode(err) == "TargetNotConnected" {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return fmt.Errorf("starting a Session Manager session to %s: %w", s.instanceID, err)
	}
	s.net.sessionID = awssdk.ToString(out.SessionId)
	fmt.Fprintf(s.log, "==> session %s forwards port %d of %s\n", s.net.sessionID, s.attrs.SSHPort, s.instanceID)
	octx, cancel := context.WithTimeout(ctx, sessionOpenTimeout)
	defer cancel()
	s.net.session, err = ssmsession.Open(octx, awssdk.ToString(out.StreamUrl), awssdk.ToString(out.TokenValue))
	if err != nil {
		return fmt.Errorf("session %s to %s: %w", s.net.sessionID, s.instanceID, err)
	}
	return nil
}

// Cleanup closes the data channel and terminates the session, on every
// path out. A StartSession whose answer was lost leaves a session SSM ends
// itself when the instance, terminated next, goes.
func (*stepSession) Cleanup(ctx context.Context, s *bakeState) error {
	if s.net.session != nil {
		s.net.session.Close()
	}
	if s.net.sessionID == "" {
		return nil
	}
	c, err := s.b.clientsFor(s.region)
	if err != nil {
		return err
	}
	if _, err := c.ssm.TerminateSession(ctx, &ssm.TerminateSessionInput{SessionId: awssdk.String(s.net.sessionID)}); err != nil {
		return fmt.Errorf("terminating session %s to %s: %w", s.net.sessionID, s.instanceID, err)
	}
	return nil
}
