package engine

import (
	"bytes"
	"io"
	"slices"
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
	r *Redactor
	// pending is what the stream holds back, as written: a secret may
	// start in it. It is masked only as it is passed on, so secrets that
	// overlap are found whole, whichever is masked first.
	pending []byte
}

// Write passes on what the stream has so far, masked, holding back from
// where a secret may start that later writes could finish.
func (s *stream) Write(p []byte) (int, error) {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	s.pending = append(s.pending, p...)
	secrets := r.find(s.pending)
	cut := len(s.pending) - r.secretStart(s.pending)
	for _, m := range secrets {
		if m.start < cut && cut < m.end {
			cut = m.start // a secret that overlaps the held end may grow
		}
	}
	if cut > 0 {
		if _, err := r.w.Write(masked(s.pending[:cut], secrets)); err != nil {
			return 0, err
		}
	}
	s.pending = append(s.pending[:0], s.pending[cut:]...)
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
	out := masked(s.pending, s.r.find(s.pending))
	s.pending = nil
	_, err := s.r.w.Write(out)
	return err
}

// span is where in a stream's bytes one or more overlapping secrets are.
type span struct{ start, end int }

// find is where the secrets are in b, each occurrence of each secret
// found in b as written, and those that overlap merged into one span, in
// order. (Output that runs secrets together, each overlapping the next,
// is held back until the run ends.)
func (r *Redactor) find(b []byte) []span {
	var found []span
	for _, s := range r.secrets {
		for from := 0; ; {
			i := bytes.Index(b[from:], s)
			if i < 0 {
				break
			}
			found = append(found, span{from + i, from + i + len(s)})
			from += i + 1
		}
	}
	slices.SortFunc(found, func(a, b span) int { return a.start - b.start })
	var merged []span
	for _, f := range found {
		if n := len(merged); n > 0 && f.start < merged[n-1].end {
			merged[n-1].end = max(merged[n-1].end, f.end)
			continue
		}
		merged = append(merged, f)
	}
	return merged
}

// masked is b with each of the spans in it replaced by Mask.
func masked(b []byte, spans []span) []byte {
	out := make([]byte, 0, len(b))
	at := 0
	for _, sp := range spans {
		if sp.end > len(b) {
			break
		}
		out = append(append(out, b[at:sp.start]...), Mask...)
		at = sp.end
	}
	return append(out, b[at:]...)
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
