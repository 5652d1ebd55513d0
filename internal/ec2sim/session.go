package ec2sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// portForwardingDocument is the one session document the simulator
// serves: a port of the instance forwarded to the client.
const portForwardingDocument = "AWS-StartPortForwardingSession"

// agentVersion is the SSM agent the simulator's instances run: one that
// multiplexes a port session's connections and wants no keepalive.
const agentVersion = "3.3.1142.0"

// ssmSession is a Session Manager session. Its data channel is served on
// the simulator's endpoint, /v1/data-channel/ID, over a WebSocket.
type ssmSession struct {
	id, region, target, token string
	port, localPort           int
	status                    string // Connected, Terminated
	started                   time.Time
	opened                    bool // the data channel was opened (once only)
	end                       context.CancelFunc
}

// sessionTable is the simulator's sessions, under Sim.mu.
type sessionTable struct {
	byID map[string]*ssmSession
	wg   sync.WaitGroup // data channels being served
}

func (s *Sim) sessionTable() *sessionTable {
	if s.sessions == nil {
		s.sessions = &sessionTable{byID: map[string]*ssmSession{}}
	}
	return s.sessions
}

var (
	sessionTargetRE   = regexp.MustCompile(`^(m|i)-[0-9a-f]{8,17}$`)
	sessionDocumentRE = regexp.MustCompile(`^[a-zA-Z0-9_\-.:/]{3,128}$`)
)

type startSessionInput struct {
	Target       string              `json:"Target"`
	DocumentName string              `json:"DocumentName"`
	Parameters   map[string][]string `json:"Parameters"`
	Reason       string              `json:"Reason"`
}

func startSession(c *call) (any, *apiError) {
	var in startSessionInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.Target == "" {
		return nil, validation("1 validation error detected: Value null at 'target' failed to satisfy constraint: Member must not be null")
	}
	if len(in.Target) > 400 || !sessionTargetRE.MatchString(in.Target) {
		return nil, validation("1 validation error detected: Value '%s' at 'target' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(m|i)-[0-9a-f]{8,17}$", in.Target)
	}
	if in.DocumentName != "" && !sessionDocumentRE.MatchString(in.DocumentName) {
		return nil, validation("1 validation error detected: Value '%s' at 'documentName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.:/]{3,128}$", in.DocumentName)
	}
	if in.DocumentName != portForwardingDocument {
		return nil, newError("InvalidDocument", "Document %s does not exist (the simulator serves %s only)", cmpOr(in.DocumentName, "SSM-SessionManagerRunShell"), portForwardingDocument)
	}
	port, err := sessionPort(in.Parameters, "portNumber", "80", 1)
	if err != nil {
		return nil, err
	}
	local, err := sessionPort(in.Parameters, "localPortNumber", "0", 0)
	if err != nil {
		return nil, err
	}
	for name := range in.Parameters {
		if name != "portNumber" && name != "localPortNumber" {
			return nil, validation("Parameter %q is not defined in document %s", name, portForwardingDocument)
		}
	}
	inst := c.region.instances[in.Target]
	if inst == nil || inst.hidden > 0 || inst.state != "running" || inst.server == nil {
		return nil, newError("TargetNotConnected", "%s is not connected.", in.Target)
	}
	t := c.sim.sessionTable()
	ses := &ssmSession{
		id: "imgraph-" + randomHex(8) + randomHex(1)[:1], region: c.region.name, target: in.Target,
		token: randomHex(48), port: port, localPort: local, status: "Connected", started: c.now,
	}
	t.byID[ses.id] = ses
	return map[string]string{
		"SessionId":  ses.id,
		"TokenValue": ses.token,
		"StreamUrl":  "ws://" + c.host + "/v1/data-channel/" + ses.id + "?role=publish_subscribe",
	}, nil
}

// sessionPort reads a port parameter of the document: one string of
// digits from low to 65535, or the document's default.
func sessionPort(params map[string][]string, name, def string, low int) (int, *apiError) {
	v, ok := params[name]
	if !ok {
		v = []string{def}
	}
	if len(v) != 1 {
		return 0, validation("Parameter %q takes one value, got %d", name, len(v))
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < low || n > 65535 {
		return 0, validation("Parameter %q: %q is not a port number from %d to 65535", name, v[0], low)
	}
	return n, nil
}

type terminateSessionInput struct {
	SessionID string `json:"SessionId"`
}

// terminateSession ends a session and its data channel. Ending a session
// that has ended, or that the account never had, answers as a success, as
// SSM does.
func terminateSession(c *call) (any, *apiError) {
	var in terminateSessionInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.SessionID == "" {
		return nil, validation("1 validation error detected: Value null at 'sessionId' failed to satisfy constraint: Member must not be null")
	}
	if ses := c.sim.sessionTable().byID[in.SessionID]; ses != nil && ses.region == c.region.name {
		ses.terminate()
	}
	return map[string]string{"SessionId": in.SessionID}, nil
}

// terminate ends the session; Sim.mu is held.
func (ses *ssmSession) terminate() {
	ses.status = "Terminated"
	if ses.end != nil {
		ses.end()
	}
}

// endSessionsOf ends the sessions to an instance that stops or
// terminates, as its agent goes with it; Sim.mu is held.
func (s *Sim) endSessionsOf(target string) {
	for _, ses := range s.sessionTable().byID {
		if ses.target == target && ses.status == "Connected" {
			ses.terminate()
		}
	}
}

// closeSessions ends every session's data channel and waits for them, as
// Close does.
func (s *Sim) closeSessions() {
	s.mu.Lock()
	t := s.sessionTable()
	for _, ses := range t.byID {
		ses.terminate()
	}
	s.mu.Unlock()
	t.wg.Wait()
}

// SessionStatus is a session's status (Connected, Terminated), "" for one
// the simulator never started.
func (s *Sim) SessionStatus(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ses := s.sessionTable().byID[id]; ses != nil {
		return ses.status
	}
	return ""
}

// Sessions are the ids of the sessions the simulator has started, with
// their status.
func (s *Sim) Sessions() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for id, ses := range s.sessionTable().byID {
		out[id] = ses.status
	}
	return out
}

// sessionTarget is where a session's connections go: the instance's SSH
// server, while it runs. The simulator's instances serve SSH alone.
func (s *Sim) sessionTarget(ses *ssmSession) (netip.AddrPort, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regions[ses.region]
	in := r.instances[ses.target]
	switch {
	case ses.status != "Connected":
		return netip.AddrPort{}, fmt.Errorf("session %s is %s", ses.id, ses.status)
	case in == nil || in.state != "running" || in.server == nil:
		return netip.AddrPort{}, fmt.Errorf("%s is not running", ses.target)
	case ses.port != s.opts.SSHPort:
		return netip.AddrPort{}, fmt.Errorf("nothing listens on port %d of %s", ses.port, ses.target)
	}
	return netip.AddrPortFrom(in.private, uint16(s.opts.SSHPort)), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
