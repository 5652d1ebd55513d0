package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/internal/emulators"
)

func TestRoundTrip(t *testing.T) {
	loc := newCache(t, "")
	s, w := openTest(t, loc, "run-a")
	ctx := t.Context()
	rec := testRecord(testKey(1), "//apps/api:api")
	if err := s.Put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, []string{rec.Key, testKey(2), rec.Key})
	if err != nil {
		t.Fatal(err)
	}
	// Get answers from the index: the record without its Inputs.
	if len(got) != 1 || !reflect.DeepEqual(got[rec.Key], rec.Summary()) {
		t.Errorf("Get = %+v\nwant %+v", got, rec.Summary())
	}
	latest, err := s.Latest(ctx, rec.Label)
	if err != nil || !reflect.DeepEqual(latest, rec) {
		t.Errorf("Latest = %+v, %v\nwant %+v", latest, err, rec)
	}

	// Another run sees it too.
	other, _ := openTest(t, loc, "run-b")
	if got, err := other.Get(ctx, []string{rec.Key}); err != nil || !reflect.DeepEqual(got[rec.Key], rec.Summary()) {
		t.Errorf("another store's Get = %+v, %v", got, err)
	}

	wantItem := map[string]any{
		"key": rec.Key, "status": "done", "location": "team/ci/records/" + rec.Key + ".json",
		"label": "//apps/api:api", "owner": "run-1",
		"images": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
			"us-east-1": str("ami-0123456789abcdef0"), "eu-west-1": str("ami-0fedcba9876543210"),
		}},
	}
	gotItem := item(t, s, rec.Key)
	delete(gotItem, "updated")
	summary, _ := json.Marshal(rec.Summary())
	if gotItem["record"] != string(summary) {
		t.Errorf("item's record = %v, want the summary %s", gotItem["record"], summary)
	}
	delete(gotItem, "record")
	if !reflect.DeepEqual(gotItem, wantItem) {
		t.Errorf("item = %#v\nwant %#v", gotItem, wantItem)
	}
	labelItem := item(t, s, "label#//apps/api:api")
	if labelItem["latest"] != rec.Key {
		t.Errorf("label item = %v, want latest %s", labelItem, rec.Key)
	}
	// The least a record can hold.
	minimal := &cache.Record{Key: testKey(2), Label: "//base:al2023", Images: map[string]string{}, Created: rec.Created}
	if err := s.Put(ctx, minimal); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, []string{minimal.Key}); err != nil || !reflect.DeepEqual(got[minimal.Key], minimal) {
		t.Errorf("Get of a minimal record = %+v, %v\nwant %+v", got[minimal.Key], err, minimal)
	}
	if msgs := w.got(); len(msgs) != 0 {
		t.Errorf("warnings: %q", msgs)
	}
}

func TestPutFillsCreated(t *testing.T) {
	loc := newCache(t, "")
	s, _ := openTest(t, loc, "run-a")
	rec := testRecord(testKey(1), "//a:a")
	rec.Created = time.Time{}
	if err := s.Put(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if !rec.Created.IsZero() {
		t.Errorf("Put changed the caller's record: Created = %v", rec.Created)
	}
	got, _ := s.Get(t.Context(), []string{rec.Key})
	if got[rec.Key] == nil || got[rec.Key].Created.IsZero() {
		t.Errorf("stored record has no Created: %+v", got[rec.Key])
	}
}

func TestPutRejects(t *testing.T) {
	loc := newCache(t, "")
	s, _ := openTest(t, loc, "run-a")
	for _, tc := range []struct {
		name string
		rec  *cache.Record
		want string
	}{
		{"nil record", nil, "nil record"},
		{"bad key", &cache.Record{Key: "abc", Label: "//a:a"}, "invalid key"},
		{"no label", &cache.Record{Key: testKey(1)}, "has no label"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Put(t.Context(), tc.rec); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Put: err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := s.Get(t.Context(), []string{"../../etc/passwd"}); !errors.Is(err, cache.ErrInvalidKey) {
		t.Errorf("Get of a bad key: err = %v", err)
	}
}

func TestPutLog(t *testing.T) {
	loc := newCache(t, "")
	s, _ := openTest(t, loc, "run-a")
	ctx := t.Context()
	key := testKey(1)
	if r, err := s.Log(ctx, key); r != nil || err != nil {
		t.Fatalf("Log before PutLog = %v, %v; want nil, nil", r, err)
	}
	const text = "==> provisioner shell\ninstalled nginx\n"
	// A reader that can't seek, as a bake's log stream is.
	if err := s.PutLog(ctx, key, iotest.OneByteReader(strings.NewReader(text))); err != nil {
		t.Fatal(err)
	}
	r, err := s.Log(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, _ := io.ReadAll(r)
	if string(got) != text {
		t.Errorf("log = %q, want %q", got, text)
	}
	if _, err := s.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String("team/ci/logs/" + key + ".log")}); err != nil {
		t.Errorf("the log is not beside the records: %v", err)
	}
}

func TestOpenMissing(t *testing.T) {
	emulators.Start(t)
	ctx := t.Context()
	loc, _ := ParseURL("s3://" + testBucket + "/ci?table=" + testTable)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T)
		want  string
	}{
		{"no bucket", func(*testing.T) {},
			`cache: the S3 bucket "imgraph-test" does not exist (region us-east-1)
  hint: create it and the table with ` + "`imgraph cache init --cache s3://imgraph-test/ci?table=imgraph-cache`"},
		{"no table", func(t *testing.T) {
			s, err := newStore(ctx, loc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.createBucket(ctx); err != nil {
				t.Fatal(err)
			}
		},
			`cache: the DynamoDB table "imgraph-cache" does not exist (region us-east-1)
  hint: create it with ` + "`imgraph cache init --cache s3://imgraph-test/ci?table=imgraph-cache`"},
		{"wrong key", func(t *testing.T) {
			s, _ := newStore(ctx, loc, Options{})
			_, err := s.db.CreateTable(ctx, &dynamodb.CreateTableInput{
				TableName:            aws.String(testTable),
				AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
				KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
				BillingMode:          ddbtypes.BillingModePayPerRequest,
			})
			if err != nil {
				t.Fatal(err)
			}
		},
			`cache: the DynamoDB table "imgraph-cache" is not an imgraph cache table: its key is id (hash)
  hint: imgraph needs a table whose only key is the partition key "key" (a string); name another table in the cache URL and create it with ` +
				"`imgraph cache init --cache s3://imgraph-test?table=NEW-NAME`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup(t)
			_, err := Open(ctx, loc, Options{})
			var bad *BadInputError
			if !errors.As(err, &bad) || !bad.BadInput() {
				t.Fatalf("Open: err = %v, want a *BadInputError", err)
			}
			if err.Error() != tc.want {
				t.Errorf("Open: error\n%s\nwant\n%s", err, tc.want)
			}
		})
	}
	// Init refuses a table it can't use rather than changing it.
	if _, err := Init(ctx, loc, Options{}); err == nil || !strings.Contains(err.Error(), "is not an imgraph cache table") {
		t.Errorf("Init over a table with another key: err = %v", err)
	}
}

