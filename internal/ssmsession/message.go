// Package ssmsession speaks the Session Manager data channel: the binary
// messages a client and the SSM agent exchange over the WebSocket that
// StartSession names, the handshake, acknowledgements and sequence
// numbers, and the port-forwarding session on top of them (a plain byte
// stream, or streams multiplexed as the agent does for
// AWS-StartPortForwardingSession since agent 3.0.196.0).
package ssmsession

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message types.
const (
	InputStreamData  = "input_stream_data"  // client to agent
	OutputStreamData = "output_stream_data" // agent to client
	Acknowledge      = "acknowledge"
	ChannelClosed    = "channel_closed"
	StartPublication = "start_publication"
	PausePublication = "pause_publication"
)

// Payload types.
const (
	PayloadOutput            uint32 = 1
	PayloadError             uint32 = 2
	PayloadHandshakeRequest  uint32 = 5
	PayloadHandshakeResponse uint32 = 6
	PayloadHandshakeComplete uint32 = 7
	PayloadEncChallengeReq   uint32 = 8
	PayloadFlag              uint32 = 10
)

// Flags of a PayloadFlag message (a big-endian uint32 payload).
const (
	FlagDisconnectToPort   uint32 = 1
	FlagTerminateSession   uint32 = 2
	FlagConnectToPortError uint32 = 3
)

// The layout of a message: a header of fixed fields, big-endian, then the
// payload. The header length field counts the bytes before the payload
// length.
const (
	offType          = 4
	offSchemaVersion = 36
	offCreated       = 40
	offSeq           = 48
	offFlags         = 56
	offID            = 64
	offDigest        = 80
	offPayloadType   = 112
	offPayloadLength = 116
	offPayload       = 120
	typeLength       = 32
	headerLength     = offPayloadLength
)

// Message is one data channel message.
type Message struct {
	Type          string
	SchemaVersion uint32
	Created       time.Time // kept to the millisecond
	Seq           int64
	Flags         uint64
	ID            ID
	PayloadType   uint32
	Payload       []byte
}

// ID is a message's UUID.
type ID [16]byte

// NewID is a random (version 4) UUID.
func NewID() ID {
	var id ID
	rand.Read(id[:])
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}

