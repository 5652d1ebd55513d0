package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Init creates the bucket and the table at loc if they are missing: the
// table with on-demand billing and the partition key "key" (a string).
// It returns what it created, for `imgraph cache init` to say; nothing on
// a second run. An existing table with another key is a *BadInputError.
func Init(ctx context.Context, loc *Location, opts Options) (created []string, err error) {
	s, err := newStore(ctx, loc, opts)
	if err != nil {
		return nil, err
	}
	made, err := s.createBucket(ctx)
	if err != nil {
		return nil, err
	}
	if made {
		created = append(created, fmt.Sprintf("S3 bucket %s (region %s)", s.loc.Bucket, s.region))
	}
	made, err = s.createTable(ctx)
	if err != nil {
		return created, err
	}
	if made {
		created = append(created, fmt.Sprintf("DynamoDB table %s (region %s, on-demand billing, partition key %q)", s.loc.Table, s.region, attrKey))
	}
	return created, nil
}

func (s *Store) createBucket(ctx context.Context) (bool, error) {
	if err := s.checkBucket(ctx); err == nil || !missing(err) {
		return false, err
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(s.loc.Bucket)}
	// us-east-1 is S3's default and the one region it refuses to be told.
	if s.region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(s.region)}
	}
	_, err := s.s3.CreateBucket(ctx, in)
	var owned *s3types.BucketAlreadyOwnedByYou
	var taken *s3types.BucketAlreadyExists
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &owned) || errorCode(err) == "BucketAlreadyOwnedByYou":
		return false, nil // made by someone else running init at the same time
	case errors.As(err, &taken) || errorCode(err) == "BucketAlreadyExists":
		return false, &BadInputError{
			Msg:  fmt.Sprintf("the S3 bucket name %q is taken by another AWS account", s.loc.Bucket),
			Hint: "bucket names are global: choose another in the cache URL",
		}
	case isAccessDenied(err):
		return false, &BadInputError{
			Msg:  fmt.Sprintf("creating the S3 bucket %q: access denied (s3:CreateBucket)", s.loc.Bucket),
			Hint: "ask for s3:CreateBucket, or have the bucket created for you",
		}
	}
	return false, s.bucketError(ctx, err)
}

func (s *Store) createTable(ctx context.Context) (bool, error) {
	// A table being deleted (say, just now, to start over) still answers
	// DescribeTable: wait until it is gone, then create it again.
	in := &dynamodb.DescribeTableInput{TableName: aws.String(s.loc.Table)}
	if out, err := s.db.DescribeTable(ctx, in); err == nil && out.Table != nil && out.Table.TableStatus == ddbtypes.TableStatusDeleting {
		gone := dynamodb.NewTableNotExistsWaiter(s.db, func(o *dynamodb.TableNotExistsWaiterOptions) {
			o.MinDelay, o.MaxDelay = 100*time.Millisecond, 5*time.Second
		})
		if err := gone.Wait(ctx, in, 10*time.Minute); err != nil {
			return false, fmt.Errorf("waiting for the DynamoDB table %q to finish being deleted: %w", s.loc.Table, err)
		}
	}
	if err := s.checkTable(ctx); err == nil || !missing(err) {
		return false, err
	}
	_, err := s.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(s.loc.Table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(attrKey), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(attrKey), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	var inUse *ddbtypes.ResourceInUseException
	switch {
	case err == nil:
	case errors.As(err, &inUse):
		// Being created by someone else running init at the same time.
		return false, s.checkTable(ctx)
	case isAccessDenied(err):
		return false, &BadInputError{
			Msg:  fmt.Sprintf("creating the DynamoDB table %q: access denied (dynamodb:CreateTable)", s.loc.Table),
			Hint: "ask for dynamodb:CreateTable, or have the table created for you",
		}
	default:
		return false, s.tableError(ctx, err)
	}
	if err := s.waitForTable(ctx); err != nil {
		return true, err
	}
	return true, nil
}

// missing reports whether err is checkBucket's or checkTable's word that
// the bucket or table does not exist.
func missing(err error) bool {
	var bad *BadInputError
	return errors.As(err, &bad) && bad.missing
}
