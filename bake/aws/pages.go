package aws

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// pager is an SDK paginator.
type pager[O any] interface {
	HasMorePages() bool
	NextPage(ctx context.Context, optFns ...func(*ec2.Options)) (O, error)
}

// describeAll gathers the items of every page.
func describeAll[O, T any](ctx context.Context, p pager[O], items func(O) []T) ([]T, error) {
	var all []T
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, items(page)...)
	}
	return all, nil
}
