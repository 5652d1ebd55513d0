package aws

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// stepConnect reaches the instance over SSH with the temporary key, and
// finds out whether commands need sudo to run as root.
type stepConnect struct{}

func (*stepConnect) Name() string { return "connect" }

func (*stepConnect) Run(ctx context.Context, s *bakeState) error {
	s.phase("connect")
	attrs := s.attrs
	addr := net.JoinHostPort(s.address, strconv.Itoa(attrs.SSHPort))
	s.comm = newCommunicator(addr, attrs.SSHUser, s.signer)
	if s.net.session != nil {
		addr = fmt.Sprintf("port %d of %s through session %s", attrs.SSHPort, s.instanceID, s.net.sessionIDs[len(s.net.sessionIDs)-1])
		s.comm.addr, s.comm.dialer = addr, s.dialSession
	}
	fmt.Fprintf(s.log, "==> connecting to %s as %s\n", addr, attrs.SSHUser)
	if err := s.comm.connect(ctx, cmp.Or(attrs.SSHTimeout, s.b.opts.SSHTimeout)); err != nil {
		return err
	}
	uid, err := s.comm.output(ctx, "id -u")
	if err != nil {
		return fmt.Errorf("id -u: %w", err)
	}
	if strings.TrimSpace(uid) == "0" {
		return nil
	}
	// Provisioners run as root, as Packer's users run them with sudo.
	if _, err := s.comm.output(ctx, "sudo -n true"); err != nil {
		return fmt.Errorf("%s is not root and cannot run sudo without a password (sudo -n true: %w)", attrs.SSHUser, err)
	}
	s.sudo = "sudo -n -E "
	return nil
}

func (*stepConnect) Cleanup(ctx context.Context, s *bakeState) error {
	if s.comm != nil {
		s.comm.Close()
	}
	return nil
}
