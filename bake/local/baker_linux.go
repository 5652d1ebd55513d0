package local

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/internal/sandbox"
	"github.com/imgraph/imgraph/rules"
)

// stepPath is the PATH of every shell step.
const stepPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// New returns a Baker keeping its images in store, once it has started a
// sandbox here: as root with the namespaces made directly, otherwise (or if
// that fails) through a user namespace. When neither works it returns a
// *BadInputError saying what is missing.
func New(store *cache.Local, opts Options) (*Baker, error) {
	if store == nil {
		return nil, errors.New("local: no cache")
	}
	warn := opts.Warn
	if warn == nil {
		warn = func(string, ...any) {}
	}
	if err := os.MkdirAll(store.Path("images"), 0o755); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	// The probe's tree is in the cache, where the bakes' trees will be.
	sb, err := sandbox.New(context.Background(), store.Path("images"))
	var unavailable *sandbox.UnavailableError
	if errors.As(err, &unavailable) {
		hint := "run imgraph as root, or allow unprivileged user namespaces " +
			"(sysctl user.max_user_namespaces=15000; kernel.unprivileged_userns_clone=1 on older Debian; " +
			"kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu)"
		if unavailable.AsRoot != nil {
			hint = "imgraph needs CAP_SYS_ADMIN to create namespaces: in a container, run it privileged " +
				"(docker run --privileged) or allow user namespaces"
		}
		return nil, &BadInputError{
			Msg:  "cannot isolate bakes on this machine: " + unavailable.Reasons(),
			Hint: hint,
		}
	}
	if err != nil {
		return nil, err
	}
	if why := sb.RootError(); why != nil {
		warn("local: bakes run in a user namespace: as root: %s", why)
	}
	return &Baker{store: store, warn: warn, sandbox: sb}, nil
}

// run runs step in a new sandbox, with the sandbox's and its command's
// output (stdout and stderr interleaved) going to out, and waits for it.
// When ctx is done every process of the sandbox is killed, and run returns
// ctx.Err() once they are gone.
func (b *Baker) run(ctx context.Context, step *sandbox.Step, out io.Writer) error {
	stdout, stderr, done := bake.Streams(out)
	defer done()
	return b.sandbox.Run(ctx, step, nil, stdout, stderr)
}

// Bake bakes job's image into images/<key> and returns the key, its id.
// An image already there is the same image (the key says so) and is
// returned as it is.
func (b *Baker) Bake(ctx context.Context, job *bake.Job) (id string, err error) {
	if err := checkID(job.Key); err != nil {
		return "", err
	}
	if job.Image == nil {
		return "", errors.New("local: bake of a job with no image")
	}
	switch st, err := b.state(job.Key); {
	case err != nil:
		return "", err // it may be whole: leave it be
	case st == whole:
		// Another bake made it; its tests may not have been these. It
		// is not this bake's to remove, whatever they say.
		return job.Key, b.test(ctx, b.ImageDir(job.Key), job.Key, job.Image, job.TestEnv, job.Log, job.Phase)
	case st == damaged:
		if err := b.removeDamaged(job.Key); err != nil {
			return "", err
		}
	}
	r := &bakeRun{b: b, job: job, log: job.Log, phase: job.Phase}
	if r.log == nil {
		r.log = io.Discard
	}
	if r.phase == nil {
		r.phase = func(string) {}
	}
	r.tmp = b.store.Path("images", ".tmp-"+job.Key+"-"+randomHex())
	// Every path out removes the temporary tree; this does not depend on
	// ctx, which may be why we are leaving.
	defer func() {
		r.phase(bake.PhaseCleanup)
		if rerr := sandbox.RemoveTree(r.tmp); rerr != nil && err == nil {
			err = fmt.Errorf("local: removing %s: %w", r.tmp, rerr)
		}
	}()
	if err := r.prepare(ctx); err != nil {
		return "", err
	}
	for i := range job.Image.Provision {
		if err := r.provision(ctx, i); err != nil {
			return "", err
		}
	}
	if err := r.scrub(ctx); err != nil {
		return "", err
	}
	// Before capture: an image that fails its tests never appears, and
	// its tree goes with the bake's.
	if err := b.test(ctx, r.tmp, job.Key, job.Image, job.TestEnv, r.log, r.phase); err != nil {
		return "", err
	}
	if err := r.capture(ctx); err != nil {
		return "", err
	}
	return job.Key, nil
}

