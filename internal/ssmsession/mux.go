package ssmsession

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// Mux carries several TCP streams over one port session's byte stream,
// framed as the agent frames them for AWS-StartPortForwardingSession:
// version 1 frames of an 8-byte header (version, command, length and
// stream id, both little-endian) and the data. SYN opens a stream, PSH
// carries its bytes, FIN ends it, NOP keeps the session alive.
type Mux struct {
	write func([]byte) error // sends bytes down the session, in order
	// raw is a session the agent does not multiplex: one stream, its
	// bytes with no framing.
	raw bool

	mu      sync.Mutex
	streams map[uint32]*muxStream
	next    uint32
	accept  chan net.Conn // the streams the other side opened; nil on the client
	in      []byte        // a frame not whole yet
	err     error
	done    chan struct{}
}

const (
	muxVersion  = 1
	muxSYN      = 0
	muxFIN      = 1
	muxPSH      = 2
	muxNOP      = 3
	muxHeader   = 8
	muxMaxFrame = 32768
)

// newMux is a mux that sends through write. A server accepts the streams
// the client opens.
func newMux(write func([]byte) error, server bool) *Mux {
	m := &Mux{write: write, streams: map[uint32]*muxStream{}, next: 1, done: make(chan struct{})}
	if server {
		m.accept = make(chan net.Conn, 16)
	}
	return m
}

// NewServerMux is the agent's side of a mux, for a simulator.
func NewServerMux(write func([]byte) error) *Mux { return newMux(write, true) }

// Accept waits for a stream the client opens.
func (m *Mux) Accept() (net.Conn, error) {
	select {
	case c := <-m.accept:
		return c, nil
	case <-m.done:
		return nil, m.closedErr()
	}
}

func (m *Mux) closedErr() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// exhausted reports whether a raw session's one stream was opened.
func (m *Mux) exhausted() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.raw && m.next != 1
}

// Open opens a stream to the port.
func (m *Mux) Open() (net.Conn, error) {
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return nil, m.err
	}
	if m.raw && m.next != 1 {
		m.mu.Unlock()
		return nil, errors.New("the agent forwards one connection per session, and this session's is used")
	}
	m.next += 2
	id := m.next
	st := m.newStream(id)
	m.mu.Unlock()
	if m.raw {
		return st.user, nil
	}
	if err := m.send(muxSYN, id, nil); err != nil {
		return nil, err
	}
	return st.user, nil
}

// newStream registers stream id; mu is held.
func (m *Mux) newStream(id uint32) *muxStream {
	user, own := net.Pipe()
	st := &muxStream{m: m, id: id, user: user, own: own, queue: make(chan []byte, 256)}
	m.streams[id] = st
	go st.pumpIn()
	go st.pumpOut()
	return st
}

func (m *Mux) send(cmd byte, id uint32, data []byte) error {
	if m.raw {
		if cmd != muxPSH {
			return nil
		}
		return m.write(data)
	}
	b := make([]byte, muxHeader+len(data))
	b[0], b[1] = muxVersion, cmd
	binary.LittleEndian.PutUint16(b[2:], uint16(len(data)))
	binary.LittleEndian.PutUint32(b[4:], id)
	copy(b[muxHeader:], data)
	return m.write(b)
}

// Feed takes bytes that came up the session and hands each whole frame's
// data to its stream.
func (m *Mux) Feed(data []byte) error {
	m.mu.Lock()
	if m.raw {
		st := m.streams[m.next]
		m.mu.Unlock()
		if st != nil {
			st.deliver(data)
		}
		return nil
	}
	m.in = append(m.in, data...)
	var frames [][]byte
	for len(m.in) >= muxHeader {
		n := int(binary.LittleEndian.Uint16(m.in[2:]))
		if len(m.in) < muxHeader+n {
			break
		}
		frames = append(frames, m.in[:muxHeader+n:muxHeader+n])
		m.in = m.in[muxHeader+n:]
	}
	m.in = append([]byte(nil), m.in...)
	m.mu.Unlock()
	for _, f := range frames {
		if err := m.frame(f); err != nil {
			m.Close(err)
			return err
		}
	}
	return nil
}

func (m *Mux) frame(f []byte) error {
	if f[0] != muxVersion {
		return fmt.Errorf("stream frame of version %d, want %d", f[0], muxVersion)
	}
	id := binary.LittleEndian.Uint32(f[4:])
	m.mu.Lock()
	st := m.streams[id]
	m.mu.Unlock()
	switch f[1] {
	case muxNOP:
	case muxSYN:
		if m.accept == nil {
			return fmt.Errorf("the agent opened stream %d", id)
		}
		if st != nil {
			return fmt.Errorf("stream %d opened twice", id)
		}
		m.mu.Lock()
		st = m.newStream(id)
		m.mu.Unlock()
		select {
		case m.accept <- st.user:
		case <-m.done:
		}
	case muxPSH:
		if st != nil {
			st.deliver(f[muxHeader:])
		}
	case muxFIN:
		if st != nil {
			m.mu.Lock()
			delete(m.streams, id)
			m.mu.Unlock()
			close(st.queue)
		}
	default:
		return fmt.Errorf("stream frame with command %d", f[1])
	}
	return nil
}

// Close ends every stream with err.
func (m *Mux) Close(err error) {
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return
	}
	if err == nil {
		err = net.ErrClosed
	}
	m.err = err
	streams := m.streams
	m.streams = map[uint32]*muxStream{}
	close(m.done)
	m.mu.Unlock()
	for _, st := range streams {
		st.own.Close()
	}
}

// muxStream is one stream: the user holds one end of a pipe, the mux
// pumps the other.
type muxStream struct {
	m         *Mux
	id        uint32
	user, own net.Conn
	// queue holds the data that came in; FIN closes it. Only the
	// session's reader (Feed) sends to it or closes it.
	queue chan []byte
}

// deliver queues incoming data without blocking the session's reader on
// a slow reader of this stream (up to the queue's length).
func (st *muxStream) deliver(data []byte) {
	select {
	case st.queue <- append([]byte(nil), data...):
	case <-st.m.done:
	}
}

// pumpIn writes what came in to the user's end.
func (st *muxStream) pumpIn() {
	defer st.own.Close() // FIN, the mux closed, or the user closed its end
	for {
		select {
		case data, ok := <-st.queue:
			if !ok {
				return
			}
			if _, err := st.own.Write(data); err != nil {
				return
			}
		case <-st.m.done:
			return
		}
	}
}

// pumpOut sends what the user writes, and FIN once it closes.
func (st *muxStream) pumpOut() {
	buf := make([]byte, 1024)
	for {
		n, err := st.own.Read(buf)
		if n > 0 {
			if st.m.send(muxPSH, st.id, buf[:n]) != nil {
				break
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				st.m.send(muxFIN, st.id, nil)
			}
			break
		}
	}
	st.own.Close()
	st.m.mu.Lock()
	delete(st.m.streams, st.id)
	st.m.mu.Unlock()
}
