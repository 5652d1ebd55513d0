package ec2sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/imgraph/imgraph/internal/sandbox"
)

// handshakeTimeout bounds an SSH handshake on the server side, as sshd's
// LoginGraceTime does.
const handshakeTimeout = 30 * time.Second

// sessionPath is the PATH of every command, as a login shell's on Amazon
// Linux.
const sessionPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// sshServer is a running instance's sshd, listening on the instance's
// public and private addresses. It accepts the instance's key
// pair under any user name (every user is root in the instance) and runs
// each exec request as /bin/sh -c COMMAND in a sandbox over the instance's
// tree, with the session's stdin, stdout and stderr, and sends the exit
// status back. Each command is its own sandbox: nothing it starts outlives
// it.
type sshServer struct {
	lns     []net.Listener // on the public address, then the private one
	config  *ssh.ServerConfig
	sandbox *sandbox.Sandbox
	dir     string
	now     func() time.Time
	started time.Time
	faults  sshFaults

	mu       sync.Mutex
	attempts int // connections accepted on any address, for the faults
	hung     int
	ctx      context.Context // the sessions'; a reboot or stop cancels it
	cancel   context.CancelFunc
	conns    map[net.Conn]bool
	closed   bool
	wg       sync.WaitGroup
}

// startSSH starts a running instance's SSH server on its public and its
// private address. A server that cannot listen leaves the instance
// running but unreachable, and says why in the state.
func (s *Sim) startSSH(in *instance) {
	var lns []net.Listener
	fail := func(addr string, err error) {
		for _, ln := range lns {
			ln.Close()
		}
		in.sshErr = err.Error()
		s.log("ec2sim: %s: SSH cannot listen on %s: %v", in.id, addr, err)
	}
	for _, a := range []*netip.Addr{&in.public, &in.private} {
		if !a.IsValid() {
			continue
		}
		addr := netip.AddrPortFrom(*a, uint16(s.opts.SSHPort)).String()
		ln, err := net.Listen("tcp", addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			// Another process took the address while the instance
			// booted: it moves to a free one before anyone is told it
			// runs.
			var moved netip.Addr
			if a == &in.public {
				moved, err = s.allocPublic()
			} else {
				moved, err = s.allocPrivate(in.subnet)
			}
			if err == nil {
				s.freeAddr(*a)
				*a = moved
				addr = netip.AddrPortFrom(*a, uint16(s.opts.SSHPort)).String()
				ln, err = net.Listen("tcp", addr)
			}
		}
		if err != nil {
			fail(addr, err)
			return
		}
		lns = append(lns, ln)
	}
	if len(lns) == 0 {
		return
	}
	in.sshErr = ""
	authorized := in.authorized
	config := &ssh.ServerConfig{
		PublicKeyCallback: func(conn ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if authorized != nil && bytes.Equal(key.Marshal(), authorized.Marshal()) {
				return &ssh.Permissions{}, nil
			}
			return nil, fmt.Errorf("public key of %s not authorized for %s", key.Type(), conn.User())
		},
		ServerVersion: "SSH-2.0-OpenSSH_9.6 ec2sim",
	}
	config.AddHostKey(in.hostKey)
	srv := &sshServer{
		lns: lns, config: config, sandbox: s.sandbox, dir: in.dir, now: s.now, started: s.now(),
		faults: in.sshFaults, conns: map[net.Conn]bool{},
	}
	srv.ctx, srv.cancel = context.WithCancel(context.Background())
	for _, ln := range lns {
		srv.wg.Add(1)
		go srv.serve(ln)
	}
	in.server = srv
}

// addr is where the server listens on the instance's public address, or
// on its private one when it has no public address.
func (srv *sshServer) addr() string { return srv.lns[0].Addr().String() }

// stopSSH closes a stopping instance's SSH server; its sessions are killed.
func (s *Sim) stopSSH(in *instance) {
	s.endSessionsOf(in.id)
	if in.server == nil {
		return
	}
	in.server.close()
	in.closing = append(in.closing, in.server)
	in.server = nil
}

// rebootSSH ends an instance's sessions and connections, as a reboot does;
// the server listens on.
func (s *Sim) rebootSSH(in *instance) {
	s.endSessionsOf(in.id) // the agent restarts with the instance
	if in.server != nil {
		in.server.dropSessions()
	}
}

func (srv *sshServer) serve(ln net.Listener) {
	defer srv.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		srv.mu.Lock()
		srv.attempts++
		refuse := srv.attempts <= srv.faults.refuse ||
			srv.faults.refuseFor > 0 && srv.now().Before(srv.started.Add(srv.faults.refuseFor))
		hang := !refuse && srv.hung < srv.faults.hang
		if hang {
			srv.hung++
		}
		srv.mu.Unlock()
		switch {
		case refuse:
			reset(conn)
			continue
		case hang:
			srv.hold(conn)
			continue
		}
		if !srv.track(conn) {
			conn.Close()
			return
		}
		srv.wg.Add(1)
		go srv.handle(conn)
	}
}

