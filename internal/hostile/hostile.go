// Package hostile serves, for tests, HTTP servers on the loopback that
// misbehave: that never answer, stop halfway, or send for ever.
package hostile

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
)

// Serve accepts connections on the loopback and, for each, does what
// serve does, then holds the connection open until the test ends, when the
// server stops. It returns the server's address.
func Serve(t testing.TB, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				serve(c)
				<-done
			})
		}
	})
	return ln.Addr().String()
}

// Silent never answers.
func Silent(net.Conn) {}

// Answer reads the request and writes reply, an HTTP response as text.
func Answer(reply string) func(c net.Conn) {
	return func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			io.WriteString(c, reply)
		}
	}
}

// Endless answers 200 OK and sends for ever.
func Endless(c net.Conn) {
	if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
		return
	}
	io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
	chunk := make([]byte, 64<<10)
	for {
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}
