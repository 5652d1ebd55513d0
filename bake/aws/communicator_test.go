package aws

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func connected(t *testing.T) (*communicator, *testSSHD) {
	t.Helper()
	key := newKey(t)
	d := startSSHD(t, key.PublicKey())
	c := newCommunicator(d.addr, "root", key)
	if err := c.connect(context.Background(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, d
}

func TestCommunicatorRun(t *testing.T) {
	c, _ := connected(t)
	ctx := context.Background()
	out, err := c.output(ctx, "echo hello")
	if err != nil || out != "hello\n" {
		t.Fatalf("output = %q, %v", out, err)
	}
	var stdout bytes.Buffer
	if err := c.run(ctx, "cat", strings.NewReader("from stdin"), &stdout, nil); err != nil || stdout.String() != "from stdin" {
		t.Fatalf("cat = %q, %v", stdout.String(), err)
	}
	err = c.run(ctx, "exit 3", nil, nil, nil)
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 3 {
		t.Fatalf("exit 3: %v", err)
	}
}

func TestCommunicatorRunIsCancellable(t *testing.T) {
	c, _ := connected(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.run(ctx, "sleep 60", nil, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("run = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("run returned after %s", d)
	}
}

// The host key is pinned at first contact: a reconnection that meets
// another key fails at once, without retrying.
func TestCommunicatorPinsTheHostKey(t *testing.T) {
	c, _ := connected(t)
	// Reconnecting to the same server is fine.
	c.Close()
	if _, err := c.output(context.Background(), "true"); err != nil {
		t.Fatalf("reconnection to the same host: %v", err)
	}
	// Another server (another host key) at the instance's address.
	other := startSSHD(t, c.signer.PublicKey())
	c.Close()
	c.addr = other.addr
	start := time.Now()
	_, err := c.output(context.Background(), "true")
	var hk *HostKeyError
	if !errors.As(err, &hk) {
		t.Fatalf("reconnection to another host: %v, want a HostKeyError", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("refusing took %s: it was retried", d)
	}
}

// A server that accepts the TCP connection and never speaks cannot hang
// the bake: each handshake has its own bound.
func TestCommunicatorHandshakeTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var held []net.Conn
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, conn) // accepted, never answered
			mu.Unlock()
		}
	}()
	c := newCommunicator(ln.Addr().String(), "root", newKey(t))
	c.handshakeTimeout = 100 * time.Millisecond
	start := time.Now()
	err = c.connect(context.Background(), 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "no SSH handshake within") || !strings.Contains(err.Error(), "attempts") {
		t.Fatalf("connect = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("connect gave up after %s, want about 2s", d)
	}
}

func TestCommunicatorConnectIsCancellable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	c := newCommunicator(ln.Addr().String(), "root", newKey(t))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := c.connect(ctx, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("connect = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("connect returned after %s", d)
	}
}
