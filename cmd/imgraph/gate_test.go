package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/imgraph/imgraph/engine"
)

// A gate lets a test see a provisioner reach a point and decide when it
// goes on. A chroot shares no file with the host, but a bake shares the
// host's network (provisioners download packages), so a script passes a
// gate by fetching http://127.0.0.1:PORT/NAME with BusyBox's wget: the
// request arrives when the script is there, and is answered when the test
// opens the gate (or never, when the build is stopped first).
type gate struct {
	srv     *httptest.Server
	mu      sync.Mutex
	arrived map[string]chan struct{} // closed when a script reaches the gate
	opened  map[string]chan struct{} // closed when the test opens it
}

func newGate(t *testing.T) *gate {
	g := &gate{arrived: map[string]chan struct{}{}, opened: map[string]chan struct{}{}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		g.mu.Lock()
		arrived := channel(g.arrived, name)
		select {
		case <-arrived:
		default:
			close(arrived)
		}
		opened := channel(g.opened, name)
		g.mu.Unlock()
		select {
		case <-opened:
			fmt.Fprintln(w, "open")
		case <-r.Context().Done(): // the script was killed
		}
	}))
	t.Cleanup(func() {
		// Let every script still waiting go, so that Close returns.
		g.mu.Lock()
		for name := range g.arrived {
			g.openLocked(name)
		}
		g.mu.Unlock()
		g.srv.Close()
	})
	return g
}

// channel returns m's channel for name, made on first use; g.mu is held.
func channel(m map[string]chan struct{}, name string) chan struct{} {
	c := m[name]
	if c == nil {
		c = make(chan struct{})
		m[name] = c
	}
	return c
}

// pass is the shell command that waits at the gate name.
func (g *gate) pass(name string) string {
	return fmt.Sprintf("wget -q -O /dev/null %s/%s", g.srv.URL, name)
}

// arrival is closed once a script reaches the gate name.
func (g *gate) arrival(name string) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return channel(g.arrived, name)
}

// open lets every script at the gate name, and every later one, go on.
func (g *gate) open(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.openLocked(name)
}

func (g *gate) openLocked(name string) {
	c := channel(g.opened, name)
	select {
	case <-c:
	default:
		close(c)
	}
}

// eventStream reads a build's --events as they are written, from a named
// pipe the build writes to in place of a file.
type eventStream struct {
	mu      sync.Mutex
	events  []engine.Event
	err     error
	changed chan struct{}
}

// newEventFIFO makes a named pipe at path and reads the events written to
// it until the test ends.
func newEventFIFO(t *testing.T, path string) *eventStream {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// Opened for writing too, so the pipe never reads as ended between
	// builds, and opening never blocks.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &eventStream{changed: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e engine.Event
			err := json.Unmarshal(sc.Bytes(), &e)
			s.mu.Lock()
			if err != nil && s.err == nil {
				s.err = fmt.Errorf("a line that is not an event: %v: %s", err, sc.Text())
			}
			s.events = append(s.events, e)
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		f.Close() // ends the read in progress: a pipe is read through the poller
		<-done
	})
	return s
}

// waitFor waits until an event satisfies match.
func (s *eventStream) waitFor(ctx context.Context, what string, match func(engine.Event) bool) error {
	for {
		s.mu.Lock()
		for _, e := range s.events {
			if match(e) {
				s.mu.Unlock()
				return nil
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

// all returns the events read so far, or the first malformed line.
func (s *eventStream) all() ([]engine.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]engine.Event(nil), s.events...), s.err
}
