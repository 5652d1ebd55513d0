package cache

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// sharedLocal stands in for the remote cache: a second local directory,
// with logs kept in memory.
type sharedLocal struct {
	*Local
	logs map[string]string
}

func (s *sharedLocal) PutLog(_ context.Context, key string, r io.Reader) error {
	b, err := io.ReadAll(r)
	s.logs[key] = string(b)
	return err
}

func newLayered(t *testing.T) (*Layered, *Local, *sharedLocal) {
	t.Helper()
	local, err := OpenLocal(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	remote, err := OpenLocal(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	shared := &sharedLocal{Local: remote, logs: map[string]string{}}
	return &Layered{Local: local, Shared: shared}, local, shared
}

// summarising is a shared cache whose Get answers summaries, as the
// remote one does from its index.
type summarising struct{ *sharedLocal }

func (s summarising) Get(ctx context.Context, keys []string) (map[string]*Record, error) {
	recs, err := s.sharedLocal.Get(ctx, keys)
	for k, rec := range recs {
		recs[k] = rec.Summary()
	}
	return recs, err
}

func TestLayeredCopiesWholeSharedHitsIntoLocal(t *testing.T) {
	ctx := context.Background()
	c, local, shared := newLayered(t)
	rec := &Record{Key: testKey(1), Label: "//a:a", Images: map[string]string{"us-east-1": "ami-1"}, Inputs: []byte(`{"a":"1"}`)}
	if err := shared.Put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, []string{testKey(1), testKey(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[testKey(1)].Images["us-east-1"] != "ami-1" {
		t.Fatalf("Get = %v, want the shared record only", got)
	}
	if l, _ := local.Latest(ctx, "//a:a"); l == nil || string(l.Inputs) != `{"a":"1"}` {
		t.Errorf("the local cache's latest of //a:a is %v, want the shared hit, whole", l)
	}
}

// A summary copied into the local cache would be its latest record of the
// label, and explain would find no inputs in it.
func TestLayeredKeepsSharedSummariesOutOfLocal(t *testing.T) {
	ctx := context.Background()
	c, local, shared := newLayered(t)
	c.Shared = summarising{shared}
	rec := &Record{Key: testKey(1), Label: "//a:a", Images: map[string]string{"us-east-1": "ami-1"}, Inputs: []byte(`{"a":"1"}`)}
	if err := shared.Put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, []string{testKey(1)})
	if err != nil || got[testKey(1)] == nil || got[testKey(1)].Inputs != nil {
		t.Fatalf("Get = %v, %v; want the shared summary", got, err)
	}
	if l, _ := local.Latest(ctx, "//a:a"); l != nil {
		t.Errorf("the local cache holds %v, want no copy of a summary", l)
	}
	if l, _ := c.Latest(ctx, "//a:a"); l == nil || string(l.Inputs) != `{"a":"1"}` {
		t.Errorf("Latest = %v, want the shared record, whole", l)
	}
}

func TestLayeredPutWritesBoth(t *testing.T) {
	ctx := context.Background()
	c, local, shared := newLayered(t)
	if err := c.Put(ctx, &Record{Key: testKey(3), Label: "//a:a"}); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*Local{"local": local, "shared": shared.Local} {
		if got, _ := s.Get(ctx, []string{testKey(3)}); got[testKey(3)] == nil {
			t.Errorf("the %s cache lacks the record", name)
		}
	}
	if err := c.PutLog(ctx, testKey(3), stringReader("baked\n")); err != nil || shared.logs[testKey(3)] != "baked\n" {
		t.Errorf("PutLog: %v, log %q", err, shared.logs[testKey(3)])
	}
}

func TestLayeredLatestIsTheNewer(t *testing.T) {
	ctx := context.Background()
	c, local, shared := newLayered(t)
	now := time.Now().UTC()
	local.Put(ctx, &Record{Key: testKey(4), Label: "//a:a", Created: now.Add(-time.Hour)})
	shared.Put(ctx, &Record{Key: testKey(5), Label: "//a:a", Created: now})
	if got, _ := c.Latest(ctx, "//a:a"); got == nil || got.Key != testKey(5) {
		t.Errorf("Latest = %v, want the shared, newer record", got)
	}
	local.Put(ctx, &Record{Key: testKey(6), Label: "//a:a", Created: now.Add(time.Hour)})
	if got, _ := c.Latest(ctx, "//a:a"); got == nil || got.Key != testKey(6) {
		t.Errorf("Latest = %v, want the local, newer record", got)
	}
}

func stringReader(s string) io.Reader { return strings.NewReader(s) }
