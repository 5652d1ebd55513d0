package ssmsession

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// ClientVersion is the version the client tells the agent; agents shape
// the session by it as they do for the Session Manager plugin.
const ClientVersion = "1.2.707.0"

// muxSince is the first agent version that multiplexes a
// LocalPortForwarding session's connections.
const muxSince = "3.0.196.0"

// keepaliveUntil: agents before this one close a multiplexed session that
// says nothing for 30 seconds.
const keepaliveUntil = "3.1.1511.0"

// Session is a port-forwarding session's data channel, as a client opens
// it: each Dial is one connection to the port on the instance.
type Session struct {
	conn  *Conn
	ready chan struct{}
	agent string
	props PortProperties
	mux   *Mux // set once the handshake is done
}

// Open opens the data channel at streamURL with StartSession's token, and
// completes the handshake of a port session. ctx bounds the opening only.
func Open(ctx context.Context, streamURL, token string) (*Session, error) {
	ws, _, err := websocket.Dial(ctx, streamURL, nil)
	if err != nil {
		return nil, fmt.Errorf("opening the session's data channel: %w", err)
	}
	s := &Session{ready: make(chan struct{})}
	s.conn = NewConn(ws, ClientSide, s.handle)
	open, _ := json.Marshal(OpenDataChannel{
		MessageSchemaVersion: "1.0", RequestID: NewID().String(), TokenValue: token,
		ClientID: NewID().String(), ClientVersion: ClientVersion,
	})
	if err := ws.Write(ctx, websocket.MessageText, open); err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("opening the session's data channel: %w", err)
	}
	go s.conn.Run()
	select {
	case <-s.ready:
	case <-s.conn.Done():
		s.conn.Close() // and the WebSocket with it
		return nil, fmt.Errorf("opening the session: %w", s.conn.Err())
	case <-ctx.Done():
		s.conn.Close()
		return nil, fmt.Errorf("session handshake: %w", ctx.Err())
	}
	go func() {
		// The channel's end ends its connections.
		<-s.conn.Done()
		s.mux.Close(s.conn.Err())
	}()
	if !s.mux.raw && !versionAtLeast(s.agent, keepaliveUntil) {
		go s.keepalive()
	}
	return s, nil
}

// handle takes the agent's stream messages.
func (s *Session) handle(m *Message) error {
	switch m.PayloadType {
	case PayloadHandshakeRequest:
		return s.handshake(m)
	case PayloadHandshakeComplete:
		if s.mux == nil {
			send := func(b []byte) error { return s.conn.Send(s.conn.ctx, PayloadOutput, b) }
			s.mux = newMux(send, false)
			s.mux.raw = s.props.Type != "LocalPortForwarding" || !versionAtLeast(s.agent, muxSince)
			close(s.ready)
		}
	case PayloadOutput:
		if s.mux == nil {
			return errors.New("the agent sent data before the handshake was complete")
		}
		return s.mux.Feed(m.Payload)
	case PayloadFlag:
		if len(m.Payload) == 4 && binary.BigEndian.Uint32(m.Payload) == FlagConnectToPortError {
			return fmt.Errorf("the agent could not connect to port %s on the instance", s.props.PortNumber)
		}
	case PayloadError:
		return fmt.Errorf("the agent: %s", strings.TrimSpace(string(m.Payload)))
	case PayloadEncChallengeReq:
		return errors.New("the session asks for KMS encryption, which imgraph does not speak: use a session document without it")
	}
	return nil
}

func (s *Session) handshake(m *Message) error {
	var req HandshakeRequest
	if err := json.Unmarshal(m.Payload, &req); err != nil {
		return fmt.Errorf("session handshake: %w", err)
	}
	s.agent = req.AgentVersion
	resp := HandshakeResponse{ClientVersion: ClientVersion, Errors: []string{}}
	for _, a := range req.RequestedClientActions {
		done := ProcessedAction{ActionType: a.ActionType, ActionStatus: ActionSuccess}
		switch a.ActionType {
		case "SessionType":
			var st SessionTypeRequest
			if err := json.Unmarshal(a.ActionParameters, &st); err != nil || st.SessionType != "Port" {
				done.ActionStatus, done.Error = ActionFailed, fmt.Sprintf("session type %q is not a port session", st.SessionType)
			}
			s.props = st.Properties
		default:
			done.ActionStatus, done.Error = ActionUnsupported, "imgraph does not support "+a.ActionType
		}
		if done.Error != "" {
			resp.Errors = append(resp.Errors, done.Error)
		}
		resp.ProcessedClientActions = append(resp.ProcessedClientActions, done)
	}
	if err := s.conn.SendJSON(s.conn.ctx, PayloadHandshakeResponse, resp); err != nil {
		return err
	}
	if len(resp.Errors) > 0 {
		return fmt.Errorf("session handshake: %s", strings.Join(resp.Errors, "; "))
	}
	return nil
}

// keepalive sends a NOP every 10 seconds, as older agents want of a
// multiplexed session.
func (s *Session) keepalive() {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.conn.Done():
			return
		case <-t.C:
			s.mux.send(muxNOP, 0, nil)
		}
	}
}

// Dial opens a connection to the forwarded port. A session the agent does
// not multiplex carries one connection only (see Exhausted). ctx ends the
// wait for a channel the agent paused.
func (s *Session) Dial(ctx context.Context) (net.Conn, error) {
	select {
	case <-s.conn.Done():
		return nil, fmt.Errorf("the session has ended: %w", s.conn.Err())
	default:
	}
	type opened struct {
		conn net.Conn
		err  error
	}
	ch := make(chan opened, 1)
	go func() {
		c, err := s.mux.Open()
		ch <- opened{c, err}
	}()
	select {
	case o := <-ch:
		return o.conn, o.err
	case <-ctx.Done():
		// The open ends with the channel at the latest; what it opens
		// is no one's.
		go func() {
			if o := <-ch; o.conn != nil {
				o.conn.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// Exhausted reports whether the session can carry no more connections:
// an agent that does not multiplex forwards one per session.
func (s *Session) Exhausted() bool { return s.mux.exhausted() }

// Done is closed when the session's channel ends.
func (s *Session) Done() <-chan struct{} { return s.conn.Done() }

// Close tells the agent the session is over and closes the channel.
func (s *Session) Close() error {
	flag := binary.BigEndian.AppendUint32(nil, FlagTerminateSession)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.conn.Send(ctx, PayloadFlag, flag)
	s.mux.Close(nil)
	return s.conn.Close()
}

// versionAtLeast compares dotted versions numerically.
func versionAtLeast(v, min string) bool {
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := range max(len(a), len(b)) {
		var x, y int
		if i < len(a) {
			x, _ = strconv.Atoi(a[i])
		}
		if i < len(b) {
			y, _ = strconv.Atoi(b[i])
		}
		if x != y {
			return x > y
		}
	}
	return true
}
