package aws

import (
	"context"
	"crypto/ed25519"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"github.com/imgraph/imgraph/rules"
)

// abortState is what a bake left for --on-error=abort.
type abortState struct {
	privateKey ed25519.PrivateKey // the key pair's, to write out
	left       bool               // the instance, key pair and group are left
}

// abortLeft is a failed bake whose instance was left running: what it
// left, how to reach it and how to remove it.
type abortLeft struct {
	Instance, KeyPair, Region   string
	Group                       string // "" when the image's own groups were used
	Address, User, KeyFile, Run string
	Port                        int
	// Session: the instance is reached through Session Manager, not on
	// an address (ssh_interface = "session_manager").
	Session bool
}

func (a *abortLeft) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "left for debugging (--on-error=abort), in %s: instance %s (running), key pair %s", a.Region, a.Instance, a.KeyPair)
	if a.Group != "" {
		fmt.Fprintf(&b, ", security group %s", a.Group)
	}
	b.WriteString("\n")
	if a.Session {
		// No port is open to it: forward one through a session.
		fmt.Fprintf(&b, "  reach it:   aws ssm start-session --region %s --target %s --document-name AWS-StartPortForwardingSession --parameters portNumber=%d,localPortNumber=2222\n",
			a.Region, a.Instance, a.Port)
		fmt.Fprintf(&b, "              then: ssh -i %s -p 2222 %s@127.0.0.1\n", a.KeyFile, a.User)
	} else {
		fmt.Fprintf(&b, "  reach it:   ssh -i %s -p %d %s@%s\n", a.KeyFile, a.Port, a.User, a.Address)
	}
	fmt.Fprintf(&b, "  remove it:  imgraph cleanup --run %s", a.Run)
	return b.String()
}

// leaveForDebugging keeps a failed bake's instance running, with its key
// pair and group, when the baker was told to (Options.AbortDir): it
// writes the private key to a file of its own (0600) and says how to
// reach and remove what it left. It leaves nothing when the instance
// never ran or no longer runs (the bake failed once it was stopped to be
// imaged), or the bake was cancelled: there is nothing to reach, or the
// user asked for everything to stop.
func (s *bakeState) leaveForDebugging(ctx context.Context) (*abortLeft, error) {
	dir := s.b.opts.AbortDir
	if dir == "" || ctx.Err() != nil || s.testing || s.instanceID == "" || s.abort.privateKey == nil {
		return nil, nil
	}
	if s.imageStarted {
		// What failed came after the instance was imaged (a spot
		// instance is imaged running): there is nothing of the bake's
		// left to look at on it.
		fmt.Fprintf(s.log, "==> --on-error=abort: the bake failed after its instance %s was imaged: cleaning up\n", s.instanceID)
		return nil, nil
	}
	inst, err := describeInstance(ctx, s.ec2, s.instanceID)
	if err != nil {
		return nil, err
	}
	if inst == nil || inst.State == nil || inst.State.Name != types.InstanceStateNameRunning {
		fmt.Fprintf(s.log, "==> --on-error=abort: instance %s no longer runs (the bake failed after it was stopped to be imaged): cleaning up\n", s.instanceID)
		return nil, nil
	}
	dir = filepath.Join(dir, s.job.RunID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(s.abort.privateKey, "imgraph "+s.label)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, s.keyName+".pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	s.abort.left = true
	return &abortLeft{
		Instance: s.instanceID, KeyPair: s.keyName, Group: s.groupID, Region: s.region,
		Address: s.address, User: s.attrs.SSHUser, Port: s.attrs.SSHPort, KeyFile: file, Run: s.job.RunID,
		Session: s.sshInterface() == rules.SSHInterfaceSessionManager,
	}, nil
}
