//go:build linux

package ec2sim_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func TestImageDeprecation(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	w := newWorld(t, ec2sim.Options{Now: clk.Now})
	c := w.ec2(home)
	id, _ := w.bakeImage("api-deprecated")
	w.image(home, id) // available

	// Seconds are rounded to the nearest minute.
	must[*ec2.EnableImageDeprecationOutput](t)(c.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{
		ImageId: aws.String(id), DeprecateAt: aws.Time(clk.Now().Add(90*24*time.Hour + 40*time.Second)),
	}))
	if got := aws.ToString(w.image(home, id).DeprecationTime); got != "2027-02-28T12:01:00.000Z" {
		t.Errorf("DeprecationTime %q, want 2027-02-28T12:01:00.000Z", got)
	}
	for name, at := range map[string]time.Time{
		"in the past":       clk.Now().Add(-time.Hour),
		"over 10 years out": clk.Now().Add(11 * 365 * 24 * time.Hour),
	} {
		_, err := c.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: aws.String(id), DeprecateAt: aws.Time(at)})
		if errorCode(err) != "InvalidParameterValue" {
			t.Errorf("%s: %v, want InvalidParameterValue", name, err)
		}
	}
	_, err := c.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: aws.String(w.base), DeprecateAt: aws.Time(clk.Now().Add(time.Hour))})
	wantCode(t, err, "AuthFailure") // Amazon's image, not ours
	_, err = c.DisableImageDeprecation(ctx, &ec2.DisableImageDeprecationInput{ImageId: aws.String(w.base)})
	wantCode(t, err, "AuthFailure")
	_, err = c.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: aws.String("ami-0123456789abcdef0"), DeprecateAt: aws.Time(clk.Now().Add(time.Hour))})
	wantCode(t, err, "InvalidAMIID.NotFound")

	// Deprecated, the owner still sees its image.
	clk.Add(91 * 24 * time.Hour)
	if out := must[*ec2.DescribeImagesOutput](t)(c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})); len(out.Images) != 1 {
		t.Errorf("the owner's deprecated image is not described: %+v", out.Images)
	}
	must[*ec2.DisableImageDeprecationOutput](t)(c.DisableImageDeprecation(ctx, &ec2.DisableImageDeprecationInput{ImageId: aws.String(id)}))
	if got := w.image(home, id).DeprecationTime; got != nil {
		t.Errorf("DeprecationTime after DisableImageDeprecation: %q", *got)
	}
	if img := w.sim.State().Regions[home].Images; img[len(img)-1].DeprecationTime != nil {
		t.Errorf("state: %+v", img[len(img)-1])
	}
}

// Others' deprecated images are described only with IncludeDeprecated.
func TestDescribeImagesLeavesOutOthersDeprecatedImages(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	w := newWorld(t, ec2sim.Options{Now: clk.Now})
	old, err := w.sim.RegisterImage(home, ec2sim.BaseImage{Name: "al2023-old", Owner: "amazon", RootFS: busyboxRootfs(t),
		DeprecateAt: clk.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	c := w.ec2(home)
	ids := func(include *bool) []string {
		out := must[*ec2.DescribeImagesOutput](t)(c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}, IncludeDeprecated: include}))
		var got []string
		for _, im := range out.Images {
			got = append(got, *im.ImageId)
		}
		return got
	}
	if got := ids(nil); len(got) != 1 || got[0] != w.base {
		t.Errorf("without IncludeDeprecated: %v, want [%s]", got, w.base)
	}
	if got := ids(aws.Bool(true)); len(got) != 2 || got[1] != old {
		t.Errorf("with IncludeDeprecated: %v, want [%s %s]", got, w.base, old)
	}
	// By id, it is described.
	if im := w.image(home, old); aws.ToString(im.DeprecationTime) != "2026-11-30T11:00:00.000Z" {
		t.Errorf("the deprecated image by id: %+v", im)
	}
}

// An image made public is deprecated two years after its creation, or
// sooner if it was to be.
func TestPublicImagesAreDeprecatedWithinTwoYears(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	w := newWorld(t, ec2sim.Options{Now: clk.Now})
	c := w.ec2(home)
	id, _ := w.bakeImage("api-public")
	created := aws.ToString(w.image(home, id).CreationDate)
	must[*ec2.ModifyImageAttributeOutput](t)(c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
		ImageId: aws.String(id), LaunchPermission: &types.LaunchPermissionModifications{Add: []types.LaunchPermission{{Group: types.PermissionGroupAll}}},
	}))
	if got := aws.ToString(w.image(home, id).DeprecationTime); got != "2028-11-29T12:00:00.000Z" {
		t.Errorf("made public on %s: deprecated at %q, want two years (730 days) on", created, got)
	}
	// Past that limit, EnableImageDeprecation refuses; before it, it may
	// bring the date forward.
	_, err := c.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: aws.String(id), DeprecateAt: aws.Time(clk.Now().Add(3 * 365 * 24 * time.Hour))})
	wantCode(t, err, "InvalidParameterValue")
	must[*ec2.EnableImageDeprecationOutput](t)(c.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: aws.String(id), DeprecateAt: aws.Time(clk.Now().Add(24 * time.Hour))}))
	if got := aws.ToString(w.image(home, id).DeprecationTime); got != "2026-12-01T12:00:00.000Z" {
		t.Errorf("deprecated at %q after bringing it forward", got)
	}
}
