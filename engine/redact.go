package engine

import (
	"bytes"
	"io"
	"sync"
)

// Redactor masks secret values in a stream before they reach a log. It
// holds back an unfinished line, so a secret split across two writes is
// still masked.
type Redactor struct {
	mu      sync.Mutex
	w       io.Writer
	secrets [][]byte
	pending []byte
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
	return r
}

// Write masks and passes on every complete line of p.
func (r *Redactor) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, p...)
	i := bytes.LastIndexByte(r.pending, '\n')
	if i < 0 {
		// A very long line is passed on in pieces: mask it all, then keep
		// back a tail shorter than any secret, where one may be starting.
		if len(r.pending) < 64<<10 {
			return len(p), nil
		}
		r.pending = r.mask(r.pending)
		i = len(r.pending) - r.longest()
		if i < 0 {
			return len(p), nil
		}
	}
	out := r.mask(r.pending[:i+1])
	r.pending = append(r.pending[:0], r.pending[i+1:]...)
	if _, err := r.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush passes on what is held back.
func (r *Redactor) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) == 0 {
		return nil
	}
	out := r.mask(r.pending)
	r.pending = r.pending[:0]
	_, err := r.w.Write(out)
	return err
}

func (r *Redactor) mask(b []byte) []byte {
	for _, s := range r.secrets {
		b = bytes.ReplaceAll(b, s, []byte(Mask))
	}
	return b
}

func (r *Redactor) longest() int {
	n := 0
	for _, s := range r.secrets {
		n = max(n, len(s))
	}
	return n
}
