// Package remote is the cache a team shares: records and bake logs in S3,
// an index and leases in DynamoDB, so CI runners that want the same key
// bake it once (docs/architecture.md, "Caches").
//
// S3, under the URL's prefix:
//
//	records/<key>.json   the cache.Record of one baked key
//	logs/<key>.log       the log of the bake that made it
//
// DynamoDB, one item per key and one per label, partition key "key" (a string):
//
//	key       the image key (64 hex digits)
//	status    "baking" while a run holds the lease, "done" once recorded
//	location  the record's S3 key (when done)
//	label     the label that was baked to this key (when done)
//	images    region -> image id, copied from the record (when done)
//	owner     the run id that holds the lease, or that recorded the key
//	expires   when the lease ends unless renewed, in ms since the epoch (while baking)
//	updated   when the item was last written, in ms since the epoch
//
//	key       "label#//pkg:name"
//	latest    the key last recorded for the label
//	updated   when, in ms since the epoch
//
// S3 holds the truth and DynamoDB the index: a key is cached only when
// its item is done and its record in S3 reads back with the same key.
package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/internal/awsconfig"
)

// The DynamoDB item's attributes. Most are reserved words in DynamoDB's
// expression language, so expressions always name them through #names.
const (
	attrKey      = "key"
	attrStatus   = "status"
	attrLocation = "location"
	attrLabel    = "label"
	attrImages   = "images"
	attrOwner    = "owner"
	attrExpires  = "expires"
	attrUpdated  = "updated"
	attrLatest   = "latest"
	attrRecord   = "record"

	statusBaking = "baking"
	statusDone   = "done"

	labelPrefix = "label#"
)

// permissionsHint is what an AWS policy for imgraph must allow.
const permissionsHint = "imgraph needs s3:ListBucket on the bucket, s3:GetObject and s3:PutObject on its prefix, " +
	"and dynamodb:DescribeTable, GetItem, BatchGetItem, PutItem, UpdateItem, DeleteItem and Scan on the table"

// Options are how a Store reaches AWS and reports.
type Options struct {
	// RunID owns the leases the store takes; "" makes up one.
	RunID string
	// Profile is the shared configuration profile (--aws-profile); ""
	// follows AWS_PROFILE and the SDK's defaults.
	Profile string
	// Warn receives warnings, such as a corrupt record being ignored; nil
	// drops them.
	Warn func(format string, args ...any)
	// AWS is the configuration the clients are made from; nil loads the
	// default one (environment, shared files, instance role). Endpoints
	// come from it too (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_DYNAMODB).
	AWS *aws.Config
	// S3 and DynamoDB, when both are set, are used as they are, and AWS is
	// not consulted.
	S3       *s3.Client
	DynamoDB *dynamodb.Client
	// Now is the lease clock; nil is time.Now.
	Now func() time.Time
}

// Store is a remote cache: a cache.Store and a cache.Locker whose locks
// are leases every imgraph process sharing the table honours.
type Store struct {
	loc    *Location
	region string
	s3     *s3.Client
	db     *dynamodb.Client
	runID  string
	now    func() time.Time
	warn   func(format string, args ...any)

	warnMu sync.Mutex
	warned map[string]bool // warnings already given, so a bad record is reported once

	mu   sync.Mutex
	held map[string]*hold // keys this store has locked, by key

	// lockWaiting and leaseRenewed, when set (by tests), are called when
	// Lock finds key leased by another run and is about to wait for it, and
	// each time the lease on key is renewed.
	lockWaiting  func(key string)
	leaseRenewed func(key string)
}

var (
	_ cache.Store  = (*Store)(nil)
	_ cache.Locker = (*Store)(nil)
)

