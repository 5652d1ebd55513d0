package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
)

// probeTimeout bounds New's check that a sandbox starts: a few
// milliseconds where namespaces work.
const probeTimeout = 30 * time.Second

// New returns a Baker keeping its images in store, once it has started a
// sandbox here: as root with the namespaces made directly, otherwise (or if
// that fails) through a user namespace. When neither works it returns a
// *BadInputError saying what is missing.
func New(store *cache.Local, opts Options) (*Baker, error) {
	if !sandboxReady.Load() {
		return nil, errors.New("local: MaybeRunSandbox must run first in main (and in TestMain of tests that bake): " +
			"the sandbox is this program re-executed")
	}
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
	root := os.Geteuid() == 0
	b := &Baker{store: store, warn: warn, owners: root}
	var failures []string
	if root {
		err := b.probe()
		if err == nil {
			return b, nil
		}
		failures = append(failures, "as root: "+err.Error())
	}
	b.userns = true
	err := b.probe()
	if err == nil {
		if root {
			warn("local: bakes run in a user namespace: %s", failures[0])
		}
		return b, nil
	}
	failures = append(failures, "through a user namespace: "+err.Error())
	hint := "run imgraph as root, or allow unprivileged user namespaces " +
		"(sysctl user.max_user_namespaces=15000; kernel.unprivileged_userns_clone=1 on older Debian; " +
		"kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu)"
	if root {
		hint = "imgraph needs CAP_SYS_ADMIN to create namespaces: in a container, run it privileged " +
			"(docker run --privileged) or allow user namespaces"
	}
	return nil, &BadInputError{
		Msg:  "cannot isolate bakes on this machine: " + strings.Join(failures, "; "),
		Hint: hint,
	}
}

// probe starts one sandbox around an empty tree, with every mount a bake
// makes.
func (b *Baker) probe() error {
	dir := b.store.Path("images", ".tmp-probe-"+randomHex())
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	defer removeTree(dir)
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	var out bytes.Buffer
	err := b.runSandbox(ctx, &sandboxStep{Root: dir, Mounts: true}, &out)
	if err != nil && out.Len() > 0 {
		err = fmt.Errorf("%w (%s)", err, strings.TrimSpace(out.String()))
	}
	return err
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
	if b.exists(job.Key) {
		return job.Key, nil
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
		if rerr := removeTree(r.tmp); rerr != nil && err == nil {
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
	if err := r.capture(ctx); err != nil {
		return "", err
	}
	return job.Key, nil
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
