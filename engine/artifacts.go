package engine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/imgraph/imgraph/bake"
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
	// Attempts bounds the tries of an http(s) download that fails for a
	// reason that may pass (a 5xx or 429 answer, a connection cut, a
	// stall); 0: DefaultAttempts. Backoff is the wait before try n+1
	// (nil: 1s, 2s, 4s..., jittered); Ctrl-C ends it.
	Attempts int
	Backoff  func(n int) time.Duration

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

// progressEvery is how often a download's progress is told.
const progressEvery = 2 * time.Second

// DefaultAttempts is how many times a download is tried.
const DefaultAttempts = 4

// Progress is how far a download has come: bytes received, of total (-1
// when the server does not say), at rate bytes a second.
type Progress struct {
	Done, Total int64
	Rate        float64
}

// Fetch returns a local path holding url's content, whose sha256 must be
// want. The file name keeps url's extension (.tar.gz and the like), which
// tells a baker how to read a root filesystem.
func (f *Fetcher) Fetch(ctx context.Context, url, want string) (string, error) {
	return f.FetchWithProgress(ctx, url, want, nil)
}

// FetchWithProgress is Fetch, telling progress (when not nil) how a
// download goes, now and then.
func (f *Fetcher) FetchWithProgress(ctx context.Context, url, want string, progress func(Progress)) (string, error) {
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
	attempts := cmp.Or(f.Attempts, DefaultAttempts)
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		attempts = 1 // a file is there or not; the S3 client retries itself
	}
	for n := 1; ; n++ {
		err := f.download(ctx, url, want, dest, progress)
		if err == nil {
			return dest, nil
		}
		var mismatch *DigestMismatchError
		if errors.As(err, &mismatch) {
			return "", err
		}
		if n >= attempts || ctx.Err() != nil || !transient(err) {
			if n > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, n)
			}
			return "", fmt.Errorf("fetching %s: %w", url, err)
		}
		if err := bake.Wait(ctx, f.backoff(n)); err != nil {
			return "", fmt.Errorf("fetching %s: %w", url, err)
		}
	}
}

