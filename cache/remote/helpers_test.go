package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/internal/emulators"
)

// Every Store is a cache.Shared, the interface the layered cache wants.
var _ cache.Shared = (*Store)(nil)

const (
	testBucket = "imgraph-test"
	testTable  = "imgraph-cache"
)

// newCache starts the emulators and creates a cache in them.
func newCache(t testing.TB, params string) *Location {
	t.Helper()
	emulators.Start(t)
	loc, err := ParseURL("s3://" + testBucket + "/team/ci?table=" + testTable + params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Init(t.Context(), loc, Options{}); err != nil {
		t.Fatal(err)
	}
	return loc
}

// warnings collects what a store warns about.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) warn(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, fmt.Sprintf(format, args...))
}

func (w *warnings) got() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

// calls counts the HTTP requests made to DynamoDB, by operation, and to
// S3, by method ("s3:GET").
type calls struct {
	next aws.HTTPClient
	mu   sync.Mutex
	ops  map[string]int
	// rewrite, when set, may change a DynamoDB response.
	rewrite func(op string, req, resp []byte) []byte
}

func (c *calls) Do(r *http.Request) (*http.Response, error) {
	target := r.Header.Get("X-Amz-Target")
	op, isDynamo := strings.CutPrefix(target, "DynamoDB_20120810.")
	var reqBody []byte
	if !isDynamo {
		op = "s3:" + r.Method
	}
	c.mu.Lock()
	c.ops[op]++
	c.mu.Unlock()
	if isDynamo {
		if c.rewrite != nil && r.Body != nil {
			reqBody, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
	}
	resp, err := c.next.Do(r)
	if err != nil || !isDynamo || c.rewrite == nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if changed := c.rewrite(op, reqBody, body); changed != nil {
		body = changed
		resp.Header.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		resp.ContentLength = int64(len(body))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// count is the calls of op; "" counts every DynamoDB call, "s3" every S3 one.
func (c *calls) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for o, v := range c.ops {
		s3 := strings.HasPrefix(o, "s3:")
		if o == op || op == "" && !s3 || op == "s3" && s3 {
			n += v
		}
	}
	return n
}

func (c *calls) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = map[string]int{}
}

// openCounted opens a store whose DynamoDB calls are counted.
func openCounted(t testing.TB, loc *Location, run string) (*Store, *calls, *warnings) {
	t.Helper()
	w := &warnings{}
	cfg, err := LoadConfig(t.Context(), loc, "", w.warn)
	if err != nil {
		t.Fatal(err)
	}
	c := &calls{next: cfg.HTTPClient, ops: map[string]int{}}
	cfg.HTTPClient = c
	s, err := Open(t.Context(), loc, Options{RunID: run, Warn: w.warn, AWS: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	return s, c, w
}

func openTest(t testing.TB, loc *Location, run string) (*Store, *warnings) {
	t.Helper()
	s, _, w := openCounted(t, loc, run)
	return s, w
}

func testKey(i int) string {
	sum := sha256.Sum256([]byte(strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

func testRecord(key, label string) *cache.Record {
	return &cache.Record{
		Key: key, Label: label, Platform: "aws",
		Images:  map[string]string{"us-east-1": "ami-0123456789abcdef0", "eu-west-1": "ami-0fedcba9876543210"},
		Tags:    map[string]string{"team": "platform"},
		Inputs:  json.RawMessage(`{"source":"ami-0aaaaaaaaaaaaaaaa"}`),
		RunID:   "run-1",
		Created: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

// putRecords puts n records, keys testKey(0) to testKey(n-1), some at once.
func putRecords(t testing.TB, s *Store, n int) []string {
	t.Helper()
	keys := make([]string, n)
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(16)
	for i := range keys {
		keys[i] = testKey(i)
		g.Go(func() error {
			return s.Put(ctx, testRecord(keys[i], fmt.Sprintf("//images:img%d", i)))
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// item reads key's DynamoDB item as plain values.
func item(t testing.TB, s *Store, key string) map[string]any {
	t.Helper()
	out, err := s.db.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName: aws.String(s.loc.Table), Key: keyOf(key), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		return nil
	}
	m := map[string]any{}
	for name := range out.Item {
		if v := stringAttr(out.Item, name); v != "" {
			m[name] = v
		} else if n := numberAttr(out.Item, name); n != 0 {
			m[name] = n
		} else {
			m[name] = out.Item[name]
		}
	}
	return m
}

// dropSummary removes the record's summary from key's item, as if an
// older imgraph had written it.
func dropSummary(t testing.TB, s *Store, key string) {
	t.Helper()
	_, err := s.db.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
		TableName: aws.String(s.loc.Table), Key: keyOf(key),
		UpdateExpression: aws.String("REMOVE #record"), ExpressionAttributeNames: names(attrRecord),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func setSummary(t testing.TB, s *Store, key, summary string) {
	t.Helper()
	_, err := s.db.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
		TableName: aws.String(s.loc.Table), Key: keyOf(key),
		UpdateExpression: aws.String("SET #record = :record"), ExpressionAttributeNames: names(attrRecord),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":record": str(summary)},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func putObject(t testing.TB, s *Store, key, body string) {
	t.Helper()
	_, err := s.s3.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(s.loc.Bucket), Key: aws.String(key), Body: strings.NewReader(body),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func deleteObject(t testing.TB, s *Store, key string) {
	t.Helper()
	if _, err := s.s3.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(s.loc.Bucket), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
}

func deleteItem(t testing.TB, s *Store, key string) {
	t.Helper()
	if _, err := s.db.DeleteItem(t.Context(), &dynamodb.DeleteItemInput{TableName: aws.String(s.loc.Table), Key: keyOf(key)}); err != nil {
		t.Fatal(err)
	}
}

// abandon stops renewing key's lease without releasing it: what a run
// killed with kill -9 leaves behind.
func (s *Store) abandon(key string) {
	s.mu.Lock()
	h := s.held[key]
	s.mu.Unlock()
	h.stopRenewal()
}

// lockResult is what a Lock running in a goroutine returned.
type lockResult struct {
	unlock func()
	err    error
	at     time.Time
}

// lockAsync runs Lock in a goroutine; waiting receives once when it finds
// the key held by another run.
func lockAsync(ctx context.Context, s *Store, key string) (result <-chan lockResult, waiting <-chan struct{}) {
	res := make(chan lockResult, 1)
	wait := make(chan struct{})
	var once atomic.Bool
	s.lockWaiting = func(string) {
		if once.CompareAndSwap(false, true) {
			close(wait)
		}
	}
	go func() {
		unlock, err := s.Lock(ctx, key)
		res <- lockResult{unlock, err, time.Now()}
	}()
	return res, wait
}

// within waits for ch for at most d: the bound on a test that would
// otherwise hang, not a wait for something to happen.
func within[T any](t testing.TB, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s: nothing after %v", what, d)
		panic("unreachable")
	}
}
