package aws

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/rules"
)

func TestSimResolve(t *testing.T) {
	w := newSimWorld(t, Options{})
	rootfs := busyboxRootfs(t)
	newer, err := w.sim.RegisterImage(home, ec2sim.BaseImage{
		Name: "al2023-ami-2023.7.20261201.0-kernel-6.1-x86_64", Owner: "amazon", RootFS: rootfs,
		Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	arm, err := w.sim.RegisterImage(home, ec2sim.BaseImage{
		Name: "al2023-ami-2023.8.20270101.0-kernel-6.1-arm64", Owner: "amazon", Architecture: "arm64", RootFS: rootfs,
		Created: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	filter := &rules.Source{Kind: rules.SourceAMIFilter, Owners: []string{"amazon"}, NamePattern: "al2023-ami-2023.*", Architecture: "x86_64"}
	got, err := w.baker.Resolve(ctx, home, filter)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != newer || got.Name != "al2023-ami-2023.7.20261201.0-kernel-6.1-x86_64" || !strings.HasPrefix(got.Created, "2026-12-01T00:00:00") {
		t.Errorf("Resolve = %+v, want %s", got, newer)
	}
	filter.Architecture = "arm64"
	if got, err := w.baker.Resolve(ctx, home, filter); err != nil || got.ID != arm {
		t.Errorf("arm64: %+v, %v; want %s", got, err, arm)
	}

	// The source's own filters narrow it further.
	filter.Architecture = ""
	filter.Filters = map[string][]string{"image-id": {w.base}}
	if got, err := w.baker.Resolve(ctx, home, filter); err != nil || got.ID != w.base {
		t.Errorf("with filters: %+v, %v; want %s", got, err, w.base)
	}

	// No match: the error names the filter and the region.
	none := &rules.Source{Kind: rules.SourceAMIFilter, Owners: []string{"amazon"}, NamePattern: "debian-13-*"}
	_, err = w.baker.Resolve(ctx, home, none)
	if err == nil || err.Error() != `aws: ami_filter(owners = ["amazon"], name = "debian-13-*") matched no available image in us-east-1` {
		t.Errorf("no match: %v", err)
	}
	if _, err := w.baker.Resolve(ctx, away, filter); err == nil || !strings.Contains(err.Error(), "in eu-west-1") {
		t.Errorf("another region: %v", err)
	}

	// ssm_parameter: the image a parameter names, as publish_ssm wrote it.
	run := newRunID()
	job, id := w.bakeOne(t, run)
	job.Image.PublishSSM = "/imgraph/t/latest"
	if err := w.baker.Publish(ctx, publishJob(job, id, home)); err != nil {
		t.Fatal(err)
	}
	param := &rules.Source{Kind: rules.SourceSSM, Parameter: "/imgraph/t/latest"}
	got, err = w.baker.Resolve(ctx, home, param)
	if err != nil || got.ID != id || !strings.HasPrefix(got.Name, "imgraph-t-dist-") || got.Created == "" {
		t.Errorf("ssm_parameter: %+v, %v; want %s", got, err, id)
	}
	_, err = w.baker.Resolve(ctx, home, &rules.Source{Kind: rules.SourceSSM, Parameter: "/nope"})
	if err == nil || !strings.Contains(err.Error(), `ssm_parameter("/nope"): no such parameter in us-east-1`) {
		t.Errorf("missing parameter: %v", err)
	}
}
