package remote

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/imgraph/imgraph/cache"
)

// A no-op build of 1,000 images looks them up in about ten DynamoDB calls.
func TestGetBatches(t *testing.T) {
	loc := newCache(t, "")
	s, calls, w := openCounted(t, loc, "run-a")
	keys := putRecords(t, s, 1000)
	missing := []string{testKey(1000), testKey(1001)}

	calls.reset()
	got, err := s.Get(t.Context(), append(slices.Clone(keys), missing...))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(keys) {
		t.Errorf("Get found %d of %d records", len(got), len(keys))
	}
	for i, key := range keys {
		if rec := got[key]; rec == nil || rec.Label != fmt.Sprintf("//images:img%d", i) {
			t.Fatalf("Get[%s] = %+v", key, rec)
		}
	}
	if n, batches := calls.count(""), calls.count("BatchGetItem"); n > 12 || n != batches {
		t.Errorf("Get of 1,002 keys made %d DynamoDB calls (%d BatchGetItem), want at most 12, all BatchGetItem", n, batches)
	}
	if msgs := w.got(); len(msgs) != 0 {
		t.Errorf("warnings: %q", msgs)
	}
}

// BatchGetItem may leave keys unprocessed when the table is throttled; Get
// asks again for those.
func TestGetRetriesUnprocessedKeys(t *testing.T) {
	loc := newCache(t, "")
	s, calls, _ := openCounted(t, loc, "run-a")
	keys := putRecords(t, s, 150)

	// Fault injection on the wire: the first two responses hand back only
	// the first half of the items and list the rest as unprocessed.
	var throttled atomic.Int32
	calls.rewrite = func(op string, req, resp []byte) []byte {
		if op != "BatchGetItem" || throttled.Add(1) > 2 {
			return nil
		}
		return unprocessHalf(t, req, resp)
	}
	calls.reset()
	got, err := s.Get(t.Context(), keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(keys) {
		t.Errorf("Get found %d of %d records", len(got), len(keys))
	}
	if n := calls.count("BatchGetItem"); n != 4 {
		t.Errorf("%d BatchGetItem calls, want 4: two batches, each asked again once for its unprocessed keys", n)
	}
}

// unprocessHalf moves the second half of a BatchGetItem response's items
// into UnprocessedKeys, as DynamoDB does under throttling.
func unprocessHalf(t *testing.T, req, resp []byte) []byte {
	var in struct {
		RequestItems map[string]map[string]any
	}
	var out struct {
		Responses       map[string][]map[string]any
		UnprocessedKeys map[string]map[string]any
	}
	if err := json.Unmarshal(req, &in); err != nil {
		t.Error(err)
		return nil
	}
	if err := json.Unmarshal(resp, &out); err != nil {
		t.Error(err)
		return nil
	}
	out.UnprocessedKeys = map[string]map[string]any{}
	for table, items := range out.Responses {
		keep := items[:len(items)/2]
		var left []any
		for _, item := range items[len(items)/2:] {
			left = append(left, map[string]any{"key": item["key"]})
		}
		request := in.RequestItems[table]
		request["Keys"] = left
		out.Responses[table] = keep
		out.UnprocessedKeys[table] = request
	}
	data, err := json.Marshal(out)
	if err != nil {
		t.Error(err)
		return nil
	}
	return data
}

// The index's items carry each record's summary: a look-up that finds
// every key baked reads nothing from S3. An item without one (written
// before items carried them) or with one that does not decode is answered
// from S3.
func TestGetAnswersFromTheIndex(t *testing.T) {
	loc := newCache(t, "")
	s, calls, w := openCounted(t, loc, "run-a")
	keys := putRecords(t, s, 3)
	old, damaged := keys[1], keys[2]
	dropSummary(t, s, old)
	setSummary(t, s, damaged, `{"key": "`)

	calls.reset()
	got, err := s.Get(t.Context(), keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, key := range keys {
		want := testRecord(key, fmt.Sprintf("//images:img%d", i))
		if key == keys[0] {
			want = want.Summary()
		}
		if !reflect.DeepEqual(got[key], want) {
			t.Errorf("Get[%s] = %+v\nwant %+v", key, got[key], want)
		}
	}
	if n := calls.count("s3:GET"); n != 2 {
		t.Errorf("Get read %d records from S3, want 2: those whose item has no usable summary", n)
	}
	if msgs := w.got(); len(msgs) != 0 {
		t.Errorf("warnings: %q", msgs)
	}
}

// The index and the records disagree: each such key is a miss, with one
// warning naming it, however often it is asked for. (Records are read
// when an item carries no summary, as here, and by Latest and Lock.)
func TestGetInconsistent(t *testing.T) {
	loc := newCache(t, "")
	s, w := openTest(t, loc, "run-a")
	ctx := t.Context()
	keys := putRecords(t, s, 6)
	for _, key := range keys {
		dropSummary(t, s, key)
	}
	good, goneFromS3, goneFromIndex, notJSON, otherKey, noLabel := keys[0], keys[1], keys[2], keys[3], keys[4], keys[5]

	deleteObject(t, s, loc.recordKey(goneFromS3))
	deleteItem(t, s, goneFromIndex)
	putObject(t, s, loc.recordKey(notJSON), `{"key": "`+notJSON)
	data, _ := json.Marshal(testRecord(good, "//images:img4"))
	putObject(t, s, loc.recordKey(otherKey), string(data))
	data, _ = json.Marshal(testRecord(noLabel, ""))
	putObject(t, s, loc.recordKey(noLabel), string(data))

	for range 2 {
		got, err := s.Get(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[good] == nil {
			t.Errorf("Get found %v, want only %s", slices.Collect(maps.Keys(got)), good)
		}
	}
	where := "s3://imgraph-test/team/ci/records/"
	want := []string{
		"cache: ignoring key " + goneFromS3 + `: the DynamoDB table "imgraph-cache" lists its record ` + where + goneFromS3 + ".json, which is missing from S3",
		"cache: ignoring record " + where + goneFromIndex + `.json: the DynamoDB table "imgraph-cache" does not list key ` + goneFromIndex,
		"cache: ignoring corrupt record " + where + notJSON + ".json: unexpected end of JSON input",
		"cache: ignoring corrupt record " + where + otherKey + `.json: it holds key "` + good + `"`,
		"cache: ignoring corrupt record " + where + noLabel + ".json: it has no label",
	}
	got := w.got()
	slices.Sort(got)
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLatest(t *testing.T) {
	loc := newCache(t, "")
	s, w := openTest(t, loc, "run-a")
	ctx := t.Context()
	if rec, err := s.Latest(ctx, "//apps:api"); rec != nil || err != nil {
		t.Errorf("Latest of a label never put = %+v, %v", rec, err)
	}
	first, second := testRecord(testKey(1), "//apps:api"), testRecord(testKey(2), "//apps:api")
	second.Images = map[string]string{"us-east-1": "ami-0000000000000000b"}
	for _, rec := range []*cache.Record{first, second} {
		if err := s.Put(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if rec, err := s.Latest(ctx, "//apps:api"); err != nil || !reflect.DeepEqual(rec, second) {
		t.Errorf("Latest = %+v, %v\nwant %+v", rec, err, second)
	}
	// The label's key lost its record: nothing, and a warning.
	deleteObject(t, s, loc.recordKey(second.Key))
	if rec, err := s.Latest(ctx, "//apps:api"); rec != nil || err != nil {
		t.Errorf("Latest with its record gone = %+v, %v", rec, err)
	}
	if msgs := w.got(); len(msgs) != 2 || !strings.Contains(msgs[1], "label //apps:api names key "+second.Key+", which has no record") {
		t.Errorf("warnings: %q", msgs)
	}
	if _, err := s.Latest(ctx, ""); err == nil {
		t.Error("Latest of an empty label: no error")
	}
}
