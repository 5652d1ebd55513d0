package ssmsession

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Side is one end of a data channel: the client sends input_stream_data
// and receives output_stream_data, the agent the other way round.
type Side int

const (
	ClientSide Side = iota
	AgentSide
)

// Conn is one end of a data channel over a WebSocket: it numbers the
// stream messages it sends, sends again those not acknowledged in time,
// acknowledges each it receives, drops duplicates, puts early ones back in
// order, honours pause_publication, and hands each in-order stream message
// to handle.
type Conn struct {
	ws        *websocket.Conn
	out, in   string
	handle    func(*Message) error
	sessionID string

	wmu    sync.Mutex // one message at a time, and seq with it
	seq    int64
	paused bool
	resume chan struct{} // closed by start_publication

	mu      sync.Mutex
	unacked map[ID]*sent // sent and not yet acknowledged
	// resendAfter is how long a message waits for its acknowledgement
	// before it is sent again (a message the service or an agent that
	// reconnected dropped: the other side waits for it in order).
	resendAfter time.Duration
	// drop, in tests, loses a message read before it is acknowledged.
	drop func(*Message) bool

	expect  int64 // only the reader touches these
	pending map[int64]*Message

	ctx    context.Context // ends when the channel does
	cancel context.CancelCauseFunc
}

// NewConn is side's end of the data channel ws. handle gets the stream
// messages in order; an error from it ends the channel.
func NewConn(ws *websocket.Conn, side Side, handle func(*Message) error) *Conn {
	c := &Conn{ws: ws, handle: handle, unacked: map[ID]*sent{}, pending: map[int64]*Message{}, resendAfter: defaultResendAfter}
	c.out, c.in = InputStreamData, OutputStreamData
	if side == AgentSide {
		c.out, c.in = OutputStreamData, InputStreamData
	}
	ws.SetReadLimit(1 << 20)
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	return c
}

// Done is closed once the channel has ended; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.ctx.Done() }

// Err is why the channel ended.
func (c *Conn) Err() error { return context.Cause(c.ctx) }

// Unacked is how many stream messages sent are not acknowledged yet.
func (c *Conn) Unacked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.unacked)
}

// Send sends one stream message, waiting while the other side has paused
// publication.
func (c *Conn) Send(ctx context.Context, payloadType uint32, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for c.paused {
		resume := c.resume
		c.wmu.Unlock()
		select {
		case <-resume:
		case <-ctx.Done():
			c.wmu.Lock()
			return ctx.Err()
		case <-c.ctx.Done():
			c.wmu.Lock()
			return c.Err()
		}
		c.wmu.Lock()
	}
	m := &Message{Type: c.out, SchemaVersion: 1, Created: time.Now(), Seq: c.seq, ID: NewID(), PayloadType: payloadType, Payload: payload}
	c.mu.Lock()
	c.unacked[m.ID] = &sent{m: m, at: time.Now()}
	c.mu.Unlock()
	if err := c.write(ctx, m); err != nil {
		return err
	}
	c.seq++
	return nil
}

// SendJSON sends v as a stream message's JSON payload.
func (c *Conn) SendJSON(ctx context.Context, payloadType uint32, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Send(ctx, payloadType, b)
}

// SendControl sends a message outside the stream: not numbered, not
// acknowledged (channel_closed, start_publication, pause_publication).
func (c *Conn) SendControl(ctx context.Context, typ string, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(ctx, &Message{Type: typ, SchemaVersion: 1, Created: time.Now(), ID: NewID(), Payload: payload})
}

// write sends m; wmu is held.
func (c *Conn) write(ctx context.Context, m *Message) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageBinary, m.Marshal()); err != nil {
		c.cancel(err)
		return fmt.Errorf("data channel: %w", err)
	}
	return nil
}

func (c *Conn) ack(m *Message) error {
	b, _ := json.Marshal(AckContent{Type: m.Type, ID: m.ID.String(), Seq: m.Seq, Sequential: true})
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(c.ctx, &Message{Type: Acknowledge, SchemaVersion: 1, Created: time.Now(), Flags: 3, ID: NewID(), Payload: b})
}

