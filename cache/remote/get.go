package remote

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/imgraph/imgraph/cache"
)

const (
	// batchSize is the most keys BatchGetItem takes in one call.
	batchSize = 100
	// batchParallelism bounds the BatchGetItem calls in flight: 1,000 keys
	// are ten calls, in three rounds.
	batchParallelism = 4
	// batchAttempts bounds the calls for one batch while DynamoDB leaves
	// keys unprocessed (it does so when throttled).
	batchAttempts = 8
	// readParallelism bounds the S3 reads in flight.
	readParallelism = 32
	// maxRecordBytes is far beyond any record; a larger object is not one.
	maxRecordBytes = 4 << 20
	// maxSummaryBytes bounds the summary an index item carries, well
	// inside DynamoDB's 400 KB item.
	maxSummaryBytes = 32 << 10
)

// indexEntry is what Get needs of a key's item.
type indexEntry struct {
	status   string
	location string
	summary  string // the record's Summary, as JSON; empty if the item has none
}

// Get looks keys up in the index, in batches. A key done is answered by
// the summary its item carries, or else (an item written before items
// carried summaries, or one whose summary does not decode) by its record
// in S3, which is checked. A record the index lists but S3 lacks, one S3
// holds but the index does not list, or a corrupt one is a miss with a
// warning.
func (s *Store) Get(ctx context.Context, keys []string) (map[string]*cache.Record, error) {
	unique := make([]string, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, key := range keys {
		if err := cache.CheckKey(key); err != nil {
			return nil, err
		}
		if !seen[key] {
			seen[key] = true
			unique = append(unique, key)
		}
	}
	index, err := s.lookup(ctx, unique)
	if err != nil {
		return nil, err
	}
	found := make([]*cache.Record, len(unique))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readParallelism)
	for i, key := range unique {
		entry, listed := index[key]
		switch {
		case !listed:
			g.Go(func() error {
				s.warnUnlisted(gctx, key)
				return nil
			})
		case entry.status == statusDone:
			if entry.summary != "" {
				if rec, err := cache.DecodeRecord([]byte(entry.summary), key); err == nil {
					found[i] = rec
					break
				}
			}
			g.Go(func() error {
				rec, err := s.readRecord(gctx, key, entry.location)
				found[i] = rec
				return err
			})
		}
		// A key still baking is a miss: its record is not written yet.
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	records := make(map[string]*cache.Record, len(unique))
	for i, rec := range found {
		if rec != nil {
			records[unique[i]] = rec
		}
	}
	return records, nil
}

// lookup reads the index items of keys, batchSize keys a call and
// batchParallelism calls at once.
func (s *Store) lookup(ctx context.Context, keys []string) (map[string]indexEntry, error) {
	index := make(map[string]indexEntry, len(keys))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(batchParallelism)
	for start := 0; start < len(keys); start += batchSize {
		batch := keys[start:min(start+batchSize, len(keys))]
		g.Go(func() error {
			items, err := s.batchGet(gctx, batch)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, item := range items {
				index[stringAttr(item, attrKey)] = indexEntry{
					status:   stringAttr(item, attrStatus),
					location: stringAttr(item, attrLocation),
					summary:  stringAttr(item, attrRecord),
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return index, nil
}

// batchGet is one BatchGetItem, called again for the keys DynamoDB leaves
// unprocessed, with backoff. Reads are consistent: a Get right after a
// Lock that saw a key done must see its record.
func (s *Store) batchGet(ctx context.Context, keys []string) ([]map[string]ddbtypes.AttributeValue, error) {
	request := ddbtypes.KeysAndAttributes{
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#key, #status, #location, #record"),
		ExpressionAttributeNames: names(attrKey, attrStatus, attrLocation, attrRecord),
	}
	for _, key := range keys {
		request.Keys = append(request.Keys, keyOf(key))
	}
	pending := map[string]ddbtypes.KeysAndAttributes{s.loc.Table: request}
	var items []map[string]ddbtypes.AttributeValue
	for attempt := 0; ; attempt++ {
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
		if err != nil {
			return nil, s.indexError(ctx, "reading", err)
		}
		items = append(items, out.Responses[s.loc.Table]...)
		left, ok := out.UnprocessedKeys[s.loc.Table]
		if !ok || len(left.Keys) == 0 {
			return items, nil
		}
		if attempt+1 == batchAttempts {
			return nil, fmt.Errorf("cache: DynamoDB left %d of %d keys unprocessed after %d calls; the table %q is being throttled",
				len(left.Keys), len(keys), batchAttempts, s.loc.Table)
		}
		pending = map[string]ddbtypes.KeysAndAttributes{s.loc.Table: left}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return nil, err
		}
	}
}

// backoff is the wait before the attempt after attempt: exponential from
// 50ms to 3.2s, with full jitter so runners throttled together spread out.
func backoff(attempt int) time.Duration {
	d := 50 * time.Millisecond << min(attempt, 6)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// indexError describes a failed call on the table.
func (s *Store) indexError(ctx context.Context, doing string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	what := fmt.Sprintf("%s the DynamoDB table %q", doing, s.loc.Table)
	switch {
	case isTableMissing(err):
		return &BadInputError{
			Msg:  fmt.Sprintf("the DynamoDB table %q no longer exists (region %s)", s.loc.Table, s.region),
			Hint: fmt.Sprintf("create it again with `imgraph cache init --cache %s`; images baked before are found again by their tags", s.loc),
		}
	}
	if bad := denied(what, err); bad != nil {
		return bad
	}
	return fmt.Errorf("cache: %s: %w", what, err)
}

// readRecord reads and checks key's record at location. It returns nil
// with a warning for a record that is missing or corrupt, and an error
// only when S3 cannot be read at all.
func (s *Store) readRecord(ctx context.Context, key, location string) (*cache.Record, error) {
	if location == "" {
		location = s.loc.recordKey(key)
	}
	where := s.loc.s3URL(location)
	out, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.loc.Bucket), Key: aws.String(location)})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if isObjectMissing(err) {
			s.warnf("cache: ignoring key %s: the DynamoDB table %q lists its record %s, which is missing from S3", key, s.loc.Table, where)
			return nil, nil
		}
		if bad := denied("reading "+where, err); bad != nil {
			return nil, bad
		}
		return nil, fmt.Errorf("cache: reading %s: %w", where, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxRecordBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cache: reading %s: %w", where, err)
	}
	if len(data) > maxRecordBytes {
		s.warnf("cache: ignoring corrupt record %s: larger than %d bytes", where, maxRecordBytes)
		return nil, nil
	}
	rec, err := cache.DecodeRecord(data, key)
	if err != nil {
		s.warnf("cache: ignoring corrupt record %s: %v", where, err)
		return nil, nil
	}
	return rec, nil
}

// warnUnlisted warns about a record that S3 holds but the index does not
// list, such as one whose item was lost with the table. It is a miss all
// the same: only the index says a bake finished. Errors are ignored, as
// the warning is all that hangs on this.
func (s *Store) warnUnlisted(ctx context.Context, key string) {
	location := s.loc.recordKey(key)
	if _, err := s.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.loc.Bucket), Key: aws.String(location)}); err == nil {
		s.warnf("cache: ignoring record %s: the DynamoDB table %q does not list key %s", s.loc.s3URL(location), s.loc.Table, key)
	}
}

// Latest follows the label's index item to the record it names.
func (s *Store) Latest(ctx context.Context, label string) (*cache.Record, error) {
	if label == "" {
		return nil, fmt.Errorf("cache: latest of an empty label")
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.loc.Table),
		Key:                      keyOf(labelPrefix + label),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#latest"),
		ExpressionAttributeNames: names(attrLatest),
	})
	if err != nil {
		return nil, s.indexError(ctx, "reading", err)
	}
	if out.Item == nil {
		return nil, nil
	}
	key := stringAttr(out.Item, attrLatest)
	if err := cache.CheckKey(key); err != nil {
		s.warnf("cache: ignoring the DynamoDB table %q's item for label %s: %v", s.loc.Table, label, err)
		return nil, nil
	}
	// The whole record, from S3: what the label's last bake was made of
	// is what Latest is asked for.
	index, err := s.lookup(ctx, []string{key})
	if err != nil {
		return nil, err
	}
	var rec *cache.Record
	if entry, ok := index[key]; ok && entry.status == statusDone {
		if rec, err = s.readRecord(ctx, key, entry.location); err != nil {
			return nil, err
		}
	}
	if rec == nil {
		s.warnf("cache: label %s names key %s, which has no record", label, key)
	}
	return rec, nil
}
