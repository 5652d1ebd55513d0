//go:build linux

package ec2sim_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

// Trees are copied with the simulator's lock released: requests that
// race each other must still get EC2's answers.
func TestConcurrentRequests(t *testing.T) {
	// Six launches at once: more than EC2's RunInstances bucket holds.
	w := newWorld(t, ec2sim.Options{RateLimitScale: 10})
	c := w.ec2(home)
	const n = 6
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
				ClientToken: aws.String("one-launch")})
			if err == nil {
				ids[i] = *out.Instances[0].InstanceId
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("launch %d with one ClientToken: %s, %v; want %s", i, ids[i], errs[i], ids[0])
		}
	}
	if got := len(w.sim.State().Regions[home].Instances); got != 1 {
		t.Fatalf("%d instances for one ClientToken", got)
	}
	w.instance(home, ids[0])

	created := make([]string, n)
	for i := range n {
		wg.Go(func() {
			out, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(ids[0]), Name: aws.String("same-name"), NoReboot: aws.Bool(true)})
			if err == nil {
				created[i] = *out.ImageId
			} else if errorCode(err) != "InvalidAMIName.Duplicate" {
				t.Errorf("CreateImage: %v", err)
			}
		})
		wg.Go(func() {
			if _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
				t.Errorf("DescribeInstances: %v", err)
			}
		})
	}
	wg.Wait()
	made := 0
	for _, id := range created {
		if id != "" {
			made++
		}
	}
	if made != 1 {
		t.Errorf("%d images of one name", made)
	}
	images := must[*ec2.DescribeImagesOutput](t)(c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}}))
	snaps := must[*ec2.DescribeSnapshotsOutput](t)(c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}}))
	if len(images.Images) != 1 || len(snaps.Snapshots) != 1 || images.Images[0].State != types.ImageStateAvailable {
		t.Errorf("%d images, %d snapshots after racing CreateImage calls", len(images.Images), len(snaps.Snapshots))
	}
	if trees, _ := os.ReadDir(filepath.Join(w.opts.Dir, "snapshots")); len(trees) != 1 {
		t.Errorf("%d snapshot trees on disk; the losers' copies must go", len(trees))
	}
	if trees, _ := os.ReadDir(filepath.Join(w.opts.Dir, "instances")); len(trees) != 1 {
		t.Errorf("%d instance trees on disk for one instance", len(trees))
	}
}