// sent is a stream message sent, and when it last was.
type sent struct {
	m  *Message
	at time.Time
}

// defaultResendAfter is how long a stream message waits for its
// acknowledgement before it is sent again.
const defaultResendAfter = time.Second

// Run reads the channel until it ends, and returns why. Meanwhile it sends
// again what is not acknowledged in time.
func (c *Conn) Run() error {
	go c.resend()
	err := c.read()
	c.cancel(err)
	return context.Cause(c.ctx)
}

// resend sends again, oldest first, every stream message not acknowledged
// within resendAfter, until the channel ends; not while the other side
// has paused publication.
func (c *Conn) resend() {
	t := time.NewTicker(c.resendAfter / 2)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		var due []*sent
		for _, s := range c.unacked {
			if time.Since(s.at) >= c.resendAfter {
				due = append(due, s)
			}
		}
		c.mu.Unlock()
		slices.SortFunc(due, func(a, b *sent) int { return cmp.Compare(a.m.Seq, b.m.Seq) })
		for _, s := range due {
			c.wmu.Lock()
			if c.paused {
				c.wmu.Unlock()
				break
			}
			err := c.write(c.ctx, s.m)
			c.wmu.Unlock()
			if err != nil {
				return // write ended the channel
			}
			c.mu.Lock()
			s.at = time.Now()
			c.mu.Unlock()
		}
	}
}

// ErrChannelClosed is a channel the other side closed (channel_closed).
var ErrChannelClosed = errors.New("the session's data channel was closed")

func (c *Conn) read() error {
	for {
		typ, b, err := c.ws.Read(c.ctx)
		if err != nil {
			return fmt.Errorf("data channel: %w", err)
		}
		if typ != websocket.MessageBinary {
			return fmt.Errorf("data channel: a text message after the channel opened")
		}
		m, err := Parse(b)
		if err != nil {
			return fmt.Errorf("data channel: %w", err)
		}
		if c.drop != nil && c.drop(m) {
			continue
		}
		switch m.Type {
		case c.in:
			if err := c.ack(m); err != nil {
				return err
			}
			if err := c.inOrder(m); err != nil {
				return err
			}
		case Acknowledge:
			var a AckContent
			if err := json.Unmarshal(m.Payload, &a); err != nil {
				return fmt.Errorf("data channel: acknowledgement: %w", err)
			}
			id, err := ParseID(a.ID)
			if err != nil {
				return fmt.Errorf("data channel: acknowledgement: %w", err)
			}
			c.mu.Lock()
			delete(c.unacked, id)
			c.mu.Unlock()
		case PausePublication, StartPublication:
			c.wmu.Lock()
			if m.Type == PausePublication && !c.paused {
				c.paused, c.resume = true, make(chan struct{})
			} else if m.Type == StartPublication && c.paused {
				c.paused = false
				close(c.resume)
			}
			c.wmu.Unlock()
		case ChannelClosed:
			var cc ChannelClosedContent
			json.Unmarshal(m.Payload, &cc)
			if cc.Output != "" {
				return fmt.Errorf("%w: %s", ErrChannelClosed, cc.Output)
			}
			return ErrChannelClosed
		default:
			return fmt.Errorf("data channel: a %q message", m.Type)
		}
	}
}

// inOrder hands stream messages to handle by their sequence numbers: a
// number seen before is a resend, one ahead waits for those before it.
func (c *Conn) inOrder(m *Message) error {
	switch {
	case m.Seq < c.expect:
		return nil
	case m.Seq > c.expect:
		c.pending[m.Seq] = m
		return nil
	}
	for {
		if err := c.handle(m); err != nil {
			return err
		}
		c.expect++
		next, ok := c.pending[c.expect]
		if !ok {
			return nil
		}
		delete(c.pending, c.expect)
		m = next
	}
}

// Close ends the channel.
func (c *Conn) Close() error {
	c.cancel(net.ErrClosed)
	return c.ws.Close(websocket.StatusNormalClosure, "")
}