// Open opens the cache at loc, checking that its bucket and table exist
// and that the table has the key imgraph needs. What the user must fix is
// a *BadInputError.
func Open(ctx context.Context, loc *Location, opts Options) (*Store, error) {
	s, err := newStore(ctx, loc, opts)
	if err != nil {
		return nil, err
	}
	if err := s.checkBucket(ctx); err != nil {
		return nil, err
	}
	if err := s.checkTable(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func newStore(ctx context.Context, loc *Location, opts Options) (*Store, error) {
	if loc == nil {
		return nil, errors.New("cache: no remote cache location")
	}
	if loc.Lease == 0 {
		l := *loc
		l.Lease = DefaultLease
		loc = &l
	}
	s3c, db, region, err := clients(ctx, loc, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{
		loc: loc, region: region, s3: s3c, db: db,
		runID: opts.RunID, now: opts.Now, warn: opts.Warn,
		warned: make(map[string]bool), held: make(map[string]*hold),
	}
	if s.runID == "" {
		var b [8]byte
		rand.Read(b[:])
		s.runID = "run-" + hex.EncodeToString(b[:])
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.warn == nil {
		s.warn = func(string, ...any) {}
	}
	return s, nil
}

// LoadConfig loads the AWS configuration (of profile, or the default one)
// for loc: its region if the URL names one, an HTTP client that keeps enough connections open for
// Get's parallel reads, and the SDK's warnings passed to warn.
func LoadConfig(ctx context.Context, loc *Location, profile string, warn func(format string, args ...any)) (aws.Config, error) {
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConnsPerHost = 2 * readParallelism
	})
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Profile: profile, Region: loc.Region, HTTPClient: httpClient, Warn: warn})
	if err != nil {
		return aws.Config{}, &BadInputError{
			Msg:  fmt.Sprintf("loading the AWS configuration: %v", err),
			Hint: "check AWS_PROFILE and the files ~/.aws/config and ~/.aws/credentials",
		}
	}
	return cfg, nil
}

// clients makes the S3 and DynamoDB clients, in loc's region.
func clients(ctx context.Context, loc *Location, opts Options) (*s3.Client, *dynamodb.Client, string, error) {
	if opts.S3 != nil && opts.DynamoDB != nil {
		return opts.S3, opts.DynamoDB, opts.DynamoDB.Options().Region, nil
	}
	var cfg aws.Config
	if opts.AWS != nil {
		cfg = opts.AWS.Copy()
	} else {
		var err error
		if cfg, err = LoadConfig(ctx, loc, opts.Profile, opts.Warn); err != nil {
			return nil, nil, "", err
		}
	}
	if loc.Region != "" {
		cfg.Region = loc.Region
	}
	if cfg.Region == "" {
		return nil, nil, "", &BadInputError{
			Msg:  fmt.Sprintf("no AWS region for the cache %s", loc),
			Hint: "add region=REGION to the cache URL, or set AWS_REGION",
		}
	}
	if cfg.Credentials == nil {
		return nil, nil, "", noCredentials(loc, errors.New("no credentials provider"))
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, nil, "", ctx.Err()
		}
		return nil, nil, "", noCredentials(loc, err)
	}
	s3c := awsconfig.S3(cfg)
	db := dynamodb.NewFromConfig(cfg)
	if opts.S3 != nil {
		s3c = opts.S3
	}
	if opts.DynamoDB != nil {
		db = opts.DynamoDB
	}
	return s3c, db, cfg.Region, nil
}

func noCredentials(loc *Location, err error) error {
	return &BadInputError{
		Msg:  fmt.Sprintf("no AWS credentials for the cache %s: %v", loc, err),
		Hint: "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance or task role applies",
	}
}

// Location is where the store is.
func (s *Store) Location() *Location { return s.loc }

// RunID is the owner of the leases the store takes.
func (s *Store) RunID() string { return s.runID }

func (s *Store) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.warnMu.Lock()
	defer s.warnMu.Unlock()
	if s.warned[msg] {
		return
	}
	s.warned[msg] = true
	s.warn("%s", msg)
}

// checkBucket says what is wrong with the bucket, if anything.
func (s *Store) checkBucket(ctx context.Context) error {
	_, err := s.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.loc.Bucket)})
	if err == nil {
		return nil
	}
	return s.bucketError(ctx, err)
}

func (s *Store) bucketError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var re *awshttp.ResponseError
	switch {
	case isObjectMissing(err) || errorCode(err) == "NoSuchBucket":
		return &BadInputError{
			Msg:     fmt.Sprintf("the S3 bucket %q does not exist (region %s)", s.loc.Bucket, s.region),
			Hint:    fmt.Sprintf("create it and the table with `imgraph cache init --cache %s`", s.loc),
			missing: true,
		}
	case errors.As(err, &re) && re.HTTPStatusCode() == http.StatusMovedPermanently:
		where := re.Response.Header.Get("X-Amz-Bucket-Region")
		if where == "" {
			return &BadInputError{
				Msg:  fmt.Sprintf("the S3 bucket %q is not in region %s", s.loc.Bucket, s.region),
				Hint: "add region=REGION to the cache URL, with the bucket's region",
			}
		}
		return &BadInputError{
			Msg:  fmt.Sprintf("the S3 bucket %q is in region %s, not %s", s.loc.Bucket, where, s.region),
			Hint: fmt.Sprintf("add region=%s to the cache URL", where),
		}
	case isRefusedCredentials(err):
		return &BadInputError{Msg: fmt.Sprintf("AWS refused the credentials: %v", err), Hint: credentialsHint}
	case isAccessDenied(err):
		return &BadInputError{
			Msg:  fmt.Sprintf("access to the S3 bucket %q is denied (s3:ListBucket, for HeadBucket)", s.loc.Bucket),
			Hint: permissionsHint,
		}
	}
	return fmt.Errorf("cache: checking the S3 bucket %q: %w", s.loc.Bucket, err)
}