// download is one try at url: its content goes to a temporary file, and
// to dest once its digest is want's.
func (f *Fetcher) download(ctx context.Context, url, want, dest string, progress func(Progress)) error {
	src, total, err := f.open(ctx, url)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(f.Dir, ".fetch-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	var r io.Reader = src
	if progress != nil {
		r = &progressReader{r: src, total: total, report: progress, start: time.Now()}
	}
	_, err = io.Copy(io.MultiWriter(tmp, h), r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &DigestMismatchError{URL: url, Want: want, Got: got}
	}
	return os.Rename(tmp.Name(), dest)
}

func (f *Fetcher) backoff(n int) time.Duration {
	if f.Backoff != nil {
		return f.Backoff(n)
	}
	d := time.Second << min(n-1, 5)
	return d/2 + rand.N(d/2+1)
}

// transient reports whether a failed download may succeed if tried again:
// a server error or a refusal to serve now, or a connection cut or
// stalled; not an answer that the file is not there or not ours to read.
func transient(err error) bool {
	var status *statusError
	if errors.As(err, &status) {
		return status.code >= 500 || status.code == http.StatusTooManyRequests || status.code == http.StatusRequestTimeout
	}
	var stall *stallError
	if errors.As(err, &stall) {
		return !stall.total
	}
	// Every error of http.Client.Do is a *url.Error, itself a net.Error:
	// what it wraps says whether trying again can help.
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsNotFound && (dnsErr.IsTemporary || dnsErr.IsTimeout)
	}
	var (
		certErr      *tls.CertificateVerificationError
		authorityErr x509.UnknownAuthorityError
		hostErr      x509.HostnameError
		invalidErr   x509.CertificateInvalidError
		recordErr    tls.RecordHeaderError
	)
	if errors.As(err, &certErr) || errors.As(err, &authorityErr) || errors.As(err, &hostErr) ||
		errors.As(err, &invalidErr) || errors.As(err, &recordErr) {
		return false // the same certificate, or the same plain-HTTP server, next time
	}
	var opErr *net.OpError
	var netErr net.Error
	return errors.As(err, &opErr) || errors.As(err, &netErr) && netErr.Timeout() ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || // a connection closed before, or during, the answer
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// statusError is an answer other than 200 OK.
type statusError struct {
	code   int
	status string
}

func (e *statusError) Error() string { return e.status }

// stallError is a download given up: nothing came for the stall bound,
// or (total) it was not done in time.
type stallError struct {
	msg   string
	total bool
}

func (e *stallError) Error() string { return e.msg }

// progressReader tells how a download goes, every progressEvery (a plain
// log gets a line each time) and at its end.
type progressReader struct {
	r      io.Reader
	done   int64
	total  int64
	report func(Progress)
	start  time.Time
	last   time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.last) >= progressEvery || err == io.EOF {
		p.last = now
		rate := 0.0
		if secs := now.Sub(p.start).Seconds(); secs > 0 {
			rate = float64(p.done) / secs
		}
		p.report(Progress{Done: p.done, Total: p.total, Rate: rate})
	}
	return n, err
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

// open starts reading url, and says how long it is (-1: not known).
func (f *Fetcher) open(ctx context.Context, url string) (io.ReadCloser, int64, error) {
	switch {
	case strings.HasPrefix(url, "file://"):
		p := strings.TrimPrefix(url, "file://")
		if !filepath.IsAbs(p) {
			p = filepath.Join(f.Root, filepath.FromSlash(p))
		}
		file, err := openRegular(p)
		if err != nil {
			return nil, 0, err
		}
		size := int64(-1)
		if fi, err := file.Stat(); err == nil {
			size = fi.Size()
		}
		return file, size, nil
	case strings.HasPrefix(url, "https://"), strings.HasPrefix(url, "http://"):
		return f.get(ctx, url)
	case strings.HasPrefix(url, "s3://"):
		if f.S3 == nil {
			return nil, 0, fmt.Errorf("s3:// URLs need an S3 client, and this fetcher has none")
		}
		bucket, key, _ := strings.Cut(strings.TrimPrefix(url, "s3://"), "/")
		r, err := f.S3(ctx, bucket, key)
		return r, -1, err
	}
	return nil, 0, fmt.Errorf("unsupported URL scheme")
}

// DefaultStall is how long a download may receive nothing before it fails.
const DefaultStall = time.Minute

// DefaultTimeout is how long a whole download may take.
const DefaultTimeout = time.Hour

// connectTimeout bounds connecting to a server and the TLS handshake.
const connectTimeout = 30 * time.Second

// get downloads url, failing when Stall passes with no byte received.
func (f *Fetcher) get(ctx context.Context, url string) (io.ReadCloser, int64, error) {
	stall, total := cmp.Or(f.Stall, DefaultStall), cmp.Or(f.Timeout, DefaultTimeout)
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(stall, func() { cancel(&stallError{msg: fmt.Sprintf("nothing received for %s", stall)}) })
	deadline := time.AfterFunc(total, func() { cancel(&stallError{msg: fmt.Sprintf("not done after %s", total), total: true}) })
	cancelAll := func(err error) {
		deadline.Stop()
		cancel(err)
	}
	fail := func(err error) (io.ReadCloser, int64, error) {
		timer.Stop()
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
		cancelAll(nil)
		return nil, 0, err
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
		return fail(&statusError{code: resp.StatusCode, status: resp.Status})
	}
	return &stallReader{ctx: ctx, body: resp.Body, timer: timer, stall: stall, cancel: cancelAll}, resp.ContentLength, nil
}

// defaultClient gives up on a server it cannot connect to, as on one
// that stops sending (see Fetcher.Stall).
var defaultClient = &http.Client{Transport: &http.Transport{
	// A download is one long request: a try again gets a connection of its
	// own, never one the server may have left hanging.
	DisableKeepAlives:   true,
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