func (id ID) String() string {
	h := hex.EncodeToString(id[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ParseID reads a UUID as String writes it.
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 || len(s) != 36 {
		return id, fmt.Errorf("%q is not a UUID", s)
	}
	copy(id[:], b)
	return id, nil
}

// Marshal encodes m. The UUID is written as the protocol has it: its
// least significant half first.
func (m *Message) Marshal() []byte {
	b := make([]byte, offPayload+len(m.Payload))
	be := binary.BigEndian
	be.PutUint32(b, headerLength)
	copy(b[offType:offType+typeLength], bytes.Repeat([]byte{' '}, typeLength))
	copy(b[offType:offType+typeLength], m.Type)
	be.PutUint32(b[offSchemaVersion:], m.SchemaVersion)
	be.PutUint64(b[offCreated:], uint64(m.Created.UnixMilli()))
	be.PutUint64(b[offSeq:], uint64(m.Seq))
	be.PutUint64(b[offFlags:], m.Flags)
	copy(b[offID:offID+8], m.ID[8:])
	copy(b[offID+8:offID+16], m.ID[:8])
	digest := sha256.Sum256(m.Payload)
	copy(b[offDigest:], digest[:])
	be.PutUint32(b[offPayloadType:], m.PayloadType)
	be.PutUint32(b[offPayloadLength:], uint32(len(m.Payload)))
	copy(b[offPayload:], m.Payload)
	return b
}

// Parse decodes a message and checks it: its header, its length and the
// digest of its payload.
func Parse(b []byte) (*Message, error) {
	if len(b) < offPayload {
		return nil, fmt.Errorf("data channel message of %d bytes is shorter than its header", len(b))
	}
	be := binary.BigEndian
	if hl := be.Uint32(b); hl != headerLength {
		return nil, fmt.Errorf("data channel message with header length %d, want %d", hl, headerLength)
	}
	m := &Message{
		Type:          strings.TrimSpace(string(bytes.Trim(b[offType:offType+typeLength], "\x00"))),
		SchemaVersion: be.Uint32(b[offSchemaVersion:]),
		Created:       time.UnixMilli(int64(be.Uint64(b[offCreated:]))),
		Seq:           int64(be.Uint64(b[offSeq:])),
		Flags:         be.Uint64(b[offFlags:]),
		PayloadType:   be.Uint32(b[offPayloadType:]),
	}
	copy(m.ID[8:], b[offID:offID+8])
	copy(m.ID[:8], b[offID+8:offID+16])
	n := be.Uint32(b[offPayloadLength:])
	if int(n) != len(b)-offPayload {
		return nil, fmt.Errorf("%s message says its payload is %d bytes and carries %d", m.Type, n, len(b)-offPayload)
	}
	m.Payload = b[offPayload:]
	if m.Type == "" {
		return nil, errors.New("data channel message without a type")
	}
	if n > 0 {
		digest := sha256.Sum256(m.Payload)
		if !bytes.Equal(digest[:], b[offDigest:offDigest+32]) {
			return nil, fmt.Errorf("%s message %d: the payload's digest does not match", m.Type, m.Seq)
		}
	}
	return m, nil
}

// AckContent is an acknowledge message's payload.
type AckContent struct {
	Type       string `json:"AcknowledgedMessageType"`
	ID         string `json:"AcknowledgedMessageId"`
	Seq        int64  `json:"AcknowledgedMessageSequenceNumber"`
	Sequential bool   `json:"IsSequentialMessage"`
}

// OpenDataChannel is the first (text) message a client sends.
type OpenDataChannel struct {
	MessageSchemaVersion string `json:"MessageSchemaVersion"`
	RequestID            string `json:"RequestId"`
	TokenValue           string `json:"TokenValue"`
	ClientID             string `json:"ClientId"`
	ClientVersion        string `json:"ClientVersion"`
}

// HandshakeRequest is the agent's first message.
type HandshakeRequest struct {
	AgentVersion           string            `json:"AgentVersion"`
	RequestedClientActions []RequestedAction `json:"RequestedClientActions"`
}

// RequestedAction is what the agent asks of the client in a handshake.
type RequestedAction struct {
	ActionType       string          `json:"ActionType"`
	ActionParameters json.RawMessage `json:"ActionParameters"`
}

// SessionTypeRequest is a SessionType action's parameters.
type SessionTypeRequest struct {
	SessionType string         `json:"SessionType"`
	Properties  PortProperties `json:"Properties"`
}

// PortProperties are a port session's properties, as the document gives
// them.
type PortProperties struct {
	PortNumber      string `json:"portNumber"`
	LocalPortNumber string `json:"localPortNumber,omitempty"`
	Type            string `json:"type,omitempty"`
}

// HandshakeResponse is the client's answer to a HandshakeRequest.
type HandshakeResponse struct {
	ClientVersion          string            `json:"ClientVersion"`
	ProcessedClientActions []ProcessedAction `json:"ProcessedClientActions"`
	Errors                 []string          `json:"Errors"`
}

// ProcessedAction is the client's outcome of a requested action.
type ProcessedAction struct {
	ActionType   string `json:"ActionType"`
	ActionStatus int    `json:"ActionStatus"` // 1 success, 2 failed, 3 unsupported
	ActionResult any    `json:"ActionResult"`
	Error        string `json:"Error"`
}

// Action statuses.
const (
	ActionSuccess     = 1
	ActionFailed      = 2
	ActionUnsupported = 3
)

// HandshakeComplete ends the handshake.
type HandshakeComplete struct {
	HandshakeTimeToComplete time.Duration `json:"HandshakeTimeToComplete"`
	CustomerMessage         string        `json:"CustomerMessage"`
}

// ChannelClosedContent is a channel_closed message's payload.
type ChannelClosedContent struct {
	MessageID     string `json:"MessageId"`
	CreatedDate   string `json:"CreatedDate"`
	DestinationID string `json:"DestinationId"`
	SessionID     string `json:"SessionId"`
	MessageType   string `json:"MessageType"`
	SchemaVersion int    `json:"SchemaVersion"`
	Output        string `json:"Output"`
}