// checkTable says what is wrong with the table, if anything, and waits
// for a table that is still being created.
func (s *Store) checkTable(ctx context.Context) error {
	out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.loc.Table)})
	if err != nil {
		return s.tableError(ctx, err)
	}
	if why := keySchemaProblem(out.Table); why != "" {
		return &BadInputError{
			Msg: fmt.Sprintf("the DynamoDB table %q is not an imgraph cache table: %s", s.loc.Table, why),
			Hint: fmt.Sprintf("imgraph needs a table whose only key is the partition key %q (a string); name another table "+
				"in the cache URL and create it with `imgraph cache init --cache s3://%s?table=NEW-NAME`", attrKey, s.loc.Bucket),
		}
	}
	if out.Table.TableStatus == ddbtypes.TableStatusCreating {
		return s.waitForTable(ctx)
	}
	return nil
}

func (s *Store) tableError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch {
	case isTableMissing(err):
		return &BadInputError{
			Msg:     fmt.Sprintf("the DynamoDB table %q does not exist (region %s)", s.loc.Table, s.region),
			Hint:    fmt.Sprintf("create it with `imgraph cache init --cache %s`", s.loc),
			missing: true,
		}
	case isRefusedCredentials(err):
		return &BadInputError{Msg: fmt.Sprintf("AWS refused the credentials: %v", err), Hint: credentialsHint}
	case isAccessDenied(err):
		return &BadInputError{
			Msg:  fmt.Sprintf("access to the DynamoDB table %q is denied (dynamodb:DescribeTable)", s.loc.Table),
			Hint: permissionsHint,
		}
	}
	return fmt.Errorf("cache: checking the DynamoDB table %q: %w", s.loc.Table, err)
}

func (s *Store) waitForTable(ctx context.Context) error {
	w := dynamodb.NewTableExistsWaiter(s.db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 2*time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.loc.Table)}, 5*time.Minute); err != nil {
		return fmt.Errorf("cache: waiting for the DynamoDB table %q to be created: %w", s.loc.Table, err)
	}
	return nil
}

// keySchemaProblem says how the table's key differs from imgraph's, or "".
func keySchemaProblem(t *ddbtypes.TableDescription) string {
	if t == nil {
		return "DynamoDB described no table"
	}
	var keys []string
	for _, k := range t.KeySchema {
		keys = append(keys, fmt.Sprintf("%s (%s)", aws.ToString(k.AttributeName), strings.ToLower(string(k.KeyType))))
	}
	if len(t.KeySchema) != 1 || aws.ToString(t.KeySchema[0].AttributeName) != attrKey || t.KeySchema[0].KeyType != ddbtypes.KeyTypeHash {
		return "its key is " + strings.Join(keys, ", ")
	}
	for _, a := range t.AttributeDefinitions {
		if aws.ToString(a.AttributeName) == attrKey && a.AttributeType != ddbtypes.ScalarAttributeTypeS {
			return fmt.Sprintf("its key %q is of type %s, not a string", attrKey, a.AttributeType)
		}
	}
	return ""
}

// ms is t in milliseconds since the epoch, as items store times.
func ms(t time.Time) string { return fmt.Sprint(t.UnixMilli()) }

func names(attrs ...string) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m["#"+a] = a
	}
	return m
}

func keyOf(key string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{attrKey: &ddbtypes.AttributeValueMemberS{Value: key}}
}

func str(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
func num(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberN{Value: v} }

// stringAttr and numberAttr read an item's attribute, "" or 0 if absent
// or of another type.
func stringAttr(item map[string]ddbtypes.AttributeValue, name string) string {
	if v, ok := item[name].(*ddbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func numberAttr(item map[string]ddbtypes.AttributeValue, name string) int64 {
	v, ok := item[name].(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return 0
	}
	var n int64
	fmt.Sscan(v.Value, &n)
	return n
}