// reset closes a connection with a TCP reset, as a port nothing listens on
// answers.
func reset(conn net.Conn) {
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

// hold keeps a connection open without a word, as a hung sshd does, until
// the client or the server closes it.
func (srv *sshServer) hold(conn net.Conn) {
	if !srv.track(conn) {
		conn.Close()
		return
	}
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		io.Copy(io.Discard, conn)
		conn.Close()
		srv.untrack(conn)
	}()
}

func (srv *sshServer) track(conn net.Conn) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closed {
		return false
	}
	srv.conns[conn] = true
	return true
}

func (srv *sshServer) untrack(conn net.Conn) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	delete(srv.conns, conn)
}

func (srv *sshServer) sessionContext() context.Context {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.ctx
}

// close stops listening and ends every connection and session; wait then
// waits for them to be gone.
func (srv *sshServer) close() {
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		return
	}
	srv.closed = true
	srv.cancel()
	for conn := range srv.conns {
		conn.Close()
	}
	srv.mu.Unlock()
	for _, ln := range srv.lns {
		ln.Close()
	}
}

func (srv *sshServer) wait() { srv.wg.Wait() }

func (srv *sshServer) dropSessions() {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.cancel()
	for conn := range srv.conns {
		conn.Close()
	}
	srv.ctx, srv.cancel = context.WithCancel(context.Background())
}

func (srv *sshServer) handle(conn net.Conn) {
	defer srv.wg.Done()
	defer srv.untrack(conn)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	sconn, chans, reqs, err := ssh.NewServerConn(conn, srv.config)
	if err != nil {
		return
	}
	defer sconn.Close()
	conn.SetDeadline(time.Time{})
	go ssh.DiscardRequests(reqs)
	ctx := srv.sessionContext()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.Prohibited, "the simulator's sshd serves session channels only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		srv.wg.Add(1)
		go srv.session(ctx, sconn, ch, creqs)
	}
}

// session serves one session channel: env and pty requests, then one exec
// (or shell). The command is killed when the channel or connection goes.
func (srv *sshServer) session(ctx context.Context, conn *ssh.ServerConn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer srv.wg.Done()
	defer ch.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	env := sessionEnv(conn)
	done := make(chan struct{})
	started := false
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				cancel()
				if started {
					<-done
				}
				return
			}
			switch req.Type {
			case "env":
				var kv struct{ Name, Value string }
				accepted := ssh.Unmarshal(req.Payload, &kv) == nil && acceptEnv(kv.Name)
				if accepted {
					env = append(env, kv.Name+"="+kv.Value)
				}
				req.Reply(accepted, nil)
			case "pty-req":
				// Accepted, but no terminal is made: output stays split
				// into stdout and stderr.
				req.Reply(true, nil)
			case "exec", "shell":
				argv := []string{"/bin/sh"}
				if req.Type == "exec" {
					var cmd struct{ Command string }
					if started || ssh.Unmarshal(req.Payload, &cmd) != nil {
						req.Reply(false, nil)
						continue
					}
					argv = append(argv, "-c", cmd.Command)
				} else if started {
					req.Reply(false, nil)
					continue
				}
				req.Reply(true, nil)
				started = true
				go func() {
					defer close(done)
					srv.run(ctx, ch, argv, env)
				}()
			default:
				// subsystem (sftp), x11-req, signal…: not served.
				req.Reply(false, nil)
			}
		case <-done:
			return
		}
	}
}

func (srv *sshServer) run(ctx context.Context, ch ssh.Channel, argv, env []string) {
	step := &sandbox.Step{Root: srv.dir, Mounts: true, Argv: argv, Env: env}
	err := srv.sandbox.Run(ctx, step, ch, ch, ch.Stderr())
	status := 0
	var exit *sandbox.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		status = exit.Code()
	case ctx.Err() != nil:
		// The connection or the instance went: no status, as a dropped
		// connection gives none.
		return
	default:
		fmt.Fprintf(ch.Stderr(), "ec2sim: %v\n", err)
		status = 255
	}
	ch.CloseWrite()
	ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
}

// acceptEnv is sshd's AcceptEnv on Amazon Linux: the locale only.
func acceptEnv(name string) bool {
	return name == "LANG" || name == "LANGUAGE" || name == "XMODIFIERS" || strings.HasPrefix(name, "LC_")
}

func sessionEnv(conn *ssh.ServerConn) []string {
	client, _ := netip.ParseAddrPort(conn.RemoteAddr().String())
	server, _ := netip.ParseAddrPort(conn.LocalAddr().String())
	return []string{
		"PATH=" + sessionPath,
		"HOME=/root",
		"SHELL=/bin/sh",
		"USER=" + conn.User(),
		"LOGNAME=" + conn.User(),
		"SSH_CLIENT=" + client.Addr().String() + " " + strconv.Itoa(int(client.Port())) + " " + strconv.Itoa(int(server.Port())),
		"SSH_CONNECTION=" + client.Addr().String() + " " + strconv.Itoa(int(client.Port())) + " " + server.Addr().String() + " " + strconv.Itoa(int(server.Port())),
	}
}
