// Package bake is the contract between the build engine and a platform:
// the Baker that bakes one image, copies it between regions, applies its
// distribution (tags, sharing) and checks that images still exist.
package bake

import (
	"context"
	"fmt"
	"io"

	"github.com/imgraph/imgraph/rules"
)

// Baker bakes images for one platform. Every method undoes whatever
// temporary resource it made before it returns, on every path out,
// cancellation included.
type Baker interface {
	// Bake bakes one image in the home region and returns its id there.
	Bake(ctx context.Context, job *Job) (string, error)
	// Copy copies a baked image to another region and returns the copy's id.
	Copy(ctx context.Context, job *CopyJob) (string, error)
	// Publish applies an image's distribution in one region: its tags,
	// its launch permissions and its SSM parameter.
	Publish(ctx context.Context, job *PublishJob) error
	// Exist reports which of the given images (by region) exist and are
	// usable.
	Exist(ctx context.Context, images map[string][]string) (map[string]map[string]bool, error)
	// Resolve resolves a floating source (ami_filter, ssm_parameter) in a region.
	Resolve(ctx context.Context, region string, src *rules.Source) (Resolved, error)
}

// Resolved is what a floating source resolves to.
type Resolved struct {
	ID      string
	Name    string
	Created string
}

// Job is everything a platform needs to bake one image.
type Job struct {
	Image  *rules.Image
	Key    string
	RunID  string
	Region string // the home region, where bakes run

	// Exactly one of Parent and Source: the parent's image id in Region,
	// or the root source with SourceID (a resolved image id) or
	// SourceFile (a local root filesystem: directory or tarball).
	Parent     string
	Source     *rules.Source
	SourceID   string
	SourceFile string

	// Artifacts maps each artifact's name to a local file already fetched
	// and checked against its sha256.
	Artifacts map[string]string
	// Secret looks up a secret_env variable in imgraph's own environment.
	Secret func(name string) (string, bool)
	// Tags are every tag the image carries: imgraph:key, imgraph:label and
	// the user's.
	Tags map[string]string

	// Log receives the provisioners' output; secrets are already masked
	// by the writer.
	Log io.Writer
	// Phase reports what the bake is doing now ("launch", "provision [1] shell").
	Phase func(phase string)
}

// CopyJob copies one baked image to another region.
type CopyJob struct {
	Image *rules.Image
	Key   string
	RunID string
	ID    string // the image in From
	From  string
	To    string
	Tags  map[string]string
	Phase func(phase string)
}

// PublishJob applies an image's distribution in one region.
type PublishJob struct {
	Image  *rules.Image
	ID     string
	Region string
	Tags   map[string]string
}

// Phases every platform reports, so views and event consumers can rely on
// them; platforms add their own in between.
const (
	PhasePrepare   = "prepare"
	PhaseProvision = "provision"
	PhaseCapture   = "capture"
	PhaseCopy      = "copy"
	PhaseCleanup   = "cleanup"
)

// DescribeProvisioner names provisioner i of an image the way every
// platform's phases and errors do: provision [1] shell (//apps/api:install.sh).
func DescribeProvisioner(i int, p *rules.Provisioner) string {
	what := ""
	switch {
	case p.Script != nil:
		what = p.Script.Label.String()
	case p.Kind == rules.ProvisionShell:
		what = "inline"
	case p.Src != nil:
		what = p.Src.Label.String() + " -> " + p.Dest
	}
	return fmt.Sprintf("%s [%d] %s (%s)", PhaseProvision, i, p.Kind, what)
}
