// Package bake is the whole contract between the build engine and a
// platform: what a platform is (its name, its inputs of an image's key,
// the distribution it applies), the Baker that bakes, copies, publishes,
// checks and finds its images, the jobs it is given, and the tags every
// platform writes. The engine asks a platform through this package and
// never names one; docs/architecture.md says how to add a platform.
package bake

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/imgraph/imgraph/rules"
)

// Platform is what a platform is, apart from any account or machine it
// bakes on: what plan and explain need, even where the platform cannot be
// reached.
type Platform interface {
	// Name is the platform's name, as workspace(platform = ...),
	// --platform and select() spell it.
	Name() string
	// Accepts reports whether the platform bakes a root image from src.
	Accepts(src *rules.Source) bool
	// CheckImageID says what is wrong with id as the id of one of the
	// platform's images (a lock entry's, say), or nil.
	CheckImageID(id string) error
	// KeyParts are the platform's own inputs of an image's key: the
	// attributes that decide how the image is baked, and so its content.
	// The engine files them under the platform's name; nil adds nothing.
	KeyParts(im *rules.Image) []KeyPart
	// Distribution is the part of d this platform applies; what it does
	// not honour is left zero. One graph serves several platforms, so an
	// image may declare attributes that mean nothing here.
	Distribution(d Distribution) Distribution
}

// Baker bakes images for one platform. Every method undoes whatever
// temporary resource it made before it returns, on every path out,
// cancellation included.
type Baker interface {
	Platform
	// Bake bakes one image in the home region and returns its id there.
	// When the image has tests, they run on a fresh instance of the new
	// image first, and an image whose tests fail is removed: Bake returns
	// an image only once its tests pass (a *TestFailure otherwise).
	Bake(ctx context.Context, job *Job) (string, error)
	// Test runs an image's tests on a fresh instance of one of its baked
	// images, and removes that instance whatever the outcome; the image
	// itself is left as it is. Tests that fail are a *TestFailure.
	Test(ctx context.Context, job *TestJob) error
	// Copy copies a baked image to another region and returns the copy's id.
	Copy(ctx context.Context, job *CopyJob) (string, error)
	// Publish applies an image's distribution in one region: its tags,
	// its launch permissions and its SSM parameter.
	Publish(ctx context.Context, job *PublishJob) error
	// Exist reports which of images exist, are usable, and are images of
	// the key each is given with (a cache record may name another key's,
	// if it was damaged).
	Exist(ctx context.Context, images []ImageRef) (map[ImageRef]bool, error)
	// Find returns, for each of keys that some image was tagged with in
	// one of regions, its id there: key -> region -> image id. It is how
	// losing the cache never forces a rebake.
	Find(ctx context.Context, regions []string, keys []string) (map[string]map[string]string, error)
	// Resolve resolves a floating source (ami_filter, ssm_parameter) in a region.
	Resolve(ctx context.Context, region string, src *rules.Source) (Resolved, error)
}

// ImageRef is an image a cache record gives for a key in a region.
type ImageRef struct {
	Key, Region, ID string
}

// Resolved is what a floating source resolves to.
type Resolved struct {
	ID      string
	Name    string
	Created string
}

// Job is everything a platform needs to bake one image.
type Job struct {
	Image    *rules.Image
	Key      string
	Platform string // the platform the job was planned for
	RunID    string
	Region   string // the home region, where bakes run

	// Exactly one of Parent, SourceID and SourceFile: the parent's image
	// id in Region; the resolved id of a root image's source; or a local
	// root filesystem (directory or tarball). Source is the root image's
	// source as declared, for messages.
	Parent     string
	SourceID   string
	SourceFile string
	Source     *rules.Source

	// Artifacts maps each artifact's name to a local file already fetched
	// and checked against its sha256; the platform places it at
	// ArtifactPath(name).
	Artifacts map[string]string
	// Env is each provisioner's environment on top of the image's own,
	// indexed like Image.Provision (see Environment): the engine resolves
	// it, secrets included, once.
	Env []map[string]string
	// TestEnv is each test's environment, indexed like Image.Tests (see
	// TestEnvironment).
	TestEnv []map[string]string
	// Tags are every tag the image carries (see ImageTags).
	Tags map[string]string

	// Log receives the provisioners' output; secrets are already masked
	// by the writer.
	Log io.Writer
	// Phase reports what the bake is doing now ("launch", "provision [1] shell").
	Phase func(phase string)
}

// TestJob runs the tests of one baked image.
type TestJob struct {
	Image  *rules.Image
	Key    string
	RunID  string
	Region string
	ID     string              // the image tested, in Region
	Env    []map[string]string // each test's environment (see TestEnvironment)
	Log    io.Writer           // as Job.Log
	Phase  func(phase string)
}

// CopyJob copies one baked image to another region.
type CopyJob struct {
	Image *rules.Image
	Key   string
	RunID string
	ID    string // the image in From
	From  string
	To    string
	Tags  map[string]string // every tag the copy carries (see ImageTags)
	Phase func(phase string)
}

// PublishJob applies an image's distribution in one region.
type PublishJob struct {
	Image        *rules.Image
	ID           string
	Region       string
	Tags         map[string]string // every tag the image carries (see ImageTags)
	Distribution Distribution      // what the platform applies of the image's
}

// Phases every platform reports, so views and event consumers can rely on
// them; platforms add their own in between.
const (
	PhasePrepare   = "prepare"
	PhaseProvision = "provision"
	PhaseCapture   = "capture"
	PhaseTest      = "test"
	PhaseCopy      = "copy"
	PhaseCleanup   = "cleanup"
)

// DescribeProvisioner names provisioner i of an image the way every
// platform's phases and errors do: provision [1] shell (//apps/api:install.sh).
func DescribeProvisioner(i int, p *rules.Provisioner) string {
	return describeStep(PhaseProvision, i, p)
}

// DescribeTest names test i of an image as DescribeProvisioner names a
// provisioner: test [0] shell (//apps/api:smoke.sh).
func DescribeTest(i int, p *rules.Provisioner) string {
	return describeStep(PhaseTest, i, p)
}

func describeStep(phase string, i int, p *rules.Provisioner) string {
	what := ""
	switch {
	case p.Script != nil:
		what = p.Script.Label.String()
	case p.Kind == rules.ProvisionShell:
		what = "inline"
	case p.Src != nil:
		what = p.Src.Label.String() + " -> " + p.Dest
	}
	return fmt.Sprintf("%s [%d] %s (%s)", phase, i, p.Kind, what)
}

// TestFailure is an image whose tests failed: the bake or re-test worked,
// the image did not pass. Test names the test that failed, as DescribeTest
// does.
type TestFailure struct {
	Test string
	Err  error
}

func (e *TestFailure) Error() string {
	// The error of a test that ran usually starts with its name already.
	if msg := e.Err.Error(); strings.HasPrefix(msg, e.Test) {
		return msg
	}
	return e.Test + ": " + e.Err.Error()
}

func (e *TestFailure) Unwrap() error { return e.Err }
