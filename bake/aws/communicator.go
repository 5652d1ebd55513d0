package aws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Bounds of one SSH attempt, so that a port that accepts and never
// answers cannot hang a bake.
const (
	sshDialTimeout      = 10 * time.Second
	sshHandshakeTimeout = 20 * time.Second
	sshKeepalive        = 15 * time.Second
	sshFirstBackoff     = 500 * time.Millisecond
	sshMaxBackoff       = 10 * time.Second
	// sshReconnectTimeout bounds the reconnection of a dropped connection.
	sshReconnectTimeout = 2 * time.Minute
)

// communicator runs commands on the build instance over SSH. The host key
// is pinned on first contact and checked on every reconnection.
type communicator struct {
	addr   string // host:port
	user   string
	signer ssh.Signer
	// dialer, when set, makes the connection instead of a TCP dial to
	// addr (a Session Manager session's stream).
	dialer func(ctx context.Context) (net.Conn, error)

	dialTimeout, handshakeTimeout, keepalive time.Duration

	keyMu   sync.Mutex
	hostKey ssh.PublicKey

	mu     sync.Mutex
	client *ssh.Client
}

func newCommunicator(addr, user string, signer ssh.Signer) *communicator {
	return &communicator{
		addr: addr, user: user, signer: signer,
		dialTimeout: sshDialTimeout, handshakeTimeout: sshHandshakeTimeout, keepalive: sshKeepalive,
	}
}

// HostKeyError is a host that answered with a key other than the one it
// gave at first contact.
type HostKeyError struct {
	Addr          string
	Want, Offered string // fingerprints
}

func (e *HostKeyError) Error() string {
	return fmt.Sprintf("the host key of %s changed from %s to %s since the first connection: refusing to go on", e.Addr, e.Want, e.Offered)
}

func (c *communicator) checkHostKey(_ string, _ net.Addr, key ssh.PublicKey) error {
	c.keyMu.Lock()
	defer c.keyMu.Unlock()
	if c.hostKey == nil {
		c.hostKey = key
		return nil
	}
	if !bytes.Equal(c.hostKey.Marshal(), key.Marshal()) {
		return &HostKeyError{Addr: c.addr, Want: ssh.FingerprintSHA256(c.hostKey), Offered: ssh.FingerprintSHA256(key)}
	}
	return nil
}

// dial makes one connection: the TCP connect and the handshake each have
// their own bound, and ctx's end interrupts both.
func (c *communicator) dial(ctx context.Context, limit time.Duration) (*ssh.Client, error) {
	d := net.Dialer{Timeout: min(c.dialTimeout, limit)}
	dial := func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", c.addr) }
	if c.dialer != nil {
		dial = c.dialer
	}
	conn, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(min(c.handshakeTimeout, limit)))
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	config := &ssh.ClientConfig{
		User:            c.user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(c.signer)},
		HostKeyCallback: c.checkHostKey,
		Timeout:         c.dialTimeout,
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, c.addr, config)
	if !stop() {
		if err == nil {
			sc.Close()
		}
		return nil, ctx.Err()
	}
	if err != nil {
		conn.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("no SSH handshake within %s: %w", min(c.handshakeTimeout, limit), err)
		}
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	client := ssh.NewClient(sc, chans, reqs)
	go keepalive(client, c.keepalive)
	return client, nil
}

// keepalive closes a client whose server stops answering, so that a
// connection that silently died fails the commands using it instead of
// hanging them.
func keepalive(client *ssh.Client, every time.Duration) {
	done := make(chan struct{})
	go func() {
		client.Wait()
		close(done)
	}()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		replied := make(chan error, 1)
		go func() {
			_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
			replied <- err
		}()
		timeout := time.NewTimer(every)
		select {
		case err := <-replied:
			timeout.Stop()
			if err != nil {
				client.Close()
				return
			}
		case <-timeout.C:
			client.Close()
			return
		case <-done:
			timeout.Stop()
			return
		}
	}
}

// connect connects, retrying with exponential backoff for up to timeout:
// the instance's SSH server may take a while to start.
func (c *communicator) connect(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	delay := sshFirstBackoff
	attempts := 0
	for {
		attempts++
		// The last attempt still gets a bound of its own: a zero timeout
		// would be none.
		client, err := c.dial(ctx, max(time.Until(deadline), time.Second))
		if err == nil {
			c.mu.Lock()
			old := c.client
			c.client = client
			c.mu.Unlock()
			if old != nil {
				old.Close()
			}
			return nil
		}
		var hk *HostKeyError
		if errors.As(err, &hk) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Until(deadline) < delay {
			return fmt.Errorf("no SSH connection to %s as %s within %s (%d attempts): %w", c.addr, c.user, timeout, attempts, err)
		}
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, sshMaxBackoff)
	}
}

// session opens a session, reconnecting once if the connection dropped.
func (c *communicator) session(ctx context.Context) (*ssh.Session, error) {
	c.mu.Lock()
	client := c.client
	c.mu.Unlock()
	if client != nil {
		sess, err := client.NewSession()
		if err == nil {
			return sess, nil
		}
		client.Close()
	}
	if err := c.connect(ctx, sshReconnectTimeout); err != nil {
		return nil, fmt.Errorf("reconnecting: %w", err)
	}
	c.mu.Lock()
	client = c.client
	c.mu.Unlock()
	return client.NewSession()
}

// run runs cmd with stdin (nil: none) and waits for it. A command that
// exits non-zero returns *ssh.ExitError; when ctx ends, the command is
// killed and run returns ctx's error.
func (c *communicator) run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	sess, err := c.session(ctx)
	if err != nil {
		return err
	}
	defer sess.Close()
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, stdout, stderr
	if err := sess.Start(cmd); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		sess.Signal(ssh.SIGKILL)
		sess.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		return ctx.Err()
	}
}

// output runs cmd and returns its standard output.
func (c *communicator) output(ctx context.Context, cmd string) (string, error) {
	var out, errOut bytes.Buffer
	if err := c.run(ctx, cmd, nil, &out, &errOut); err != nil {
		if msg := bytes.TrimSpace(errOut.Bytes()); len(msg) > 0 {
			return "", fmt.Errorf("%w: %s", err, msg)
		}
		return "", err
	}
	return out.String(), nil
}

func (c *communicator) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil {
		return nil
	}
	err := c.client.Close()
	c.client = nil
	return err
}
