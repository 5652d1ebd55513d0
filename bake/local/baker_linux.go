package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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
	st, err := b.state(job.Key)
	if err != nil {
		return "", err // it may be whole: leave it be
	}
	if st == whole {
		layers, err := b.layerDirs(job.Key)
		var broken *brokenChainError
		switch {
		case errors.As(err, &broken) && broken.layer != "" && broken.layer != job.Key:
			// Its own layer is whole but lies on one that is not: the
			// parent bakes first, with the same key, and puts it back.
			return "", fmt.Errorf("%w; bake its parent first", err)
		case errors.As(err, &broken):
			st = damaged // its own layer names no parent that can be
		case err != nil:
			return "", err
		default:
			// Another bake made it; its tests may not have been these.
			// It is not this bake's to remove, whatever they say.
			return job.Key, b.test(ctx, layers, job.Key, job.Image, job.TestEnv, job.Log, job.Phase)
		}
	}
	if st == damaged {
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
	if err := b.test(ctx, append([]string{r.layer}, r.lowers...), job.Key, job.Image, job.TestEnv, r.log, r.phase); err != nil {
		return "", err
	}
	if err := r.capture(ctx); err != nil {
		return "", err
	}
	return job.Key, nil
}

// Test runs job's tests on a fresh tree of its image.
func (b *Baker) Test(ctx context.Context, job *bake.TestJob) error {
	if err := checkID(job.ID); err != nil {
		return err
	}
	if job.Image == nil {
		return errors.New("local: test of a job with no image")
	}
	layers, err := b.layerDirs(job.ID)
	var broken *brokenChainError
	if errors.As(err, &broken) {
		return fmt.Errorf("local: image %s of %s is not baked on this machine: %w", bake.ShortKey(job.ID), job.Image.Label, err)
	}
	if err != nil {
		return err
	}
	return b.test(ctx, layers, job.Key, job.Image, job.Env, job.Log, job.Phase)
}

// test runs im's tests, each in its own sandbox, on a tree of the image
// whose layers are given made for them: what a test writes never reaches
// the image. The tree is removed on every path out. A test that fails is a
// *bake.TestFailure.
func (b *Baker) test(ctx context.Context, layers []string, key string, im *rules.Image, env []map[string]string, log io.Writer, phase func(string)) (err error) {
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
	t, _, _, err := b.newTree(ctx, layers, tmp)
	if err != nil {
		return fmt.Errorf("local: a tree for the image's tests: %w", err)
	}
	for i := range im.Tests {
		p := &im.Tests[i]
		desc := bake.DescribeTest(i, p)
		phase(fmt.Sprintf("%s [%d] %s", bake.PhaseTest, i, p.Kind))
		if err := b.runStep(ctx, t, desc, p, envAt(env, i), log); err != nil {
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
	b      *Baker
	job    *bake.Job
	tmp    string   // where the bake works, removed on every path out
	tree   tree     // where its steps run
	layer  string   // what receives their changes, renamed into place by capture
	lowers []string // the parent's layers the tree lies on, when it is an overlay
	log    io.Writer
	phase  func(string)
}

// tree is where a step runs: a directory, or an overlay mounted at one.
type tree struct {
	root    string
	overlay *sandbox.Overlay
}

// step is a sandbox step in the tree.
func (t tree) step() *sandbox.Step { return &sandbox.Step{Root: t.root, Overlay: t.overlay} }

// newTree makes, at dir (which must not exist), a tree for steps to run in
// that holds the image whose layers are given, its own first: an overlay
// of them with an upper directory of its own, or where overlays do not
// work (or the layers are too many to mount), a copy of them. It returns
// the tree, the directory that receives the steps' changes, and the
// layers the tree lies on (none when it is a copy). dir holds the layers
// for as long as it exists (see hold).
func (b *Baker) newTree(ctx context.Context, layers []string, dir string) (tree, string, []string, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return tree{}, "", nil, fmt.Errorf("local: %w", err)
	}
	if err := b.hold(dir, layers); err != nil {
		return tree{}, "", nil, err
	}
	ov := &sandbox.Overlay{Lower: layers, Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work")}
	why := b.sandbox.Overlays()
	if b.copyTrees {
		why = errors.New("asked to copy")
	}
	if why == nil && len(sandbox.OverlayOptions(ov)) >= os.Getpagesize() {
		why = fmt.Errorf("its %d layers are too many to mount at once", len(layers))
	}
	if why != nil {
		b.copyOnce.Do(func() {
			b.warn("local: each bake copies its parent's tree, as overlays cannot be used here: %v", why)
		})
		copied := filepath.Join(dir, "tree")
		if err := b.flatten(ctx, layers, copied); err != nil {
			return tree{}, "", nil, err
		}
		return tree{root: copied}, copied, nil, nil
	}
	root := filepath.Join(dir, "root")
	for _, d := range []string{ov.Upper, ov.Work, root} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return tree{}, "", nil, fmt.Errorf("local: %w", err)
		}
	}
	// The upper directory's top is the tree's: it gives the merged tree
	// its mode, owner and times.
	if err := b.sandbox.CopyMeta(layers[0], ov.Upper); err != nil {
		return tree{}, "", nil, fmt.Errorf("local: %w", err)
	}
	return tree{root: root, overlay: ov}, ov.Upper, layers, nil
}

// holdFile names, in a directory of work in progress under images/, the
// layers that work reads: a gc keeps them while it is there.
const holdFile = "layers"

// hold records in dir, an existing directory of work in progress under
// images/, that the work reads layers, then checks they are still whole:
// Retire moves a layer aside before it looks for holds, and a hold is
// written before its layers are looked at, so either the gc sees the
// hold and puts the layer back, or the work sees the layer gone.
func (b *Baker) hold(dir string, layers []string) error {
	var ids []string
	for _, l := range layers {
		if id := filepath.Base(l); filepath.Dir(l) == b.store.Path("images") && checkID(id) == nil {
			ids = append(ids, id)
		}
	}
	if err := cache.WriteFileAtomic(filepath.Join(dir, holdFile), []byte(strings.Join(ids, "\n")+"\n")); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	for _, id := range ids {
		st, err := b.state(id)
		if err != nil {
			return err
		}
		if st != whole {
			return &brokenChainError{id: ids[0], layer: id, why: "went away (a gc removed it?)"}
		}
	}
	return nil
}

// flatten makes dst (which must not exist) the whole tree of the image
// whose layers are given, its own first.
func (b *Baker) flatten(ctx context.Context, layers []string, dst string) error {
	last := len(layers) - 1
	if err := b.sandbox.CopyTree(ctx, layers[last], dst, b.warn); err != nil {
		return fmt.Errorf("local: copying layer %s: %w", filepath.Base(layers[last]), err)
	}
	for i := last - 1; i >= 0; i-- {
		if err := b.sandbox.ApplyLayer(ctx, layers[i], dst, b.warn); err != nil {
			sandbox.RemoveTree(dst)
			return fmt.Errorf("local: applying layer %s: %w", filepath.Base(layers[i]), err)
		}
	}
	return nil
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
	if err := os.Remove(b.parentPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local: removing the damaged image %s: %w", id, err)
	}
	// Its count goes after it, never before: a tree without a count that
	// holds anything counts as whole.
	if err := os.Remove(b.entriesPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local: removing the damaged image %s: %w", id, err)
	}
	return sandbox.RemoveTree(aside)
}
