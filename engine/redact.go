package engine

import (
	"bytes"
	"io"
	"sync"
)

// Redactor masks secret values in what a bake writes to its log. Each
// stream of output (a command's stdout, its stderr; see Stream) is masked
// on its own, holding back only what may be the start of a secret, so a
// secret written in pieces is masked whatever another stream writes in
// between, and everything else reaches the log at once.
type Redactor struct {
	mu      sync.Mutex // held while any stream writes to w
	w       io.Writer
	secrets [][]byte
	own     *stream   // what is written to the Redactor itself
	streams []*stream // every stream, for Flush
}

// Mask is what a secret value is replaced with.
const Mask = "****"

// NewRedactor masks each non-empty secret in what is written to w.
func NewRedactor(w io.Writer, secrets []string) *Redactor {
	r := &Redactor{w: w}
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, []byte(s))
		}
	}
	r.own = r.newStream()
	return r
}

// Write masks p as a stream of its own: the platform's own notes.
func (r *Redactor) Write(p []byte) (int, error) { return r.own.Write(p) }

// Stream is a writer for one more stream of output, masked apart from the
// others (see bake.Streams).
func (r *Redactor) Stream() io.WriteCloser { return r.newStream() }

func (r *Redactor) newStream() *stream {
	s := &stream{r: r}
	r.mu.Lock()
	r.streams = append(r.streams, s)
	r.mu.Unlock()
	return s
}

// Flush passes on what every stream holds back.
func (r *Redactor) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first error
	for _, s := range r.streams {
		if err := s.flushLocked(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// stream is one stream of output of a Redactor.
type stream struct {
	r       *Redactor
	pending []byte // masked already, and held back: a secret may start in it
}

// Write masks what the stream has so far and passes on all of it but the
// longest end that could start a secret.
func (s *stream) Write(p []byte) (int, error) {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	s.pending = r.mask(append(s.pending, p...))
	keep := r.secretStart(s.pending)
	out := s.pending[:len(s.pending)-keep]
	if len(out) > 0 {
		if _, err := r.w.Write(out); err != nil {
			return 0, err
		}
	}
	s.pending = append(s.pending[:0], s.pending[len(s.pending)-keep:]...)
	return len(p), nil
}

// Close passes on what the stream holds back: its output has ended.
func (s *stream) Close() error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.flushLocked()
}

func (s *stream) flushLocked() error {
	if len(s.pending) == 0 {
		return nil
	}
	out := s.pending
	s.pending = nil
	_, err := s.r.w.Write(out)
	return err
}

func (r *Redactor) mask(b []byte) []byte {
	for _, s := range r.secrets {
		b = bytes.ReplaceAll(b, s, []byte(Mask))
	}
	return b
}

// secretStart is the length of the longest end of b that is the start,
// but not the whole, of a secret.
func (r *Redactor) secretStart(b []byte) int {
	longest := 0
	for _, s := range r.secrets {
		for n := min(len(s)-1, len(b)); n > longest; n-- {
			if bytes.HasSuffix(b, s[:n]) {
				longest = n
				break
			}
		}
	}
	return longest
}