func TestOpenNoRegion(t *testing.T) {
	emulators.Start(t)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	loc, _ := ParseURL("s3://" + testBucket + "?table=" + testTable)
	_, err := Open(t.Context(), loc, Options{})
	want := "cache: no AWS region for the cache s3://imgraph-test?table=imgraph-cache\n  hint: add region=REGION to the cache URL, or set AWS_REGION"
	if err == nil || err.Error() != want {
		t.Errorf("Open: err = %v, want %q", err, want)
	}
}

func TestInit(t *testing.T) {
	emulators.Start(t)
	ctx := t.Context()
	loc, _ := ParseURL("s3://" + testBucket + "/ci?table=" + testTable + "&region=eu-west-1")
	created, err := Init(ctx, loc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"S3 bucket imgraph-test (region eu-west-1)",
		`DynamoDB table imgraph-cache (region eu-west-1, on-demand billing, partition key "key")`,
	}
	if !reflect.DeepEqual(created, want) {
		t.Errorf("Init created %q, want %q", created, want)
	}
	s, err := Open(ctx, loc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(testTable)})
	if err != nil {
		t.Fatal(err)
	}
	if bm := desc.Table.BillingModeSummary; bm == nil || bm.BillingMode != ddbtypes.BillingModePayPerRequest {
		t.Errorf("billing mode = %+v, want PAY_PER_REQUEST", bm)
	}
	if desc.Table.TableStatus != ddbtypes.TableStatusActive {
		t.Errorf("table status = %s after Init, want ACTIVE", desc.Table.TableStatus)
	}
	again, err := Init(ctx, loc, Options{})
	if err != nil || len(again) != 0 {
		t.Errorf("second Init = %q, %v; want nothing created", again, err)
	}
}

func TestStat(t *testing.T) {
	loc := newCache(t, "")
	s, _ := openTest(t, loc, "run-a")
	ctx := t.Context()
	st, err := s.Stat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (cache.Stats{Location: "s3://imgraph-test/team/ci?table=imgraph-cache"}); st != want {
		t.Errorf("Stat of an empty cache = %+v, want %+v", st, want)
	}
	putRecords(t, s, 3)
	if err := s.Put(ctx, testRecord(testKey(3), "//images:img0")); err != nil { // a second key for a label
		t.Fatal(err)
	}
	if err := s.PutLog(ctx, testKey(0), strings.NewReader("log")); err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(ctx, testKey(9)) // baking: not a record
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	// Outside the prefix: not counted.
	putObject(t, s, "elsewhere/records/x.json", "{}")

	st, err = s.Stat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 4 || st.Labels != 3 {
		t.Errorf("Stat = %+v, want 4 records and 3 labels", st)
	}
	// Each record is its JSON and a newline; the log is 3 bytes.
	want := int64(len("log"))
	for i := range 4 {
		label := fmt.Sprintf("//images:img%d", i%3)
		data, _ := json.Marshal(testRecord(testKey(i), label))
		want += int64(len(data) + 1)
	}
	if st.Bytes != want {
		t.Errorf("Stat: %d bytes, want %d", st.Bytes, want)
	}
}

// s3rver knows one key pair, so other credentials stand in for a policy
// that denies access: HEAD answers 403 with no body, as S3 does.
func TestOpenAccessDenied(t *testing.T) {
	loc := newCache(t, "")
	t.Setenv("AWS_ACCESS_KEY_ID", "someone-else")
	_, err := Open(t.Context(), loc, Options{})
	want := `cache: access to the S3 bucket "imgraph-test" is denied (s3:ListBucket, for HeadBucket)
  hint: ` + permissionsHint
	var bad *BadInputError
	if !errors.As(err, &bad) || err.Error() != want {
		t.Errorf("Open: err = %v, want\n%s", err, want)
	}
	s, err := newStore(t.Context(), loc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Put(t.Context(), testRecord(testKey(1), "//a:a"))
	if !errors.As(err, &bad) || !strings.Contains(err.Error(), "writing s3://imgraph-test/team/ci/records/"+testKey(1)+".json: AWS refused the credentials: ") {
		t.Errorf("Put with refused credentials: err = %v, want a *BadInputError naming the object", err)
	}
}
