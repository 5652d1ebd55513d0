package engine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Fetcher downloads artifacts and root filesystems once, checks them
// against their sha256, and keeps them by digest.
type Fetcher struct {
	Dir    string       // where fetched files are kept, by digest
	Root   string       // the workspace root: file:// URLs are relative to it
	Client *http.Client // for https:// (nil: one with connection timeouts)
	// Stall bounds how long a download may go without receiving a byte,
	// from connecting to the last byte (0: DefaultStall): a server that
	// accepts and never answers fails the fetch rather than hanging it.
	Stall time.Duration
	// Timeout bounds a whole download (0: DefaultTimeout): a server that
	// sends for ever fails it too.
	Timeout time.Duration
	// S3 fetches s3:// URLs (the CLI gives one on every platform); nil
	// fetches none.
	S3 func(ctx context.Context, bucket, key string) (io.ReadCloser, error)

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// DigestMismatchError is a download whose content is not what was pinned.
type DigestMismatchError struct {
	URL, Want, Got string
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("%s: sha256 is %s, but %s was pinned; if the new content is intended, pin sha256 = %q", e.URL, e.Got, e.Want, e.Got)
}

// Fetch returns a local path holding url's content, whose sha256 must be
// want. The file name keeps url's extension (.tar.gz and the like), which
// tells a baker how to read a root filesystem.
func (f *Fetcher) Fetch(ctx context.Context, url, want string) (string, error) {
	dest := filepath.Join(f.Dir, want+extension(url))
	if _, err := os.Stat(dest); err == nil {
		return dest, nil
	}
	lock := f.lockFor(dest)
	lock.Lock()
	defer lock.Unlock()
	if _, err := os.Stat(dest); err == nil {
		return dest, nil
	}
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return "", err
	}
	src, err := f.open(ctx, url)
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", url, err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(f.Dir, ".fetch-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", url, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return "", &DigestMismatchError{URL: url, Want: want, Got: got}
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return "", err
	}
	return dest, nil
}

func (f *Fetcher) lockFor(path string) *sync.Mutex {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.locks == nil {
		f.locks = map[string]*sync.Mutex{}
	}
	if f.locks[path] == nil {
		f.locks[path] = &sync.Mutex{}
	}
	return f.locks[path]
}

func (f *Fetcher) open(ctx context.Context, url string) (io.ReadCloser, error) {
	switch {
	case strings.HasPrefix(url, "file://"):
		p := strings.TrimPrefix(url, "file://")
		if !filepath.IsAbs(p) {
			p = filepath.Join(f.Root, filepath.FromSlash(p))
		}
		return openRegular(p)
	case strings.HasPrefix(url, "https://"), strings.HasPrefix(url, "http://"):
		return f.get(ctx, url)
	case strings.HasPrefix(url, "s3://"):
		if f.S3 == nil {
			return nil, fmt.Errorf("s3:// URLs need an S3 client, and this fetcher has none")
		}
		bucket, key, _ := strings.Cut(strings.TrimPrefix(url, "s3://"), "/")
		return f.S3(ctx, bucket, key)
	}
	return nil, fmt.Errorf("unsupported URL scheme")
}

// DefaultStall is how long a download may receive nothing before it fails.
const DefaultStall = time.Minute

// DefaultTimeout is how long a whole download may take.
const DefaultTimeout = time.Hour

// connectTimeout bounds connecting to a server and the TLS handshake.
const connectTimeout = 30 * time.Second

// get downloads url, failing when Stall passes with no byte received.
func (f *Fetcher) get(ctx context.Context, url string) (io.ReadCloser, error) {
	stall, total := cmp.Or(f.Stall, DefaultStall), cmp.Or(f.Timeout, DefaultTimeout)
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(stall, func() { cancel(fmt.Errorf("nothing received for %s", stall)) })
	deadline := time.AfterFunc(total, func() { cancel(fmt.Errorf("not done after %s", total)) })
	cancelAll := func(err error) {
		deadline.Stop()
		cancel(err)
	}
	fail := func(err error) (io.ReadCloser, error) {
		timer.Stop()
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
		cancelAll(nil)
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fail(err)
	}
	client := f.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fail(fmt.Errorf("%s", resp.Status))
	}
	return &stallReader{ctx: ctx, body: resp.Body, timer: timer, stall: stall, cancel: cancelAll}, nil
}

// defaultClient gives up on a server it cannot connect to, as on one
// that stops sending (see Fetcher.Stall).
var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:               http.ProxyFromEnvironment,
	DialContext:         (&net.Dialer{Timeout: connectTimeout}).DialContext,
	TLSHandshakeTimeout: connectTimeout,
	ForceAttemptHTTP2:   true,
}}

// stallReader is a download's body whose every read that brings bytes
// puts off the stall's deadline.
type stallReader struct {
	ctx    context.Context
	body   io.ReadCloser
	timer  *time.Timer
	stall  time.Duration
	cancel func(error)
}

func (r *stallReader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	if n > 0 {
		r.timer.Reset(r.stall)
	}
	if err != nil && err != io.EOF && r.ctx.Err() != nil {
		if cause := context.Cause(r.ctx); !errors.Is(cause, context.Canceled) {
			err = cause
		}
	}
	return n, err
}

func (r *stallReader) Close() error {
	r.timer.Stop()
	r.cancel(nil)
	return r.body.Close()
}

// openRegular opens a regular file, and refuses anything else: reading a
// named pipe would wait for a writer forever.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%s is a %s, not a regular file", path, info.Mode().Type())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func extension(url string) string {
	base := url[strings.LastIndexByte(url, '/')+1:]
	if i := strings.IndexAny(base, "?#"); i >= 0 {
		base = base[:i]
	}
	for _, ext := range []string{".tar.gz", ".tgz", ".tar", ".jar", ".zip", ".gz"} {
		if strings.HasSuffix(base, ext) {
			return ext
		}
	}
	return ""
}
