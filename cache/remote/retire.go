package remote

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imgraph/imgraph/cache"
)

// Held reports whether a run holds key's lease: its item is not done
// and its lease has not expired.
func (s *Store) Held(ctx context.Context, key string) (bool, error) {
	if err := cache.CheckKey(key); err != nil {
		return false, err
	}
	item, err := s.leaseItem(ctx, key)
	if err != nil || item == nil {
		return false, err
	}
	if stringAttr(item, attrStatus) == statusDone {
		return false, nil
	}
	expires := numberAttr(item, attrExpires)
	return expires > 0 && s.now().UnixMilli() < expires, nil
}

// Remove forgets key's record, once `imgraph gc` has removed every image
// it names: its index item goes only while it is done (never under a
// run's lease), then its label's pointer if it names key, then the
// record in S3. The build log stays. A key with no item is no error.
func (s *Store) Remove(ctx context.Context, key string) error {
	if err := cache.CheckKey(key); err != nil {
		return err
	}
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.loc.Table),
		Key:                       keyOf(key),
		ConditionExpression:       aws.String("#status = :done"),
		ExpressionAttributeNames:  names(attrStatus),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":done": str(statusDone)},
		ReturnValues:              ddbtypes.ReturnValueAllOld,
	})
	if isConditionFailed(err) {
		item, gerr := s.leaseItem(ctx, key)
		if gerr != nil {
			return gerr
		}
		if item == nil {
			return nil
		}
		return fmt.Errorf("cache: the record of %s is kept: a run holds its lease", key)
	}
	if err != nil {
		return s.indexError(ctx, "forgetting "+key+" in", err)
	}
	if label := stringAttr(out.Attributes, attrLabel); label != "" {
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 aws.String(s.loc.Table),
			Key:                       keyOf(labelPrefix + label),
			ConditionExpression:       aws.String("#latest = :key"),
			ExpressionAttributeNames:  names(attrLatest),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":key": str(key)},
		})
		if err != nil && !isConditionFailed(err) {
			return s.indexError(ctx, "forgetting label "+label+" in", err)
		}
	}
	location := stringAttr(out.Attributes, attrLocation)
	if location == "" {
		location = s.loc.recordKey(key)
	}
	if _, err := s.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.loc.Bucket), Key: aws.String(location)}); err != nil {
		return s.objectError(ctx, "removing", location, err)
	}
	return nil
}
