package ec2sim

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/imgraph/imgraph/internal/ssmsession"
)

// openTimeout bounds how long a data channel waits for the client's
// first message, and the handshake after it.
const openTimeout = 10 * time.Second

// serveDataChannel is the agent's side of a session: it takes the
// client's token, shakes hands as a port session, and forwards each
// stream the client opens to the instance's SSH server.
func (s *Sim) serveDataChannel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	ses := s.sessionTable().byID[id]
	ok := ses != nil && ses.status == "Connected" && !ses.opened && !s.closed
	if ok {
		ses.opened = true
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "no session "+id+" to open", http.StatusForbidden)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	ses.end = cancel
	if ses.status != "Connected" { // terminated meanwhile
		cancel()
	}
	t := s.sessionTable()
	t.wg.Add(1)
	s.mu.Unlock()
	defer t.wg.Done()
	defer cancel()
	if err := s.agent(ctx, ses, ws); err != nil {
		s.log("ec2sim: session %s: %v", ses.id, err)
	}
}

func (s *Sim) agent(ctx context.Context, ses *ssmSession, ws *websocket.Conn) error {
	defer ws.CloseNow()
	openCtx, stop := context.WithTimeout(ctx, openTimeout)
	defer stop()
	typ, first, err := ws.Read(openCtx)
	if err != nil {
		return fmt.Errorf("reading the client's first message: %w", err)
	}
	var open ssmsession.OpenDataChannel
	if typ != websocket.MessageText || json.Unmarshal(first, &open) != nil || open.TokenValue != ses.token || open.MessageSchemaVersion != "1.0" {
		ws.Close(websocket.StatusPolicyViolation, "invalid token")
		return fmt.Errorf("the client's first message is not an OpenDataChannel request with the session's token")
	}

	handshaken := make(chan error, 1)
	var mux *ssmsession.Mux
	var conn *ssmsession.Conn
	conn = ssmsession.NewConn(ws, ssmsession.AgentSide, func(m *ssmsession.Message) error {
		switch m.PayloadType {
		case ssmsession.PayloadHandshakeResponse:
			var resp ssmsession.HandshakeResponse
			if err := json.Unmarshal(m.Payload, &resp); err != nil {
				return fmt.Errorf("handshake response: %w", err)
			}
			for _, a := range resp.ProcessedClientActions {
				if a.ActionStatus != ssmsession.ActionSuccess {
					handshaken <- fmt.Errorf("the client failed action %s: %s", a.ActionType, a.Error)
					return nil
				}
			}
			if len(resp.ProcessedClientActions) != 1 {
				handshaken <- fmt.Errorf("the client processed %d actions, want 1", len(resp.ProcessedClientActions))
				return nil
			}
			handshaken <- nil
		case ssmsession.PayloadOutput:
			if mux == nil {
				return fmt.Errorf("the client sent data before the handshake was complete")
			}
			return mux.Feed(m.Payload)
		case ssmsession.PayloadFlag:
			if len(m.Payload) == 4 && binary.BigEndian.Uint32(m.Payload) == ssmsession.FlagTerminateSession {
				s.mu.Lock()
				ses.terminate()
				s.mu.Unlock()
			}
		default:
			return fmt.Errorf("the client sent a message of payload type %d", m.PayloadType)
		}
		return nil
	})
	go conn.Run()
	defer conn.Close()

	params, _ := json.Marshal(ssmsession.SessionTypeRequest{SessionType: "Port", Properties: ssmsession.PortProperties{
		PortNumber: fmt.Sprint(ses.port), LocalPortNumber: fmt.Sprint(ses.localPort), Type: "LocalPortForwarding",
	}})
	started := time.Now()
	err = conn.SendJSON(ctx, ssmsession.PayloadHandshakeRequest, ssmsession.HandshakeRequest{
		AgentVersion:           agentVersion,
		RequestedClientActions: []ssmsession.RequestedAction{{ActionType: "SessionType", ActionParameters: params}},
	})
	if err != nil {
		return err
	}
	select {
	case err := <-handshaken:
		if err != nil {
			return err
		}
	case <-conn.Done():
		return conn.Err()
	case <-openCtx.Done():
		return fmt.Errorf("no handshake response within %s", openTimeout)
	}
	mux = ssmsession.NewServerMux(func(b []byte) error { return conn.Send(ctx, ssmsession.PayloadOutput, b) })
	defer mux.Close(nil)
	if err := conn.SendJSON(ctx, ssmsession.PayloadHandshakeComplete, ssmsession.HandshakeComplete{HandshakeTimeToComplete: time.Since(started)}); err != nil {
		return err
	}
	go func() {
		for {
			st, err := mux.Accept()
			if err != nil {
				return
			}
			go s.forward(ctx, ses, st)
		}
	}()
	select {
	case <-ctx.Done(): // TerminateSession, or the simulator closes
		closed, _ := json.Marshal(ssmsession.ChannelClosedContent{
			MessageID: ssmsession.NewID().String(), CreatedDate: time.Now().UTC().Format(time.RFC3339),
			DestinationID: ses.target, SessionID: ses.id, MessageType: ssmsession.ChannelClosed, SchemaVersion: 1,
		})
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.SendControl(cctx, ssmsession.ChannelClosed, closed)
		cancel()
		return nil
	case <-conn.Done():
		if ctx.Err() != nil {
			return nil
		}
		return conn.Err()
	}
}

// forward joins a stream the client opened to the session's port.
func (s *Sim) forward(ctx context.Context, ses *ssmSession, st net.Conn) {
	defer st.Close()
	addr, err := s.sessionTarget(ses)
	if err != nil {
		s.log("ec2sim: session %s: %v", ses.id, err)
		return
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, openTimeout)
	port, err := d.DialContext(dctx, "tcp", addr.String())
	cancel()
	if err != nil {
		s.log("ec2sim: session %s: %v", ses.id, err)
		return
	}
	defer port.Close()
	stop := context.AfterFunc(ctx, func() { port.Close(); st.Close() })
	defer stop()
	done := make(chan struct{})
	go func() {
		io.Copy(port, st)
		port.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(st, port)
	st.Close()
	<-done
}
