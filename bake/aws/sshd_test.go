package aws

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
)

// testSSHD is an SSH server that runs each command it is sent with
// /bin/sh, in a mount namespace of its own where /tmp is a directory of
// the test: what a bake writes to /tmp/imgraph-* never touches this
// machine's /tmp.
type testSSHD struct {
	addr       string
	hostKey    ssh.Signer
	authorized ssh.PublicKey
	tmp        string // the commands' /tmp

	mu       sync.Mutex
	commands []string
}

// newKey makes an ed25519 signer.
func newKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func needUnshare(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("unshare", "-rm", "/bin/sh", "-c", `mount --bind "$0" /tmp`, t.TempDir()).CombinedOutput(); err != nil {
		t.Skipf("these tests run commands in a mount namespace (unshare -rm): %v: %s", err, out)
	}
}

func startSSHD(t *testing.T, authorized ssh.PublicKey) *testSSHD {
	t.Helper()
	needUnshare(t)
	d := &testSSHD{hostKey: newKey(t), authorized: authorized, tmp: t.TempDir()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	d.addr = ln.Addr().String()
	config := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), d.authorized.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	config.AddHostKey(d.hostKey)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go d.serve(conn, config)
		}
	}()
	return d
}

func (d *testSSHD) serve(conn net.Conn, config *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(conn, config)
	if err != nil {
		conn.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go d.session(ch, creqs)
	}
}

func (d *testSSHD) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	var mu sync.Mutex
	var proc *os.Process
	for req := range reqs {
		switch req.Type {
		case "exec":
			var p struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil {
				req.Reply(false, nil)
				continue
			}
			d.mu.Lock()
			d.commands = append(d.commands, p.Command)
			d.mu.Unlock()
			cmd := exec.Command("unshare", "-rm", "/bin/sh", "-c", `mount --bind "$0" /tmp && exec /bin/sh -c "$1"`, d.tmp, p.Command)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
			if err := cmd.Start(); err != nil {
				req.Reply(false, nil)
				continue
			}
			mu.Lock()
			proc = cmd.Process
			mu.Unlock()
			req.Reply(true, nil)
			go func() {
				err := cmd.Wait()
				status := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					status = ee.ExitCode()
					if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
						status = 128 + int(ws.Signal())
					}
				}
				ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
				ch.Close()
			}()
		case "signal":
			mu.Lock()
			if proc != nil {
				proc.Kill()
			}
			mu.Unlock()
		default:
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}

// sent reports whether any command the server ran contains s.
func (d *testSSHD) sent(s string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.commands {
		if bytes.Contains([]byte(c), []byte(s)) {
			return true
		}
	}
	return false
}

func (d *testSSHD) String() string { return fmt.Sprintf("sshd on %s", d.addr) }
