package remote

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imgraph/imgraph/cache"
)

// Stat counts the keys recorded and the labels in the index, and the bytes
// of every object under the prefix, logs included. It reads the whole
// table and lists the whole prefix: it is for `imgraph cache stat`, not for
// builds.
func (s *Store) Stat(ctx context.Context) (cache.Stats, error) {
	st := cache.Stats{Location: s.loc.String()}
	scan := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
		TableName:                aws.String(s.loc.Table),
		ProjectionExpression:     aws.String("#key, #status"),
		ExpressionAttributeNames: names(attrKey, attrStatus),
	})
	for scan.HasMorePages() {
		page, err := scan.NextPage(ctx)
		if err != nil {
			return cache.Stats{}, s.indexError(ctx, "scanning", err)
		}
		for _, item := range page.Items {
			switch {
			case strings.HasPrefix(stringAttr(item, attrKey), labelPrefix):
				st.Labels++
			case stringAttr(item, attrStatus) == statusDone:
				st.Records++
			}
		}
	}
	list := s3.NewListObjectsV2Paginator(s.s3, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.loc.Bucket),
		Prefix: aws.String(s.loc.objectKey("")),
	})
	for list.HasMorePages() {
		page, err := list.NextPage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return cache.Stats{}, ctx.Err()
			}
			return cache.Stats{}, fmt.Errorf("cache: listing %s: %w", s.loc.s3URL(s.loc.objectKey("")), err)
		}
		for _, obj := range page.Contents {
			st.Bytes += aws.ToInt64(obj.Size)
		}
	}
	return st, nil
}
