package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imgraph/imgraph/cache"
)

// Put writes the record to S3, then marks its key done in the index and
// makes it the label's latest, so the index never lists a record that is
// not there yet. A zero Created is set to now in the stored copy; rec
// itself is not changed.
func (s *Store) Put(ctx context.Context, rec *cache.Record) error {
	if err := cache.CheckPut(rec); err != nil {
		return err
	}
	now := s.now()
	stored := *rec
	if stored.Created.IsZero() {
		stored.Created = now.UTC()
	}
	data, err := json.Marshal(&stored)
	if err != nil {
		return fmt.Errorf("cache: encoding record %s: %w", rec.Key, err)
	}
	location := s.loc.recordKey(rec.Key)
	_, err = s.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(s.loc.Bucket),
		Key:         aws.String(location),
		Body:        bytes.NewReader(append(data, '\n')),
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return s.objectError(ctx, "writing", location, err)
	}

	images := make(map[string]ddbtypes.AttributeValue, len(stored.Images))
	for region, id := range stored.Images {
		images[region] = str(id)
	}
	owner := stored.RunID
	if owner == "" {
		owner = s.runID
	}
	values := map[string]ddbtypes.AttributeValue{
		":done":     str(statusDone),
		":location": str(location),
		":label":    str(stored.Label),
		":images":   &ddbtypes.AttributeValueMemberM{Value: images},
		":owner":    str(owner),
		":now":      num(ms(now)),
	}
	// The item carries the record's summary, so a look-up that finds the
	// key baked never reads S3; one too large for an item is read there.
	update := "SET #status = :done, #location = :location, #label = :label, #images = :images, #owner = :owner, #updated = :now"
	summary, err := json.Marshal(stored.Summary())
	if err != nil {
		return fmt.Errorf("cache: encoding record %s: %w", rec.Key, err)
	}
	if len(summary) <= maxSummaryBytes {
		update += ", #record = :record REMOVE #expires"
		values[":record"] = str(string(summary))
	} else {
		update += " REMOVE #expires, #record"
	}
	// The lease ends with the bake: expires goes, and a renewal still in
	// flight fails its condition on status.
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.loc.Table),
		Key:                       keyOf(rec.Key),
		UpdateExpression:          aws.String(update),
		ExpressionAttributeNames:  names(attrStatus, attrLocation, attrLabel, attrImages, attrOwner, attrUpdated, attrExpires, attrRecord),
		ExpressionAttributeValues: values,
	})
	if err != nil {
		return s.indexError(ctx, "recording "+rec.Key+" in", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.loc.Table),
		Item: map[string]ddbtypes.AttributeValue{
			attrKey:     str(labelPrefix + stored.Label),
			attrLatest:  str(stored.Key),
			attrUpdated: num(ms(now)),
		},
	})
	if err != nil {
		return s.indexError(ctx, "recording label "+stored.Label+" in", err)
	}
	return nil
}

// PutLog keeps a bake's log beside its record, as logs/<key>.log. A log
// that can't be sought is read into memory first, as S3 wants its length.
func (s *Store) PutLog(ctx context.Context, key string, r io.Reader) error {
	if err := cache.CheckKey(key); err != nil {
		return err
	}
	body, ok := r.(io.ReadSeeker)
	if !ok {
		data, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("cache: reading the log of %s: %w", key, err)
		}
		body = bytes.NewReader(data)
	}
	location := s.loc.logKey(key)
	_, err := s.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(s.loc.Bucket),
		Key:         aws.String(location),
		Body:        body,
		ContentType: aws.String("text/plain; charset=utf-8"),
	})
	if err != nil {
		return s.objectError(ctx, "writing", location, err)
	}
	return nil
}

// Log opens the bake log of key, or returns nil, nil if there is none.
func (s *Store) Log(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := cache.CheckKey(key); err != nil {
		return nil, err
	}
	location := s.loc.logKey(key)
	out, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.loc.Bucket), Key: aws.String(location)})
	if isObjectMissing(err) {
		return nil, nil
	}
	if err != nil {
		return nil, s.objectError(ctx, "reading", location, err)
	}
	return out.Body, nil
}

func (s *Store) objectError(ctx context.Context, doing, location string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	what := doing + " " + s.loc.s3URL(location)
	if bad := denied(what, err); bad != nil {
		return bad
	}
	return fmt.Errorf("cache: %s: %w", what, err)
}
