package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/hostile"
)

func sha(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// release serves body at /app-1.0.tar.gz and counts the requests.
func release(t *testing.T, body string) (url string, requests *atomic.Int32) {
	requests = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/app-1.0.tar.gz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/app-1.0.tar.gz", requests
}

func TestFetchKeepsADownloadByDigest(t *testing.T) {
	const body = "the release tarball"
	url, requests := release(t, body)
	f := &engine.Fetcher{Dir: t.TempDir()}
	p, err := f.Fetch(context.Background(), url, sha(body))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != body {
		t.Errorf("fetched %q, want %q", got, body)
	}
	if want := filepath.Join(f.Dir, sha(body)+".tar.gz"); p != want {
		t.Errorf("kept at %s, want %s: by digest, with the URL's extension", p, want)
	}
	again, err := (&engine.Fetcher{Dir: f.Dir}).Fetch(context.Background(), url, sha(body))
	if err != nil || again != p {
		t.Fatalf("second fetch: %s, %v", again, err)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1: a download is kept", n)
	}
}

func TestFetchRefusesContentThatIsNotPinned(t *testing.T) {
	url, _ := release(t, "a tarball someone replaced")
	f := &engine.Fetcher{Dir: t.TempDir()}
	want := sha("the release tarball")
	_, err := f.Fetch(context.Background(), url, want)
	var mismatch *engine.DigestMismatchError
	if !errors.As(err, &mismatch) || mismatch.Got != sha("a tarball someone replaced") || mismatch.Want != want {
		t.Fatalf("err = %v, want a digest mismatch naming both digests", err)
	}
	if entries, _ := os.ReadDir(f.Dir); len(entries) != 0 {
		t.Errorf("a refused download left %d files behind", len(entries))
	}
}

func TestFetchErrors(t *testing.T) {
	url, _ := release(t, "x")
	root := t.TempDir()
	f := &engine.Fetcher{Dir: t.TempDir(), Root: root}
	for _, c := range []struct{ url, want string }{
		{strings.Replace(url, "app-1.0", "app-2.0", 1), "404 Not Found"},
		{"file://releases/missing.tar", "no such file"},
		{"s3://releases/app.tar", "s3:// URLs need an S3 client"},
	} {
		if _, err := f.Fetch(context.Background(), c.url, sha("x")); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Fetch(%s) = %v, want an error saying %q", c.url, err, c.want)
		}
	}
}

func TestFetchFileRelativeToTheWorkspace(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"vendor/tool.tar": "tool"})
	f := &engine.Fetcher{Dir: t.TempDir(), Root: root}
	p, err := f.Fetch(context.Background(), "file://vendor/tool.tar", sha("tool"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != "tool" {
		t.Errorf("fetched %q", got)
	}
}

// A server that stops sending fails the fetch once nothing has come for
// the stall bound, whether it never answers or stops halfway, and leaves
// nothing behind.
func TestFetchFromAServerThatStopsSending(t *testing.T) {
	for name, serve := range map[string]func(net.Conn){
		"never answers": hostile.Silent,
		"stops halfway": hostile.Answer("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nthe first bytes"),
	} {
		t.Run(name, func(t *testing.T) {
			url := "http://" + hostile.Serve(t, serve) + "/app.tar.gz"
			f := &engine.Fetcher{Dir: t.TempDir(), Stall: 200 * time.Millisecond, Attempts: 2, Backoff: func(int) time.Duration { return 0 }}
			_, err := f.Fetch(context.Background(), url, sha("x"))
			if err == nil || !strings.Contains(err.Error(), "nothing received for 200ms (after 2 attempts)") {
				t.Fatalf("Fetch = %v, want it to give up after 200ms of silence, twice", err)
			}
			if entries, _ := os.ReadDir(f.Dir); len(entries) != 0 {
				t.Errorf("a failed download left %d files behind", len(entries))
			}
		})
	}
}

// A file:// URL naming a pipe is refused at once rather than read forever.
func TestFetchRefusesAPipe(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "fifo.tar"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &engine.Fetcher{Dir: t.TempDir(), Root: root}
	if _, err := f.Fetch(context.Background(), "file://fifo.tar", sha("x")); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Fetch = %v, want a pipe refused", err)
	}
}

// A server that sends for ever fails the fetch once the download's bound
// passes, and leaves nothing behind.
func TestFetchFromAServerThatNeverStops(t *testing.T) {
	url := "http://" + hostile.Serve(t, hostile.Endless) + "/app.tar.gz"
	f := &engine.Fetcher{Dir: t.TempDir(), Timeout: 300 * time.Millisecond}
	if _, err := f.Fetch(context.Background(), url, sha("x")); err == nil || !strings.Contains(err.Error(), "not done after 300ms") {
		t.Fatalf("Fetch = %v, want it to give up after 300ms", err)
	}
	if entries, _ := os.ReadDir(f.Dir); len(entries) != 0 {
		t.Errorf("a failed download left %d files behind", len(entries))
	}
}

// A download that fails for a reason that may pass (a 5xx or 429 answer,
// a connection cut halfway) is tried again, with backoff; one the server
// refuses for good (404) is not. Progress is told as bytes come.
func TestFetchRetriesWhatMayPass(t *testing.T) {
	body := strings.Repeat("release ", 4096)
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		switch {
		case r.URL.Path == "/gone.tar":
			http.NotFound(w, r)
		case n == 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case n == 2:
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case n == 3:
			// The connection closed before any answer.
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case n == 4:
			// Half the body, then the connection is cut.
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write([]byte(body[:len(body)/2]))
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		default:
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write([]byte(body))
		}
	}))
	defer srv.Close()
	var waits []int
	f := &engine.Fetcher{Dir: t.TempDir(), Attempts: 5, Backoff: func(n int) time.Duration { waits = append(waits, n); return 0 }}
	var last engine.Progress
	p, err := f.FetchWithProgress(context.Background(), srv.URL+"/app.tar", sha(body), func(p engine.Progress) { last = p })
	if err != nil {
		t.Fatalf("Fetch after two refusals, a closed connection and a cut: %v", err)
	}
	if got, _ := os.ReadFile(p); string(got) != body {
		t.Errorf("fetched %d bytes, want the %d of the body", len(got), len(body))
	}
	if requests.Load() != 5 || len(waits) != 4 {
		t.Errorf("%d requests and %d waits, want 5 and 4", requests.Load(), len(waits))
	}
	if last.Done != int64(len(body)) || last.Total != int64(len(body)) {
		t.Errorf("last progress %+v, want all %d bytes of %d", last, len(body), len(body))
	}
	requests.Store(0)
	if _, err := f.Fetch(context.Background(), srv.URL+"/gone.tar", sha("x")); err == nil || !strings.Contains(err.Error(), "404") || requests.Load() != 1 {
		t.Errorf("Fetch of a missing file: %v after %d requests, want a 404 at once", err, requests.Load())
	}
}

// A download that fails for a reason that will not pass (here, a
// certificate this machine does not trust) is tried once.
func TestFetchDoesNotRetryWhatWillNotPass(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("x")) }))
	defer srv.Close()
	var waits atomic.Int32
	f := &engine.Fetcher{Dir: t.TempDir(), Backoff: func(int) time.Duration { waits.Add(1); return 0 }}
	for _, url := range []string{srv.URL + "/app.tar"} {
		waits.Store(0)
		if _, err := f.Fetch(context.Background(), url, sha("x")); err == nil || waits.Load() != 0 {
			t.Errorf("Fetch(%s) = %v after %d waits, want a failure at once", url, err, waits.Load())
		}
	}
}
