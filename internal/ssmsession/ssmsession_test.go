package ssmsession

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestMessageRoundTrip(t *testing.T) {
	m := &Message{Type: InputStreamData, SchemaVersion: 1, Created: time.UnixMilli(1764460800123), Seq: 7, Flags: 1,
		ID: NewID(), PayloadType: PayloadOutput, Payload: []byte("hello")}
	b := m.Marshal()
	if len(b) != 120+5 || string(b[4:36]) != "input_stream_data               " {
		t.Fatalf("layout: %d bytes, type field %q", len(b), b[4:36])
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != m.Type || got.Seq != 7 || got.Flags != 1 || got.ID != m.ID || !got.Created.Equal(m.Created) ||
		got.PayloadType != PayloadOutput || string(got.Payload) != "hello" {
		t.Errorf("parsed %+v, want %+v", got, m)
	}
	// The UUID is written least significant half first.
	if !bytes.Equal(b[64:72], m.ID[8:]) || !bytes.Equal(b[72:80], m.ID[:8]) {
		t.Errorf("message id bytes %x for %s", b[64:80], m.ID)
	}
	id, err := ParseID(m.ID.String())
	if err != nil || id != m.ID {
		t.Errorf("ParseID(%s) = %s, %v", m.ID, id, err)
	}

	bad := append([]byte(nil), b...)
	bad[len(bad)-1] ^= 1
	if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "digest") {
		t.Errorf("a payload that does not match its digest: %v", err)
	}
	if _, err := Parse(b[:100]); err == nil {
		t.Error("a message shorter than its header parsed")
	}
	if _, err := Parse(append(b, 'x')); err == nil {
		t.Error("a message longer than its payload length parsed")
	}
}

// An agent older than the multiplexing one forwards a single connection
// as a plain byte stream; messages it sends out of order, or twice, reach
// the connection once, in order.
func TestSessionWithoutMultiplexing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	agentDone := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			agentDone <- err
			return
		}
		agentDone <- fakeAgent(ctx, ws)
	}))
	defer srv.Close()

	s, err := Open(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), "token")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if s.Exhausted() {
		t.Error("a new session says it can carry no connection")
	}
	conn, err := s.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Exhausted() {
		t.Error("a session that is not multiplexed does not say its one connection is used")
	}
	if _, err := s.Dial(ctx); err == nil {
		t.Error("a session that is not multiplexed gave a second connection")
	}
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len("ping: one two three"))
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatalf("reading: %v (read %q)", err, got)
	}
	if string(got) != "ping: one two three" {
		t.Errorf("the connection read %q", got)
	}
	s.Close()
	if err := <-agentDone; err != nil {
		t.Errorf("agent: %v", err)
	}
}

// fakeAgent is an agent of version 3.0.0.0: one plain stream. It echoes
// what it is sent, then sends " one", " two" and " three" with the last
// two swapped and the first twice, and waits for the client to close.
func fakeAgent(ctx context.Context, ws *websocket.Conn) error {
	_, first, err := ws.Read(ctx)
	if err != nil {
		return err
	}
	var open OpenDataChannel
	if err := json.Unmarshal(first, &open); err != nil || open.TokenValue != "token" {
		return err
	}
	got := make(chan []byte, 4)
	handshaken := make(chan struct{})
	var c *Conn
	c = NewConn(ws, AgentSide, func(m *Message) error {
		switch m.PayloadType {
		case PayloadHandshakeResponse:
			close(handshaken)
		case PayloadOutput:
			got <- m.Payload
		}
		return nil
	})
	go c.Run()
	params, _ := json.Marshal(SessionTypeRequest{SessionType: "Port", Properties: PortProperties{PortNumber: "22", Type: "LocalPortForwarding"}})
	c.SendJSON(ctx, PayloadHandshakeRequest, HandshakeRequest{AgentVersion: "3.0.0.0",
		RequestedClientActions: []RequestedAction{{ActionType: "SessionType", ActionParameters: params}}})
	<-handshaken
	c.SendJSON(ctx, PayloadHandshakeComplete, HandshakeComplete{})
	data := <-got
	// Sequence numbers so far: 0 request, 1 complete.
	send := func(seq int64, payload string) {
		m := &Message{Type: OutputStreamData, SchemaVersion: 1, Created: time.Now(), Seq: seq, ID: NewID(), PayloadType: PayloadOutput, Payload: []byte(payload)}
		c.wmu.Lock()
		c.write(ctx, m)
		c.wmu.Unlock()
	}
	send(2, string(data)+":")
	send(3, " one")
	send(3, " one")
	send(5, " three")
	send(4, " two")
	select {
	case <-c.Done():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A stream message lost on the way (by the service, or an agent that
// reconnected) is sent again once it waits too long for its
// acknowledgement, and the other side takes every message in order.
func TestALostMessageIsSentAgain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := make(chan string, 8)
	agentConn := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		lost := false
		c := NewConn(ws, AgentSide, func(m *Message) error {
			got <- string(m.Payload)
			return nil
		})
		c.drop = func(m *Message) bool {
			if m.Type == InputStreamData && m.Seq == 0 && !lost {
				lost = true // the first time only
				return true
			}
			return false
		}
		agentConn <- c
		c.Run()
	}))
	defer srv.Close()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	client := NewConn(ws, ClientSide, func(*Message) error { return nil })
	client.resendAfter = 50 * time.Millisecond
	go client.Run()
	defer client.Close()
	agent := <-agentConn
	defer agent.Close()
	for _, p := range []string{"a", "b", "c"} {
		if err := client.Send(ctx, PayloadOutput, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	var order []string
	for len(order) < 3 {
		select {
		case p := <-got:
			order = append(order, p)
		case <-ctx.Done():
			t.Fatalf("the agent took %q, then nothing: the lost message was never sent again", order)
		}
	}
	if strings.Join(order, "") != "abc" {
		t.Errorf("the agent took %q, want a, b, c in order", order)
	}
}