// Test runs job's tests on a fresh copy of its image's tree.
func (b *Baker) Test(ctx context.Context, job *bake.TestJob) error {
	if err := checkID(job.ID); err != nil {
		return err
	}
	if job.Image == nil {
		return errors.New("local: test of a job with no image")
	}
	if ok, err := b.exists(job.ID); err != nil || !ok {
		return cmp.Or(err, fmt.Errorf("local: image %s of %s is not baked on this machine", bake.ShortKey(job.ID), job.Image.Label))
	}
	return b.test(ctx, b.ImageDir(job.ID), job.Key, job.Image, job.Env, job.Log, job.Phase)
}

// test runs im's tests, each in its own sandbox, on a copy of tree made
// for them: what a test writes never reaches the image. The copy is
// removed on every path out. A test that fails is a *bake.TestFailure.
func (b *Baker) test(ctx context.Context, tree, key string, im *rules.Image, env []map[string]string, log io.Writer, phase func(string)) (err error) {
	if len(im.Tests) == 0 {
		return nil
	}
	if log == nil {
		log = io.Discard
	}
	if phase == nil {
		phase = func(string) {}
	}
	phase(bake.PhaseTest)
	tmp := b.store.Path("images", ".tmp-test-"+key+"-"+randomHex())
	defer func() {
		if rerr := sandbox.RemoveTree(tmp); rerr != nil && err == nil {
			err = fmt.Errorf("local: removing %s: %w", tmp, rerr)
		}
	}()
	if err := b.sandbox.CopyTree(ctx, tree, tmp, b.warn); err != nil {
		return fmt.Errorf("local: copying the image for its tests: %w", err)
	}
	for i := range im.Tests {
		p := &im.Tests[i]
		desc := bake.DescribeTest(i, p)
		phase(fmt.Sprintf("%s [%d] %s", bake.PhaseTest, i, p.Kind))
		if err := b.runStep(ctx, tmp, desc, p, envAt(env, i), log); err != nil {
			// A test that ran and exited badly failed; one that could
			// not run is an error of the test's.
			var exit *sandbox.ExitError
			if ctx.Err() == nil && errors.As(err, &exit) {
				return &bake.TestFailure{Test: desc, Err: err}
			}
			return err
		}
	}
	return nil
}

// bakeRun is one bake in progress; its steps are in step_*.go.
type bakeRun struct {
	b     *Baker
	job   *bake.Job
	tmp   string // the tree being baked, renamed into place by capture
	log   io.Writer
	phase func(string)
}

func randomHex() string {
	var buf [8]byte
	rand.Read(buf[:]) // never fails: it crashes the program instead
	return hex.EncodeToString(buf[:])
}

// removeDamaged moves aside and removes what stands at an image's place
// without being an image (an emptied tree, a file), and its count of
// entries, so a bake can put the image there.
func (b *Baker) removeDamaged(id string) error {
	b.warn("local: image %s is damaged (empty, cut down, or not a directory); baking it again", bake.ShortKey(id))
	aside := b.store.Path("images", ".tmp-damaged-"+id+"-"+randomHex())
	if err := os.Rename(b.ImageDir(id), aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// (Not there: another bake moved it first.)
		return fmt.Errorf("local: moving the damaged image %s aside: %w", id, err)
	}
	// Its count goes after it, never before: a tree without a count that
	// holds anything counts as whole.
	if err := os.Remove(b.entriesPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local: removing the damaged image %s: %w", id, err)
	}
	return sandbox.RemoveTree(aside)
}
