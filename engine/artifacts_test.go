package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
			f := &engine.Fetcher{Dir: t.TempDir(), Stall: 200 * time.Millisecond}
			_, err := f.Fetch(context.Background(), url, sha("x"))
			if err == nil || !strings.Contains(err.Error(), "nothing received for 200ms") {
				t.Fatalf("Fetch = %v, want it to give up after 200ms of silence", err)
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
