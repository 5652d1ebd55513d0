package aws

import (
	"context"
	"errors"
	"fmt"
	"net"
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
// by ssh_timeout. A session that ends under the bake (the agent
// restarted, say) is replaced when SSH reconnects.
type stepSession struct{}

func (*stepSession) Name() string { return "session" }

func (*stepSession) Run(ctx context.Context, s *bakeState) error {
	if s.sshInterface() != rules.SSHInterfaceSessionManager {
		return nil
	}
	s.phase("session")
	return s.startSession(ctx)
}

// startSession starts a session to the instance's SSH port and opens its
// data channel.
func (s *bakeState) startSession(ctx context.Context) error {
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
	id := awssdk.ToString(out.SessionId)
	s.net.sessionIDs = append(s.net.sessionIDs, id)
	fmt.Fprintf(s.log, "==> session %s forwards port %d of %s\n", id, s.attrs.SSHPort, s.instanceID)
	octx, cancel := context.WithTimeout(ctx, sessionOpenTimeout)
	defer cancel()
	session, err := ssmsession.Open(octx, awssdk.ToString(out.StreamUrl), awssdk.ToString(out.TokenValue))
	if err != nil {
		return fmt.Errorf("session %s to %s: %w", id, s.instanceID, err)
	}
	s.net.session = session
	return nil
}

// dialSession is the communicator's dial: a stream of the session, or of
// a new one when the session has ended, or carries no more connections
// (an agent that does not multiplex forwards one per session).
func (s *bakeState) dialSession(ctx context.Context) (net.Conn, error) {
	s.net.mu.Lock()
	defer s.net.mu.Unlock()
	why := ""
	select {
	case <-s.net.session.Done():
		why = "ended"
	default:
		if s.net.session.Exhausted() {
			why = "carries one connection, which is used"
		}
	}
	if why != "" {
		fmt.Fprintf(s.log, "==> session %s %s; starting another\n", s.net.sessionIDs[len(s.net.sessionIDs)-1], why)
		s.net.session.Close()
		if err := s.startSession(ctx); err != nil {
			return nil, err
		}
	}
	return s.net.session.Dial(ctx)
}

// Cleanup closes the data channel and terminates every session the bake
// started, on every path out. A StartSession whose answer was lost leaves
// a session that SSM ends when the instance, terminated next, goes.
func (*stepSession) Cleanup(ctx context.Context, s *bakeState) error {
	if s.net.session != nil {
		s.net.session.Close()
	}
	if len(s.net.sessionIDs) == 0 {
		return nil
	}
	c, err := s.b.clientsFor(s.region)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range s.net.sessionIDs {
		if _, err := c.ssm.TerminateSession(ctx, &ssm.TerminateSessionInput{SessionId: awssdk.String(id)}); err != nil {
			errs = append(errs, fmt.Errorf("terminating session %s to %s: %w", id, s.instanceID, err))
		}
	}
	return errors.Join(errs...)
}
